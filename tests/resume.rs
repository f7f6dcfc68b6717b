//! A killed training resumes from its last checkpoint into the very run the
//! uninterrupted training gives, on the backend it started on, with its own
//! settings.

mod e2e;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{
    REPRODUCIBLE_CONFIGS, checkpoint_files, config_args, file_digest, history_epochs,
    history_without_timing, read_json, reproducible_backends, run_strs, smoke_args, trainer,
    trainer_binary,
};

/// The three records of epoch 1's checkpoint.
const EPOCH_ONE: [&str; 3] = ["model-1.bpk", "optim-1.bpk", "scheduler-1.bpk"];

/// Starts `args` in `dir` and kills it (SIGKILL) once epoch 1's checkpoint is
/// complete; `false` if the run finished first, which a fast machine and a
/// small run can do.
fn kill_after_first_checkpoint(dir: &Path, config: &str, args: &[String]) -> bool {
    let run = dir.join("artifacts").join(config).join("run-001");
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
    while !EPOCH_ONE
        .iter()
        .all(|file| run.join("checkpoint").join(file).is_file())
    {
        assert!(Instant::now() < deadline, "no checkpoint of epoch 1");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    child.wait().unwrap();
    !run.join("model.bpk").exists()
}

/// A 3-epoch run of `config` on `backend` killed after epoch 1 in `dir`,
/// with training sets doubled until epoch 1 lasts long enough to be
/// interrupted (keyed to the run's progress, not to the machine's speed);
/// its arguments.
fn interrupted_run(dir: &Path, config: &str, backend: &str) -> Vec<String> {
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
        if kill_after_first_checkpoint(dir, config, &args) {
            return args;
        }
        assert!(train_size < 60_000, "every run finished before its kill");
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
            let args = interrupted_run(killed.path(), config, &backend);
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
    interrupted_run(dir.path(), "smoke", "flex");
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
