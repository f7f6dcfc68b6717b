//! `trainer export` and `trainer import`: the ONNX model and the
//! PyTorch-named safetensors agree with burnist's own predictions in
//! onnxruntime and in the PyTorch twin (`scripts/exchange.py`), for the
//! notebook (raw pixels) and for a network of every layer type
//! (standardised pixels); the files are the same bytes each time, and
//! through an import and back; a model PyTorch exported imports and
//! classifies as it did in PyTorch, and trains on from there (`--init-from`).

use std::path::{Path, PathBuf};
use std::process::Command;

use exchange::onnx::{INPUT, OUTPUT, keys};
use exchange::proto::ModelProto;
use prost::Message;

use crate::util::{config_args, repo_root, run_strs, trainer};

/// Test images compared per network, as the issue asks.
const IMAGES: &str = "1000";

/// A Python with onnx, onnxruntime, onnxscript, torch and safetensors: `BURNIST_PYTHON`,
/// else `python3` on PATH. None when it lacks them, unless
/// `BURNIST_EXCHANGE_TESTS=required` (CI), which makes that a failure.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("BURNIST_PYTHON").map_or_else(|| "python3".into(), PathBuf::from);
    let usable = Command::new(&python)
        .args([
            "-c",
            "import numpy, onnx, onnxruntime, onnxscript, torch, safetensors",
        ])
        .output()
        .is_ok_and(|output| output.status.success());
    let required = std::env::var_os("BURNIST_EXCHANGE_TESTS").is_some_and(|v| v == "required");
    assert!(
        usable || !required,
        "BURNIST_EXCHANGE_TESTS=required but {} cannot import numpy, onnx, onnxruntime, onnxscript, torch and safetensors",
        python.display()
    );
    if !usable {
        eprintln!(
            "skipped: no Python with onnx, onnxruntime, onnxscript, torch and safetensors (set BURNIST_PYTHON)"
        );
    }
    usable.then_some(python)
}

/// Runs `scripts/exchange.py args...`, asserts it succeeded and returns
/// what it printed.
fn exchange_script(python: &Path, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(python)
        .arg(repo_root().join("scripts/exchange.py"))
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

/// `trainer predict --run RUN --json --first N`, run in `dir`: one JSON row
/// per test image.
fn predict_json(dir: &Path, run: &Path, first: &str) -> String {
    let run = run.to_str().unwrap();
    trainer(dir, &["predict", "--run", run, "--json", "--first", first])
        .ok()
        .to_owned()
}

/// Trains `config` (one small epoch) under `dir` and returns its run.
fn train(dir: &Path, config: &str, extra: &[&str]) -> PathBuf {
    let sizes = [
        "--train-size",
        "2000",
        "--test-size",
        IMAGES,
        "--epochs",
        "1",
    ];
    let args = config_args(config, &[&sizes[..], extra].concat());
    trainer(dir, &run_strs(&args)).ok();
    dir.join("artifacts").join(config).join("run-001")
}

#[test]
fn exported_models_agree_with_burnist_outside_it() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (config, extra) in [
        ("notebook", &[][..]),
        ("every-layer", &["--scaling", "standard"][..]),
    ] {
        let run = train(dir.path(), config, extra);
        let run_arg = run.to_str().unwrap();
        let predictions_file = run.join("predictions.jsonl");
        std::fs::write(&predictions_file, predict_json(dir.path(), &run, IMAGES)).unwrap();
        trainer(dir.path(), &["export", "--run", run_arg]).ok();
        trainer(
            dir.path(),
            &["export", "--run", run_arg, "--format", "safetensors"],
        )
        .ok();
        let said = exchange_script(
            &python,
            &[
                run.as_os_str(),
                predictions_file.as_os_str(),
                "--onnx".as_ref(),
                run.join("model.onnx").as_os_str(),
                "--safetensors".as_ref(),
                run.join("model.safetensors").as_os_str(),
            ],
        );
        assert!(said.contains("onnxruntime: 1000 images"), "{said}");
        assert!(said.contains("pytorch twin: 1000 images"), "{said}");
    }
}

