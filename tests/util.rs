//! The one helper of the end-to-end tests: running the binary that the
//! same `cargo test` built, with the same backends, as a user would, and
//! reading what it leaves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `trainer` binary of this build.
pub fn trainer_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_trainer"))
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "trainer failed:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts a clean failure: non-zero exit, one `error: ...` line on stderr
    /// that contains `needle`, no panic. Returns the line.
    pub fn fails_with(&self, needle: &str) -> &str {
        assert!(
            matches!(self.code, Some(code) if code != 0),
            "expected a failure, got {:?}:\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("RUST_BACKTRACE"),
            "backtrace hint:\n{}",
            self.stderr
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr:\n{}",
            self.stderr
        );
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(lines[0].contains(needle), "{:?} lacks {needle:?}", lines[0]);
        lines[0]
    }
}

/// Runs `trainer args...` in `dir` with no data-directory variable set.
pub fn trainer(dir: &Path, args: &[&str]) -> Run {
    trainer_with_env(dir, args, &[])
}

/// Runs `trainer args...` in `dir` with no data-directory or backend variable
/// set and the environment variables `env` added.
pub fn trainer_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(trainer_binary())
        .current_dir(dir)
        .args(args)
        .env_remove("BURNIST_DATA")
        .env_remove("BURNIST_BACKEND")
        .envs(env.iter().copied())
        .output()
        .expect("the trainer binary runs")
        .into()
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The epoch numbers recorded in a run's `history.json`.
pub fn history_epochs(run: &Path) -> Vec<u64> {
    read_json(&run.join("history.json"))["epochs"]
        .as_array()
        .expect("history.json has an epochs array")
        .iter()
        .map(|e| e["epoch"].as_u64().expect("epochs are numbered"))
        .collect()
}

/// The start of a PNG: its signature and an IHDR chunk of `width` x `height`
/// (8-bit grey), with no image data: enough for a decoder to read the size.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.sum().to_be_bytes());
    png
}

/// `train --config configs/smoke.toml` and `extra`.
pub fn smoke_args(extra: &[&str]) -> Vec<String> {
    config_args("smoke", extra)
}

/// The configs the determinism tests train: the smoke network, and one
/// holding every layer type (dropout and batch norm among them).
pub const REPRODUCIBLE_CONFIGS: [&str; 2] = ["smoke", "every-layer"];

/// `train --config configs/NAME.toml` and `extra`; the config's `name` is
/// its file's, so the runs land in `artifacts/NAME`.
pub fn config_args(name: &str, extra: &[&str]) -> Vec<String> {
    let config = repo_root().join(format!("configs/{name}.toml"));
    ["train", "--config", config.to_str().unwrap()]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// `args` as the `&str`s [`trainer`] takes.
pub fn run_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The backends the binary holds, as `trainer info` lists them.
pub fn compiled_backends() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = trainer(dir.path(), &["info"]);
    let line = out
        .ok()
        .lines()
        .find_map(|line| line.strip_prefix("backends compiled in, auto's preference first: "))
        .expect("info lists the backends")
        .to_owned();
    line.split(", ").map(str::to_owned).collect()
}

/// The compiled CPU backends whose runs are byte-for-byte reproducible.
pub fn reproducible_backends() -> Vec<String> {
    compiled_backends()
        .into_iter()
        .filter(|backend| backend == "flex" || backend == "ndarray")
        .collect()
}

/// A run's `history.json` without what differs between identical runs: its
/// timings and when it started or resumed.
pub fn history_without_timing(run: &Path) -> serde_json::Value {
    let mut history = read_json(&run.join("history.json"));
    history["run"]["started"] = serde_json::Value::Null;
    history["run"]["resumes"] = serde_json::Value::Null;
    for epoch in history["epochs"].as_array_mut().expect("epochs") {
        epoch["seconds"] = serde_json::Value::Null;
    }
    history
}

/// A file's length and a hash of its bytes: equal bytes give equal
/// digests, and unequal ones stay readable in an assertion message.
pub fn file_digest(path: &Path) -> (usize, u64) {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    (bytes.len(), hasher.finish())
}

/// Every file of a run's `checkpoint/` directory with its [`file_digest`].
pub fn checkpoint_files(run: &Path) -> Vec<(String, (usize, u64))> {
    let mut files: Vec<_> = std::fs::read_dir(run.join("checkpoint"))
        .expect("a checkpoint directory")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, file_digest(&path))
        })
        .collect();
    files.sort();
    files
}
