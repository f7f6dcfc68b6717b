//! `trainer import`: an ONNX model as a finished run, which `predict`,
//! `eval`, `serve` and `train --init-from` take as any other.

use std::io::Read;
use std::path::Path;

use backend::SelectedBackend;
use data::PixelScaling;
use exchange::import::{Imported, import};
use experiment::{ConfigError, ExperimentFile};
use runs::history::{History, Imported as ImportedFrom, RunInfo};
use runs::{DEFAULT_ARTIFACTS, RunDir, write_json};
use training::resume;
use training::save_weights;

use crate::cli::ImportArgs;
use crate::error::Error;

/// The largest model file read: MNIST networks are kilobytes to a few
/// hundred megabytes of weights.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// Imports `args.file` and returns the run it made.
pub fn run(args: &ImportArgs) -> Result<RunDir, Error> {
    let bytes = read_model(&args.file)?;
    let external = |location: &str| external_file(&args.file, location);
    let imported = import(&bytes, &external).map_err(|problem| Error::Import {
        path: args.file.clone(),
        problem,
    })?;
    let (scaling, scaling_from) = match (imported.scaling, args.scaling) {
        (Some(graph), Some(flag)) if graph != flag => {
            return Err(Error::Usage(format!(
                "{}: the graph scales the pixels `{}` itself; --scaling {} would feed it something else",
                args.file.display(),
                graph.name(),
                flag.name()
            )));
        }
        (Some(graph), _) => (graph, "graph"),
        (None, Some(flag)) => (flag, "--scaling"),
        (None, None) => (PixelScaling::Raw, "default"),
    };
    let mut file = ExperimentFile {
        name: name(args, &imported),
        ..ExperimentFile::default()
    };
    file.model.layers = imported.layers.clone();
    file.data.scaling = scaling;
    let experiment = file.validate()?;
    let backend = SelectedBackend::select(experiment.file.backend, experiment.file.device)?;
    let net = experiment
        .net
        .init(experiment.file.seed, &backend.device)
        .map_err(ConfigError::from)?
        .with_weights(&imported.weights)
        .map_err(ConfigError::from)?;
    let artifacts = args
        .artifacts
        .as_deref()
        .unwrap_or(Path::new(DEFAULT_ARTIFACTS));
    let run = RunDir::create(artifacts, &experiment.file.name)?;
    let _lock = run.lock()?;
    write_json(&run.config(), &experiment.file)?;
    let history = History {
        run: RunInfo {
            experiment: experiment.file.name.clone(),
            backend: backend.backend.name().into(),
            device: backend.device_name().into(),
            kernels: experiment.file.kernels.on(&backend.device).name().into(),
            seed: experiment.file.seed,
            started: resume::now(),
            train_size: 0,
            test_size: 0,
            steps_per_epoch: 0,
            epochs_planned: 0,
            version: env!("CARGO_PKG_VERSION").into(),
            resumes: Vec::new(),
            imported: Some(ImportedFrom {
                file: args.file.display().to_string(),
                format: "onnx".into(),
                producer: imported.producer.clone(),
                scaling_from: scaling_from.into(),
            }),
        },
        epochs: Vec::new(),
        test_loss: None,
        test_accuracy: None,
        stopped_early: None,
    };
    write_json(&run.history(), &history)?;
    // Last, as a training does: a run holding `model.bpk` is a finished run.
    save_weights(&run, &net)?;
    println!(
        "imported {} ({}) as {}: {} layers, {} parameters; pixels {} ({scaling_from})",
        args.file.display(),
        if imported.producer.is_empty() {
            "no producer named"
        } else {
            &imported.producer
        },
        run.path().display(),
        experiment.summary.len(),
        experiment.num_params(),
        scaling.name(),
    );
    Ok(run)
}

/// `--name`, else the experiment of the run a burnist export came from,
/// else the file's name without its extension.
fn name(args: &ImportArgs, imported: &Imported) -> String {
    args.name
        .clone()
        .or_else(|| {
            let run = imported.run.as_deref()?;
            run.split('/').next().map(str::to_owned)
        })
        .unwrap_or_else(|| {
            args.file.file_stem().map_or_else(
                || "imported".into(),
                |stem| stem.to_string_lossy().into_owned(),
            )
        })
}

/// The file's bytes: a regular file of at most [`MAX_MODEL_BYTES`].
fn read_model(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path).map_err(|reason| Error::Model {
        path: path.to_owned(),
        reason,
    })
}

/// The external data file `location` of the model at `model`: a plain file
/// name beside it (no directory, no link out of the model's directory).
fn external_file(model: &Path, location: &str) -> Result<Vec<u8>, String> {
    let name = Path::new(location);
    if name.file_name() != Some(name.as_os_str()) {
        return Err(format!("`{location}` is not a file name beside the model"));
    }
    let path = model.with_file_name(name);
    if path.is_symlink() {
        return Err(format!("`{location}` is a symbolic link"));
    }
    read_bounded(&path).map_err(|reason| format!("`{location}` {reason}"))
}

/// A regular file of at most [`MAX_MODEL_BYTES`], or why not.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|err| format!("cannot read: {err}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_MODEL_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|err| format!("cannot read: {err}"))?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(format!(
            "is larger than the {} MiB a model file may hold",
            MAX_MODEL_BYTES >> 20
        ));
    }
    Ok(bytes)
}