#[test]
fn an_export_is_the_same_bytes_each_time_and_says_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "every-layer", &[]);
    let run_arg = run.to_str().unwrap();
    for (format, name) in [("onnx", "model.onnx"), ("safetensors", "model.safetensors")] {
        let said = trainer(
            dir.path(),
            &["export", "--run", run_arg, "--format", format],
        )
        .ok()
        .to_owned();
        assert!(said.contains(name), "{said}");
        let first = std::fs::read(run.join(name)).unwrap();
        let again = dir.path().join(name);
        trainer(
            dir.path(),
            &[
                "export",
                "--run",
                run_arg,
                "--format",
                format,
                "-o",
                again.to_str().unwrap(),
            ],
        )
        .ok();
        assert_eq!(
            first,
            std::fs::read(&again).unwrap(),
            "{format} changed between exports"
        );
    }
    let model = ModelProto::decode(&*std::fs::read(run.join("model.onnx")).unwrap()).unwrap();
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.input[0].name, INPUT);
    assert_eq!(graph.output[0].name, OUTPUT);
    // every-layer.toml trains on x/255: the graph divides first and ends in the softmax.
    assert_eq!(graph.node[0].op_type, "Div");
    assert_eq!(graph.node.last().unwrap().op_type, "Softmax");
    assert_eq!(model.metadata(keys::SCALING), Some("unit"));
    assert_eq!(model.metadata(keys::RUN), Some("every-layer/run-001"));
}

/// The accuracy of `predict --json` rows against their labels.
fn accuracy(rows: &str) -> f64 {
    let rows: Vec<serde_json::Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let right = rows
        .iter()
        .filter(|row| row["digit"] == row["label"])
        .count();
    right as f64 / rows.len() as f64
}

#[test]
fn an_export_imported_and_exported_again_is_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "every-layer", &["--scaling", "standard"]);
    let run_arg = run.to_str().unwrap();
    trainer(dir.path(), &["export", "--run", run_arg]).ok();
    let said = trainer(
        dir.path(),
        &[
            "import",
            run.join("model.onnx").to_str().unwrap(),
            "--artifacts",
            "imported",
        ],
    )
    .ok()
    .to_owned();
    assert!(said.contains("pixels standard (graph)"), "{said}");
    let imported = dir.path().join("imported/every-layer/run-001");
    let history = crate::util::read_json(&imported.join("history.json"));
    assert_eq!(history["run"]["imported"]["format"], "onnx");
    assert_eq!(history["epochs"], serde_json::json!([]));
    let again = dir.path().join("again.onnx");
    trainer(
        dir.path(),
        &[
            "export",
            "--run",
            imported.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        std::fs::read(run.join("model.onnx")).unwrap(),
        std::fs::read(&again).unwrap(),
        "export -> import -> export changed the file"
    );
    // The same weights on the same backend: the same probabilities, exactly.
    assert_eq!(
        predict_json(dir.path(), &run, "200"),
        predict_json(dir.path(), &imported, "200")
    );
}

#[test]
fn a_pytorch_model_imports_classifies_as_in_pytorch_and_trains_on() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("torch.onnx");
    let said = exchange_script(&python, &["--torch-model".as_ref(), model.as_os_str()]);
    let torch: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    let dynamo = PathBuf::from(torch["dynamo"].as_str().unwrap());
    let torch = torch["accuracy"].as_f64().unwrap();
    assert!(torch > 0.5, "PyTorch's model learned: {torch}");
    // Both of PyTorch's exporters: TorchScript's, and torch.export's (a
    // reshape for the flatten, the weights in a file beside the model).
    for (file, name) in [(model.clone(), "torch"), (dynamo, "torch-dynamo")] {
        let said = trainer(
            dir.path(),
            &[
                "import",
                file.to_str().unwrap(),
                "--scaling",
                "unit",
                "--name",
                name,
            ],
        )
        .ok()
        .to_owned();
        assert!(said.contains("(pytorch 2.9.0"), "{said}");
        let run = dir.path().join("artifacts").join(name).join("run-001");
        let imported = accuracy(&predict_json(dir.path(), &run, IMAGES));
        // Float32 sums in another order may flip an image whose two best
        // classes are within a few ulps: allow two of the thousand.
        assert!(
            (imported - torch).abs() <= 0.002,
            "{name}: burnist {imported}, PyTorch {torch}"
        );
    }
    let run = dir.path().join("artifacts/torch/run-001");

    // Fine-tuning starts from its weights: with a learning rate too small to
    // move them, the first epoch validates at PyTorch's accuracy (a network
    // started from the initialisation would be near 0.1).
    let args = config_args(
        "notebook",
        &[
            "--init-from",
            run.to_str().unwrap(),
            "--set",
            "model.layers[0].activation=relu",
            "--scaling",
            "unit",
            "--learning-rate",
            "1e-12",
            "--epochs",
            "1",
            "--train-size",
            "320",
            "--test-size",
            IMAGES,
            "--name",
            "tuned",
        ],
    );
    trainer(dir.path(), &run_strs(&args)).ok();
    let history = crate::util::read_json(&dir.path().join("artifacts/tuned/run-001/history.json"));
    let tuned = history["epochs"][0]["val_accuracy"].as_f64().unwrap();
    assert!(
        (tuned - torch).abs() <= 0.002,
        "tuned {tuned}, PyTorch {torch}"
    );
}
