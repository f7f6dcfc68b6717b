//! Run directories: `<artifacts>/<experiment>/run-NNN/`, one per training,
//! never overwritten; every file in them is written whole or not at all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The resolved experiment, as JSON.
pub const CONFIG_FILE: &str = "config.json";
/// The final weights of the network (a Burn burnpack record).
pub const WEIGHTS_FILE: &str = "model.bpk";
/// The per-epoch history.
pub const HISTORY_FILE: &str = "history.json";
/// The training loss of every step.
pub const STEPS_FILE: &str = "steps.csv";

const RUN_PREFIX: &str = "run-";

/// One training run's directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the next free `run-NNN` under `<artifacts>/<experiment>/`.
    pub fn create(artifacts: &Path, experiment: &str) -> Result<Self> {
        let parent = artifacts.join(experiment);
        std::fs::create_dir_all(&parent).with_context(|| {
            format!(
                "{}: cannot create the artifacts directory",
                parent.display()
            )
        })?;
        let mut number = run_numbers(&parent)?.last().map_or(1, |(n, _)| n + 1);
        loop {
            let path = parent.join(format!("{RUN_PREFIX}{number:03}"));
            // create_dir fails if another process took this number meanwhile.
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("{}: cannot create the run directory", path.display())
                    });
                }
            }
        }
    }

    /// A finished run: `path` itself, or the latest finished run of the
    /// experiment directory `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_dir() {
            bail!("{}: no such run directory", path.display());
        }
        let run = Self {
            path: path.to_owned(),
        };
        if run.finished() {
            return Ok(run);
        }
        if path.join(CONFIG_FILE).exists() {
            bail!(
                "{}: this run has no {WEIGHTS_FILE}; it did not finish",
                path.display()
            );
        }
        run_numbers(path)?
            .into_iter()
            .rev()
            .map(|(_, path)| Self { path })
            .find(Self::finished)
            .with_context(|| format!("{}: holds no finished run", path.display()))
    }

    /// Whether the run finished (its final weights exist).
    pub fn finished(&self) -> bool {
        self.weights().is_file() && self.config().is_file()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.path.join(CONFIG_FILE)
    }

    /// `model.bpk`.
    pub fn weights(&self) -> PathBuf {
        self.path.join(WEIGHTS_FILE)
    }

    /// `history.json`.
    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY_FILE)
    }

    /// `steps.csv`.
    pub fn steps(&self) -> PathBuf {
        self.path.join(STEPS_FILE)
    }

    /// A file of the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The latest run of `<artifacts>/<experiment>/` that did not finish, if any.
    pub fn latest_unfinished(artifacts: &Path, experiment: &str) -> Result<Option<Self>> {
        let parent = artifacts.join(experiment);
        if !parent.is_dir() {
            return Ok(None);
        }
        Ok(run_numbers(&parent)?
            .into_iter()
            .rev()
            .map(|(_, path)| Self { path })
            .find(|run| run.config().is_file() && !run.weights().is_file()))
    }

    /// Every run under `artifacts`, by experiment then number.
    pub fn all(artifacts: &Path) -> Result<Vec<Self>> {
        let mut runs = Vec::new();
        if !artifacts.is_dir() {
            return Ok(runs);
        }
        let entries = std::fs::read_dir(artifacts)
            .with_context(|| format!("{}: cannot list experiments", artifacts.display()))?;
        let mut experiments: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_dir())
            .collect();
        experiments.sort();
        for experiment in experiments {
            runs.extend(
                run_numbers(&experiment)?
                    .into_iter()
                    .map(|(_, path)| Self { path }),
            );
        }
        Ok(runs)
    }
}

/// Holds a run directory for one training at a time; released when dropped
/// (or when the process dies: it is an OS file lock, not a marker file).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunDir {
    /// Takes the run's lock, or fails if another training holds it.
    pub fn lock(&self) -> Result<RunLock> {
        let path = self.path.join(".lock");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("{}: cannot create the lock file", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "{}: another training is using this run directory",
                self.path.display()
            ),
            Err(std::fs::TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("{}: cannot lock", path.display()))
            }
        }
    }
}

/// The `run-NNN` directories under `parent`, in increasing order.
fn run_numbers(parent: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let entries = std::fs::read_dir(parent)
        .with_context(|| format!("{}: cannot list runs", parent.display()))?;
    let mut runs: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            let number = name.to_str()?.strip_prefix(RUN_PREFIX)?.parse().ok()?;
            Some((number, entry.path()))
        })
        .collect();
    runs.sort();
    Ok(runs)
}

/// Writes `contents` to a temporary file beside `path`, then renames it into
/// place: a reader sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    std::io::Write::write_all(&mut file, contents)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    file.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// [`write_atomic`] of a value as pretty JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    write_atomic(path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_numbered_and_the_latest_finished_one_is_opened() {
        let root = tempfile::tempdir().unwrap();
        let first = RunDir::create(root.path(), "exp").unwrap();
        let second = RunDir::create(root.path(), "exp").unwrap();
        assert!(first.path().ends_with("exp/run-001"));
        assert!(second.path().ends_with("exp/run-002"));

        let experiment = root.path().join("exp");
        assert!(
            RunDir::open(&experiment).is_err(),
            "no run has finished yet"
        );
        for run in [&first, &second] {
            write_atomic(&run.config(), b"{}").unwrap();
        }
        write_atomic(&first.weights(), b"w").unwrap();
        assert_eq!(RunDir::open(&experiment).unwrap().path(), first.path());
        write_atomic(&second.weights(), b"w").unwrap();
        assert_eq!(RunDir::open(&experiment).unwrap().path(), second.path());
        assert_eq!(RunDir::open(first.path()).unwrap().path(), first.path());
    }

    #[test]
    fn a_locked_run_refuses_a_second_training() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "exp").unwrap();
        let lock = run.lock().unwrap();
        let err = run.lock().unwrap_err().to_string();
        assert!(
            err.contains("another training is using this run directory"),
            "{err}"
        );
        drop(lock);
        run.lock().unwrap();
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
