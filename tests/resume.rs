//! A killed training resumes from its last checkpoint into the very run the
//! uninterrupted training gives, on the backend it started on, with its own
//! settings.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    REPRODUCIBLE_CONFIGS, checkpoint_files, config_args, file_digest, history_epochs,
    history_without_timing, read_json, reproducible_backends, run_strs, smoke_args, trainer,
    trainer_binary,
};

/// The three records of epoch `epoch`'s checkpoint.
fn checkpoint_of(epoch: usize) -> [String; 3] {
    ["model", "optim", "scheduler"].map(|record| format!("{record}-{epoch}.bpk"))
}

/// Starts `args` in `dir` and kills it (SIGKILL) once epoch `epoch`'s
/// checkpoint is complete and its history and steps record it; `false` if the run got further first (finished,
/// or began saving the next epoch), which a fast machine and a small run
/// can do.
fn kill_after_checkpoint(dir: &Path, config: &str, args: &[String], epoch: usize) -> bool {
    let checkpoints = dir
        .join("artifacts")
        .join(config)
        .join("run-001/checkpoint");
    let mut child = Command::new(trainer_binary())
        .current_dir(dir)
        .args(args)
        .env_remove("BURNIST_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Polled, with a deadline only against a hang: no assumption on speed.
    let deadline = Instant::now() + Duration::from_secs(600);
    // Epochs that history.json and steps.csv both hold (the logger writes
    // one, then the other).
    let recorded = || {
        let history: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(checkpoints.join("../history.json")).ok()?,
        )
        .ok()?;
        let per_epoch = history["run"]["steps_per_epoch"].as_u64()? as usize;
        let steps = std::fs::read_to_string(checkpoints.join("../steps.csv")).ok()?;
        let epochs = history["epochs"].as_array()?.len();
        Some(epochs.min(steps.lines().count().saturating_sub(1) / per_epoch.max(1)))
    };
    while !(checkpoint_of(epoch)
        .iter()
        .all(|file| checkpoints.join(file).is_file())
        && recorded().unwrap_or(0) >= epoch)
    {
        assert!(Instant::now() < deadline, "no checkpoint of epoch {epoch}");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let next = checkpoint_of(epoch + 1);
    !checkpoints.join("../model.bpk").exists()
        && !next.iter().any(|file| checkpoints.join(file).exists())
}

/// A 3-epoch run of `config` on `backend` killed after epoch `epoch` in
/// `dir`, with training sets doubled until an epoch lasts long enough to be
/// interrupted (keyed to the run's progress, not to the machine's speed);
/// its arguments.
fn interrupted_run(dir: &Path, config: &str, backend: &str, epoch: usize) -> Vec<String> {
    let mut train_size = 3000;
    loop {
        let size = train_size.to_string();
        let args = config_args(
            config,
            &[
                "--epochs",
                "3",
                "--train-size",
                &size,
                "--test-size",
                "500",
                "--backend",
                backend,
            ],
        );
        if kill_after_checkpoint(dir, config, &args, epoch) {
            return args;
        }
        assert!(train_size < 60_000, "every run got past its kill");
        std::fs::remove_dir_all(dir.join("artifacts")).unwrap();
        train_size = (train_size * 2).min(60_000);
    }
}

/// Killing a run after epoch 1 and resuming it gives the run never killed,
/// byte for byte: the resumed epochs see the batches in the same order and
/// draw the same dropout masks (the every-layer config has dropout and
/// batch norm).
#[test]
fn a_run_killed_after_epoch_one_resumes_into_the_same_run() {
    for backend in reproducible_backends() {
        for config in REPRODUCIBLE_CONFIGS {
            let killed = tempfile::tempdir().unwrap();
            let args = interrupted_run(killed.path(), config, &backend, 1);
            let resume = config_args(config, &["--resume"]);
            let out = trainer(killed.path(), &run_strs(&resume));
            assert!(out.ok().contains("resuming"), "{}", out.stdout);
            let whole = tempfile::tempdir().unwrap();
            trainer(whole.path(), &run_strs(&args)).ok();
            let run = Path::new("artifacts").join(config).join("run-001");
            let (a, b) = (whole.path().join(&run), killed.path().join(&run));
            assert_eq!(history_epochs(&b), vec![1, 2, 3]);
            assert_eq!(
                file_digest(&a.join("model.bpk")),
                file_digest(&b.join("model.bpk")),
                "{backend} {config}: the resumed run's weights are the uninterrupted run's"
            );
            assert_eq!(
                checkpoint_files(&a),
                checkpoint_files(&b),
                "{backend} {config}"
            );
            assert_eq!(history_without_timing(&a), history_without_timing(&b));
        }
    }
}

/// Bug: `--resume` trained on whatever `--backend` said (`auto` when
/// absent) and dropped other flags silently. A resumed run keeps its backend,
/// records where it continued, and refuses settings that would change it.
#[test]
fn a_resumed_run_keeps_its_backend_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    interrupted_run(dir.path(), "smoke", "flex", 1);
    trainer(
        dir.path(),
        &run_strs(&smoke_args(&["--resume", "--learning-rate", "0.5"])),
    )
    .fails_with("--learning-rate cannot be used with --resume");
    let out = trainer(dir.path(), &run_strs(&smoke_args(&["--resume"])));
    assert!(
        out.ok().contains("burnist: experiment `smoke` on flex ("),
        "{}",
        out.stdout
    );
    let history = read_json(&dir.path().join("artifacts/smoke/run-001/history.json"));
    assert_eq!(history["run"]["backend"], "flex");
    assert_eq!(history["run"]["resumes"][0]["after_epoch"], 1);
    assert_eq!(history["run"]["resumes"][0]["backend"], "flex");
    trainer(dir.path(), &run_strs(&smoke_args(&["--resume"])))
        .fails_with("no unfinished run of `smoke`");
}

