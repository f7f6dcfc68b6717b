//! No run is lost: kills at any moment, resumes, divergence, determinism.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{
    REPRODUCIBLE_CONFIGS, checkpoint_files, config_args, file_digest, history_epochs,
    history_without_timing, read_json, reproducible_backends, run_strs, smoke_args, trainer,
    trainer_binary,
};

/// Every artifact present in a run directory is whole: JSON parses, CSV rows
/// have their columns, PNGs decode.
fn assert_artifacts_whole(run: &Path) {
    for name in ["config.json", "history.json"] {
        let path = run.join(name);
        if path.exists() {
            read_json(&path);
        }
    }
    if let Ok(steps) = std::fs::read_to_string(run.join("steps.csv")) {
        assert!(steps.starts_with("step,loss\n"), "{steps}");
        assert!(
            steps.lines().skip(1).all(|l| l.split(',').count() == 2),
            "{steps}"
        );
    }
    for name in ["curves.png", "confusion.png", "mistakes.png"] {
        let path = run.join(name);
        if path.exists() {
            image_is_whole(&path);
        }
    }
}

fn image_is_whole(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}",
        path.display()
    );
    assert!(
        bytes.ends_with(&[0xae, 0x42, 0x60, 0x82]),
        "{} ends with IEND",
        path.display()
    );
}

/// Where a training is killed: right after it prints a line that starts with
/// this, so the kill lands at a point of its progress whatever the machine's speed.
const KILL_POINTS: [&str; 4] = [
    // Start-up: data loaded, run directory made, no epoch finished.
    "data: ",
    // Just after an epoch's line: its checkpoint files are being written.
    "Epoch 1/3",
    // The first epoch this attempt finishes, wherever it resumed from.
    "Epoch ",
    // After the last epoch: the pictures and the final weights are being written.
    "Epoch 3/3",
];

/// Runs `trainer args...` in `dir`, reads its stdout line by line and kills it
/// with SIGKILL right after a line starting with `point`; returns whether that
/// line came (the process may have ended first).
fn kill_after_line(dir: &Path, args: &[String], point: &str) -> bool {
    let mut child = Command::new(trainer_binary())
        .current_dir(dir)
        .args(args)
        .env_remove("BURNIST_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let reached = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with(point));
    let _ = child.kill();
    child.wait().unwrap();
    reached
}

#[test]
fn sigkill_at_any_moment_loses_nothing_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let args = smoke_args(&[
        "--epochs",
        "3",
        "--train-size",
        "3000",
        "--test-size",
        "500",
        "--backend",
        "flex",
    ]);
    let run = dir.path().join("artifacts/smoke/run-001");
    // A resumed run keeps its settings: only the experiment is named.
    let resume = smoke_args(&["--resume"]);
    for (attempt, point) in KILL_POINTS.into_iter().enumerate() {
        let command_args = if attempt == 0 { &args } else { &resume };
        let reached = kill_after_line(dir.path(), command_args, point);
        // Start-up always comes before the end: the first kill always interrupts.
        assert!(reached || attempt > 0, "no `{point}` line before the end");
        // Whatever the kill interrupted, every file present is whole...
        assert_artifacts_whole(&run);
        if run.join("model.bpk").exists() {
            break;
        }
        // ...and the run is still there to resume.
        assert!(run.join("config.json").is_file(), "attempt {attempt}");
    }
    if !run.join("model.bpk").exists() {
        trainer(dir.path(), &run_strs(&resume)).ok();
    }
    assert_artifacts_whole(&run);
    assert_eq!(history_epochs(&run), vec![1, 2, 3]);
    let out = trainer(
        dir.path(),
        &["predict", "--run", run.to_str().unwrap(), "--first", "1"],
    );
    assert!(out.ok().contains("accuracy:"));
}

/// Two trainings from one seed write the same history and byte-identical
/// weights and checkpoints (Burn numbers parameters at random and draws
/// dropout masks from an unseeded generator; ours are numbered from
/// initialisation and drawn from the seed, epoch and step), for the smoke
/// network and for one of every layer type; another seed is another run.
#[test]
fn the_same_seed_gives_the_same_run_on_the_cpu_backends() {
    for backend in reproducible_backends() {
        for config in REPRODUCIBLE_CONFIGS {
            let dir = tempfile::tempdir().unwrap();
            let args = config_args(
                config,
                &[
                    "--epochs",
                    "2",
                    "--train-size",
                    "1000",
                    "--test-size",
                    "200",
                    "--backend",
                    &backend,
                ],
            );
            trainer(dir.path(), &run_strs(&args)).ok();
            trainer(dir.path(), &run_strs(&args)).ok();
            let runs = dir.path().join("artifacts").join(config);
            let (first, second) = (runs.join("run-001"), runs.join("run-002"));
            assert_eq!(
                history_without_timing(&first),
                history_without_timing(&second),
                "{backend} {config}"
            );
            assert_eq!(
                file_digest(&first.join("model.bpk")),
                file_digest(&second.join("model.bpk")),
                "{backend} {config}: byte-identical weights"
            );
            assert_eq!(
                checkpoint_files(&first),
                checkpoint_files(&second),
                "{backend} {config}: byte-identical checkpoints"
            );
            let mut other = args.clone();
            other.extend(["--seed".to_string(), "7".to_string()]);
            trainer(dir.path(), &run_strs(&other)).ok();
            let third = runs.join("run-003");
            assert_ne!(
                history_without_timing(&first),
                history_without_timing(&third)
            );
            assert_ne!(
                file_digest(&first.join("model.bpk")),
                file_digest(&third.join("model.bpk")),
                "{backend} {config}: another seed, other weights"
            );
        }
    }
}

#[test]
fn a_diverging_training_stops_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let args = smoke_args(&["--learning-rate", "1e30", "--scaling", "raw"]);
    let out = trainer(dir.path(), &run_strs(&args));
    let line = out.fails_with("training diverged at epoch 1, step ");
    assert!(line.contains("lower optimizer.learning_rate"), "{line}");
    assert!(
        !dir.path()
            .join("artifacts/smoke/run-001/model.bpk")
            .exists()
    );
}

#[test]
fn weights_of_another_architecture_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = smoke_args(&["--train-size", "320", "--test-size", "100"]);
    trainer(dir.path(), &run_strs(&args)).ok();
    let run = dir.path().join("artifacts/smoke/run-001");
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    std::fs::write(
        run.join("config.json"),
        config.replace("\"filters\": 8", "\"filters\": 16"),
    )
    .unwrap();
    trainer(dir.path(), &["predict", "--run", run.to_str().unwrap()])
        .fails_with("model.bpk: cannot load these weights into the network of");

    std::fs::write(run.join("config.json"), &config).unwrap();
    let weights = std::fs::read(run.join("model.bpk")).unwrap();
    std::fs::write(run.join("model.bpk"), &weights[..weights.len() / 2]).unwrap();
    trainer(dir.path(), &["predict", "--run", run.to_str().unwrap()])
        .fails_with("model.bpk: not a readable Burn record: Validation error: File truncated");
}

#[test]
fn an_unwritable_artifacts_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocked"), "a file, not a directory").unwrap();
    trainer(
        dir.path(),
        &[
            "train",
            "--artifacts",
            "blocked",
            "--train-size",
            "64",
            "--test-size",
            "10",
        ],
    )
    .fails_with("cannot create the artifacts directory");
}
