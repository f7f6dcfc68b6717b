//! Experiments beyond the notebook, end to end on the smoke config: early
//! stopping, `trainer sweep` and `trainer compare`.

use std::path::Path;

use crate::util::{Run, read_json, repo_root, run_strs, smoke_args, trainer};

/// The sweep's options: two values of two keys, and a constant third.
fn sweep_args(extra: &[&str]) -> Vec<String> {
    let config = repo_root().join("configs/smoke.toml");
    let mut args: Vec<String> = [
        "sweep",
        "--config",
        config.to_str().unwrap(),
        "--set",
        "optimizer.learning_rate=0.001,0.0005",
        "--set",
        "training.batch_size=32,64",
        "--set",
        "data.train_size=600",
        "--artifacts",
        "artifacts",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `trainer train` of the smoke config into `artifacts/` with `--set` each of `sets`.
fn train_smoke(dir: &Path, sets: &[&str]) -> Run {
    let mut args = smoke_args(&["--artifacts", "artifacts"]);
    for set in sets {
        args.extend(["--set".to_owned(), (*set).to_owned()]);
    }
    trainer(dir, &run_strs(&args))
}

#[test]
fn a_sweep_over_two_keys_trains_four_runs_and_compares_them() {
    let dir = tempfile::tempdir().unwrap();
    let args = sweep_args(&["--dry-run"]);
    let dry = trainer(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let commands: Vec<&str> = dry.ok().lines().collect();
    assert_eq!(commands.len(), 4, "{commands:?}");
    assert!(
        commands[1].starts_with("trainer train --config "),
        "{}",
        commands[1]
    );
    assert!(
        commands[1].ends_with(
            "--artifacts artifacts --set optimizer.learning_rate=0.001 --set training.batch_size=64 --set data.train_size=600"
        ),
        "{}",
        commands[1]
    );
    assert!(
        !dir.path().join("artifacts").exists(),
        "a dry run trains nothing"
    );

    let args = sweep_args(&[]);
    trainer(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .ok();
    let experiment = dir.path().join("artifacts/smoke");
    let expected = [("0.001", 32), ("0.001", 64), ("0.0005", 32), ("0.0005", 64)];
    for (index, (rate, batch)) in expected.iter().enumerate() {
        let run = experiment.join(format!("run-{:03}", index + 1));
        assert!(
            run.join("model.bpk").is_file(),
            "{} finished",
            run.display()
        );
        let config = read_json(&run.join("config.json"));
        assert_eq!(
            config["optimizer"]["learning_rate"],
            rate.parse::<f64>().unwrap()
        );
        assert_eq!(config["training"]["batch_size"], *batch);
        assert_eq!(config["data"]["train_size"], 600);
    }
    let sweep = experiment.join("sweep-001");
    let summary = std::fs::read_to_string(sweep.join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(
        lines[0],
        "optimizer.learning_rate,training.batch_size,data.train_size,run,epochs,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,seconds"
    );
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(
        lines[4].starts_with("0.0005,64,600,smoke/run-004,1,"),
        "{}",
        lines[4]
    );
    assert!(
        std::fs::read(sweep.join("compare.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    // The sweep and its experiment compare alike: the differing keys only.
    for target in ["artifacts/smoke/sweep-001", "artifacts/smoke"] {
        let out = trainer(dir.path(), &["compare", target, "-o", "both.png"]);
        let table: Vec<&str> = out.ok().lines().collect();
        let header: Vec<&str> = table[0].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "run",
                "optimizer.learning_rate",
                "training.batch_size",
                "epochs",
                "loss",
                "accuracy",
                "val_loss",
                "val_accuracy",
                "seconds"
            ],
            "{target}"
        );
        assert_eq!(table.len(), 1 + 4 + 1, "{target}: {table:?}");
        assert!(
            table[4].contains("run-004") && table[4].contains("0.0005"),
            "{}",
            table[4]
        );
        assert!(dir.path().join("both.png").is_file());
    }
}

#[test]
fn a_bad_value_anywhere_in_the_grid_fails_before_any_training() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    trainer(
        dir.path(),
        &[
            "sweep",
            "--config",
            config.to_str().unwrap(),
            "--set",
            "training.epochs=1,0",
            "--artifacts",
            "artifacts",
        ],
    )
    .fails_with("config key `training.epochs` = 0: must be at least 1");
    assert!(!dir.path().join("artifacts").exists());
}

#[test]
fn early_stopping_ends_a_run_that_stops_improving_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // No later epoch beats the first by 10: patience 2 ends it after epoch 3.
    let out = train_smoke(
        dir.path(),
        &[
            "training.epochs=8",
            "data.train_size=300",
            "training.early_stopping.min_delta=10",
            "training.early_stopping.patience=2",
        ],
    );
    let stdout = out.ok();
    assert!(
        stdout.contains(
            "early stopping after epoch 3: val_loss has not improved by more than 10 for 2 epoch(s)"
        ),
        "{stdout}"
    );
    let run = dir.path().join("artifacts/smoke/run-001");
    assert!(
        run.join("model.bpk").is_file(),
        "an early-stopped run is finished"
    );
    let history = read_json(&run.join("history.json"));
    assert_eq!(history["epochs"].as_array().unwrap().len(), 3);
    assert_eq!(history["stopped_early"]["epoch"], 3);
    assert_eq!(history["stopped_early"]["best_epoch"], 1);
    assert_eq!(history["stopped_early"]["monitor"], "val_loss");
}

#[test]
fn a_validation_split_holds_out_the_end_of_the_training_set_and_tests_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = train_smoke(
        dir.path(),
        &["data.train_size=500", "data.validation_split=0.2"],
    );
    let stdout = out.ok();
    assert!(
        stdout.contains("validation: the last 100 training images (validation_split); the 1000 test images are evaluated after training"),
        "{stdout}"
    );
    let test_line = stdout
        .lines()
        .find(|line| line.starts_with("test: loss: "))
        .unwrap_or_else(|| panic!("no test line: {stdout}"));
    assert!(test_line.ends_with("(1000 images)"), "{test_line}");
    let history = read_json(&dir.path().join("artifacts/smoke/run-001/history.json"));
    assert_eq!(history["run"]["train_size"], 400);
    assert_eq!(history["run"]["test_size"], 100, "the validation images");
    let accuracy = history["test_accuracy"].as_f64().unwrap();
    assert!(
        test_line.contains(&format!("accuracy: {accuracy:.4}")),
        "{test_line}"
    );
    assert!(history["test_loss"].as_f64().unwrap() > 0.0);

    // Without a split, no test record: the test set is the validation.
    train_smoke(dir.path(), &["data.train_size=200"]).ok();
    let history = read_json(&dir.path().join("artifacts/smoke/run-002/history.json"));
    assert!(history.get("test_loss").is_none());
    assert_eq!(history["run"]["test_size"], 1000);
}

/// An optimiser and a schedule from `--set`: the header names them, and
/// `history.json` records each epoch's learning rate, here halved every
/// epoch by a step schedule (exactly: the rate is constant within an epoch).
#[test]
fn an_optimiser_and_a_schedule_train_and_each_epoch_records_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = train_smoke(
        dir.path(),
        &[
            "training.epochs=3",
            "data.train_size=300",
            "optimizer.name=sgd",
            "optimizer.learning_rate=0.08",
            "optimizer.momentum=0.9",
            "optimizer.schedule={type=\"step\", step_epochs=1, gamma=0.5}",
        ],
    );
    let stdout = out.ok();
    assert!(
        stdout.contains("; sgd lr 0.08 (step schedule), 3 epochs"),
        "{stdout}"
    );
    let history = read_json(&dir.path().join("artifacts/smoke/run-001/history.json"));
    let rates: Vec<f64> = history["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|epoch| epoch["learning_rate"].as_f64().unwrap())
        .collect();
    assert_eq!(rates.len(), 3);
    for (rate, expected) in rates.iter().zip([0.08, 0.04, 0.02]) {
        assert!((rate - expected).abs() < 1e-9, "{rates:?}");
    }
    let accuracy = history["epochs"][2]["val_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5, "SGD with momentum learns: {accuracy}");
}