/// Copies the directory `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What a test does to a copy of a run directory.
type Damage<'a> = Box<dyn Fn(&Path) + 'a>;

/// Bugs: a `history.json` behind the last checkpoint (the two are written by
/// different threads, so a kill between them leaves exactly that), or one
/// missing or garbage, made `--resume` train the remaining epochs and stop
/// without `model.bpk`, every time; a truncated or random checkpoint made it
/// panic. Now it continues after the newest epoch that the checkpoint, the
/// history and the steps all hold whole, and says why: the run finishes
/// into the very run never killed.
#[test]
fn a_run_with_damaged_records_resumes_from_what_is_whole() {
    let killed = tempfile::tempdir().unwrap();
    let args = interrupted_run(killed.path(), "smoke", "flex", 2);
    let whole = tempfile::tempdir().unwrap();
    trainer(whole.path(), &run_strs(&args)).ok();
    let run = Path::new("artifacts/smoke/run-001");
    let expected = file_digest(&whole.path().join(run).join("model.bpk"));
    let history = |dir: &Path| dir.join(run).join("history.json");
    let truncate = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
    };
    let cases: [(&str, &str, Damage); 6] = [
        (
            "history one epoch behind",
            "after epoch 1",
            Box::new(|dir: &Path| {
                let mut value = read_json(&history(dir));
                value["epochs"].as_array_mut().unwrap().truncate(1);
                std::fs::write(history(dir), value.to_string()).unwrap();
            }),
        ),
        (
            "steps.csv one epoch behind",
            "after epoch 1",
            Box::new(|dir: &Path| {
                let steps = dir.join(run).join("steps.csv");
                let text = std::fs::read_to_string(&steps).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let per_epoch = read_json(&history(dir))["run"]["steps_per_epoch"]
                    .as_u64()
                    .unwrap() as usize;
                let kept = lines[..lines.len() - per_epoch].join("\n") + "\n";
                std::fs::write(&steps, kept).unwrap();
            }),
        ),
        (
            "truncated model checkpoint",
            "model-2.bpk: not a readable Burn record",
            Box::new(move |dir: &Path| truncate(&dir.join(run).join("checkpoint/model-2.bpk"))),
        ),
        (
            "random optimiser checkpoint",
            "optim-2.bpk: not a readable Burn record",
            Box::new(|dir: &Path| {
                std::fs::write(dir.join(run).join("checkpoint/optim-2.bpk"), [0x5a; 4096]).unwrap()
            }),
        ),
        (
            "garbage history",
            "history.json",
            Box::new(|dir: &Path| std::fs::write(history(dir), b"{\"epochs\": [").unwrap()),
        ),
        (
            "missing history",
            "after epoch 0",
            Box::new(|dir: &Path| std::fs::remove_file(history(dir)).unwrap()),
        ),
    ];
    for (case, said, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &killed.path().join("artifacts"),
            &dir.path().join("artifacts"),
        );
        damage(dir.path());
        let out = trainer(dir.path(), &run_strs(&config_args("smoke", &["--resume"])));
        assert_eq!(out.code, Some(0), "{case}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(said), "{case}: {}", out.stdout);
        let resumed = dir.path().join(run);
        assert_eq!(history_epochs(&resumed), vec![1, 2, 3], "{case}");
        assert_eq!(
            file_digest(&resumed.join("model.bpk")),
            expected,
            "{case}: the resumed run's weights are the uninterrupted run's"
        );
    }
}
