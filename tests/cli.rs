//! The trainer as a user runs it: the notebook's commands, artifacts, and clear errors.

use std::path::Path;

use crate::util::{read_json, repo_root, run_strs, smoke_args, trainer};

fn smoke_config() -> String {
    repo_root().join("configs/smoke.toml").display().to_string()
}

#[test]
fn info_prints_the_notebooks_data_cells() {
    let dir = tempfile::tempdir().unwrap();
    let run = trainer(dir.path(), &["info"]);
    let out = run.ok();
    assert!(
        out.contains("y_train.shape, y_test.shape: (60000,) (10000,)"),
        "{out}"
    );
    assert!(out.contains("X_train[0].shape: (28, 28)"), "{out}");
    assert!(
        out.contains("after reshape: (60000, 28, 28, 1) (10000, 28, 28, 1)"),
        "{out}"
    );
    assert!(out.contains("y_train[0]: 5"), "{out}");
    assert!(
        out.contains("to_categorical(y_train)[0]: [0 0 0 0 0 1 0 0 0 0]"),
        "{out}"
    );
}

/// Smoke training, then prediction from the saved run: both see the same model.
#[test]
fn a_trained_run_reloads_and_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("out");
    let out = trainer(
        dir.path(),
        &[
            "train",
            "--config",
            &smoke_config(),
            "--artifacts",
            artifacts.to_str().unwrap(),
        ],
    );
    let train_out = out.ok();
    assert!(
        train_out.contains("Epoch 1/1 - 94/94 - loss: "),
        "{train_out}"
    );
    assert!(train_out.contains("labels:    [7 2 1 0]"), "{train_out}");
    assert_eq!(
        train_out
            .lines()
            .filter(|l| l.starts_with("Epoch "))
            .count(),
        1,
        "one line per epoch, none per batch:\n{train_out}"
    );

    let run_dir = artifacts.join("smoke/run-001");
    let history = read_json(&run_dir.join("history.json"));
    assert_eq!(history["run"]["experiment"], "smoke");
    assert_eq!(history["run"]["train_size"], 3000);
    let epochs = history["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 1);
    let val_accuracy = epochs[0]["val_accuracy"].as_f64().unwrap();
    assert!(
        (0.75..=1.0).contains(&val_accuracy),
        "smoke val_accuracy {val_accuracy}"
    );
    assert!(epochs[0]["loss"].as_f64().unwrap() > 0.0);
    let config = read_json(&run_dir.join("config.json"));
    assert_eq!(config["data"]["scaling"], "unit");

    let predict = trainer(
        dir.path(),
        &[
            "predict",
            "--run",
            artifacts.join("smoke").to_str().unwrap(),
            "--first",
            "4",
            "--repeat",
            "3",
        ],
    );
    let predict_out = predict.ok();
    let line = |text: &str, prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .to_owned()
    };
    assert_eq!(
        line(predict_out, "predicted:"),
        line(train_out, "predicted:")
    );
    assert_eq!(line(predict_out, "labels:"), "labels:    [7 2 1 0]");
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.trim_start().starts_with("[") && l.contains("e-"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(predict_out).len(), 4);
    assert_eq!(
        rows(predict_out),
        rows(train_out),
        "same probabilities after reloading"
    );
    let accuracy: f64 = line(predict_out, "accuracy:")
        .split_whitespace()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap();
    assert!(accuracy > 0.75, "{predict_out}");
    assert!(predict_out.contains("/10000 test images)"), "{predict_out}");
    assert!(
        line(predict_out, "warm: median of 2 more passes").ends_with(" images/s"),
        "{predict_out}"
    );
}

#[test]
fn a_second_run_gets_its_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--config",
        &smoke_config(),
        "--artifacts",
        "a",
        "--train-size",
        "320",
        "--test-size",
        "100",
    ];
    trainer(dir.path(), &args).ok();
    let first = dir.path().join("a/smoke/run-001");
    let before = std::fs::read(first.join("model.bpk")).unwrap();
    let history_before = std::fs::read(first.join("history.json")).unwrap();
    trainer(dir.path(), &args).ok();
    assert!(dir.path().join("a/smoke/run-002/model.bpk").is_file());
    assert_eq!(std::fs::read(first.join("model.bpk")).unwrap(), before);
    assert_eq!(
        std::fs::read(first.join("history.json")).unwrap(),
        history_before
    );
}

fn copy_data(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(repo_root().join("data/mnist")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn bad_data_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    trainer(dir.path(), &["info", "--data-dir", "missing"])
        .fails_with("missing: data directory not found");

    let data = dir.path().join("data");
    copy_data(&data);
    let labels = data.join("t10k-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() / 2]).unwrap();
    trainer(dir.path(), &["info", "--data-dir", "data"])
        .fails_with("t10k-labels-idx1-ubyte.gz: corrupt gzip data");

    std::fs::remove_file(&labels).unwrap();
    trainer(dir.path(), &["train", "--data-dir", "data"])
        .fails_with("no t10k-labels-idx1-ubyte (nor t10k-labels-idx1-ubyte.gz)");
    assert!(
        !dir.path().join("artifacts").exists(),
        "no run directory for a failed start"
    );
}

/// Bug: a run trained with a relative `--data-dir` could not be evaluated
/// or resumed from another directory. Its record holds the directory
/// absolute.
#[test]
fn a_relative_data_directory_is_recorded_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_data(&data);
    let small = [
        "--data-dir",
        "data",
        "--epochs",
        "1",
        "--train-size",
        "320",
        "--test-size",
        "100",
    ];
    trainer(dir.path(), &run_strs(&smoke_args(&small))).ok();
    let run = dir.path().join("artifacts/smoke/run-001");
    let config = read_json(&run.join("config.json"));
    assert_eq!(config["data"]["dir"], data.display().to_string());
    let elsewhere = tempfile::tempdir().unwrap();
    let out = trainer(elsewhere.path(), &["eval", "--run", run.to_str().unwrap()]);
    assert!(out.ok().contains("accuracy"), "{}", out.stdout);
}

#[test]
fn bad_configs_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let unknown = write("unknown.toml", "[training]\nepochz = 3\n");
    trainer(dir.path(), &["train", "--config", &unknown]).fails_with("unknown field `epochz`");
    let zero = write("zero.toml", "[training]\nepochs = 0\n");
    trainer(dir.path(), &["train", "--config", &zero])
        .fails_with("config key `training.epochs` = 0: must be at least 1");
    trainer(dir.path(), &["train", "--config", "nope.toml"])
        .fails_with("nope.toml: cannot read config");
    trainer(dir.path(), &["train", "--learning-rate=-1"])
        .fails_with("config key `optimizer.learning_rate` = -1");
    trainer(dir.path(), &["train", "--train-size", "70000"])
        .fails_with("config key `data.train_size` = 70000: larger than the 60000 items");
    let run = trainer(dir.path(), &["train", "--backend", "cuda-please"]);
    let line = run.fails_with("invalid value 'cuda-please' for '--backend <BACKEND>'");
    assert!(
        line.contains("possible values: auto, cuda, wgpu, tch, flex, ndarray"),
        "{line}"
    );
    trainer(dir.path(), &["predict", "--run", "nowhere"])
        .fails_with("nowhere: no such run directory");
}
