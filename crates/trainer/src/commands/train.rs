//! `trainer train`: the notebook's `model.fit`, then its pictures, final
//! weights and first predictions.

use std::path::Path;

use burn::module::Module;
use data::{DataSource, Split};

use crate::artifacts;
use crate::backend::SelectedBackend;
use crate::cli::TrainArgs;
use crate::config::{Experiment, ExperimentFile};
use crate::error::Error;
use crate::history::{History, Resume, RunInfo};
use crate::inference::{load_split, predict_probabilities};
use crate::numpy::print_first_predictions;
use crate::resume::{self, Resumption};
use crate::runs::{RunDir, write_json};
use crate::training::{Start, fit};

/// How many test images the end of a training predicts, as the notebook does.
const SHOWN_PREDICTIONS: usize = 4;

/// Trains the experiment that `args` describe (or resumes it) and writes its
/// run directory.
pub fn run(args: &TrainArgs) -> Result<(), Error> {
    let artifacts = args.artifacts.as_deref().unwrap_or(Path::new("artifacts"));
    let file = match &args.config {
        Some(path) => ExperimentFile::load(path)?,
        None => ExperimentFile::default(),
    };
    if args.resume {
        let name = args.name.clone().unwrap_or(file.name);
        return resume(resume::prepare(args, &name, artifacts)?);
    }
    let experiment = args.apply(file).validate()?;
    let backend = select(&experiment)?;
    let source = DataSource::resolve(experiment.file.data.dir.as_deref())?;
    let train = load_split(&source, Split::Train, experiment.file.data.train_size)?;
    let test = load_split(&source, Split::Test, experiment.file.data.test_size)?;
    // The run directory only once everything it needs is there.
    let run = RunDir::create(artifacts, &experiment.file.name)?;
    let _lock = run.lock()?;
    write_json(&run.config(), &experiment.file)?;
    let history = History {
        run: run_info(&experiment, &backend, train.len(), test.len()),
        epochs: Vec::new(),
    };
    header(
        &experiment,
        &backend,
        &source,
        &run,
        train.len(),
        test.len(),
    );
    let start = Start {
        history,
        step_losses: Vec::new(),
        checkpoint: None,
    };
    finish(&experiment, &run, &backend, train, test, start)
}

/// Continues an unfinished run after its last complete checkpoint.
fn resume(resumption: Resumption) -> Result<(), Error> {
    let Resumption {
        run,
        lock: _lock,
        file,
        history,
        step_losses,
        checkpoint,
    } = resumption;
    let experiment = file.validate()?;
    let backend = select(&experiment)?;
    let source = DataSource::resolve(experiment.file.data.dir.as_deref())?;
    let train = load_split(&source, Split::Train, experiment.file.data.train_size)?;
    let test = load_split(&source, Split::Test, experiment.file.data.test_size)?;
    let done = checkpoint.unwrap_or(0);
    // Without a checkpoint (killed in the first epoch) the run starts over.
    let mut history = history.unwrap_or_else(|| History {
        run: run_info(&experiment, &backend, train.len(), test.len()),
        epochs: Vec::new(),
    });
    history.run.resumes.push(Resume {
        after_epoch: done,
        backend: backend.backend.name().into(),
        device: backend.device_name().into(),
        started: resume::now(),
    });
    println!("resuming {} after epoch {done}", run.path().display());
    header(
        &experiment,
        &backend,
        &source,
        &run,
        train.len(),
        test.len(),
    );
    let start = Start {
        history,
        step_losses,
        checkpoint,
    };
    finish(&experiment, &run, &backend, train, test, start)
}

/// The backend and device of `experiment`, with a line for each backend
/// `auto` passed over.
fn select(experiment: &Experiment) -> Result<SelectedBackend, Error> {
    let backend = SelectedBackend::select(experiment.file.backend, experiment.file.device)?;
    for skipped in &backend.skipped {
        eprintln!(
            "warning: {}; auto takes the next backend, {}",
            crate::error::one_line(skipped),
            backend.backend.name()
        );
    }
    Ok(backend)
}

/// Trains, then writes the pictures and, last, the final weights: a run
/// directory holding `model.bpk` is a finished run.
fn finish(
    experiment: &Experiment,
    run: &RunDir,
    backend: &SelectedBackend,
    train: data::MnistDataset,
    test: data::MnistDataset,
    start: Start,
) -> Result<(), Error> {
    let net = fit(experiment, run, backend, train, test.clone(), start)?;
    artifacts::save(run, experiment, &net, &test, &backend.device)?;
    net.clone()
        .save_file(run.weights())
        .map_err(|source| Error::Weights {
            weights: run.weights(),
            config: run.config(),
            source,
        })?;
    let first = test.truncate(SHOWN_PREDICTIONS);
    let rows = predict_probabilities(
        &net,
        &first,
        experiment.file.data.scaling,
        SHOWN_PREDICTIONS,
        &backend.device,
    )?;
    print_first_predictions(&rows, first.labels());
    println!("saved: {}", run.path().display());
    Ok(())
}

/// What ran, where, when, as `history.json` records it.
fn run_info(
    experiment: &Experiment,
    backend: &SelectedBackend,
    train_size: usize,
    test_size: usize,
) -> RunInfo {
    let settings = &experiment.file.training;
    RunInfo {
        experiment: experiment.file.name.clone(),
        backend: backend.backend.name().into(),
        device: backend.device_name().into(),
        kernels: experiment.file.kernels.on(&backend.device).name().into(),
        seed: experiment.file.seed,
        started: resume::now(),
        train_size,
        test_size,
        steps_per_epoch: train_size.div_ceil(settings.batch_size),
        epochs_planned: settings.epochs,
        version: env!("CARGO_PKG_VERSION").into(),
        resumes: Vec::new(),
    }
}

/// The lines before the first epoch: where, on what, how.
fn header(
    experiment: &Experiment,
    backend: &SelectedBackend,
    source: &DataSource,
    run: &RunDir,
    train_size: usize,
    test_size: usize,
) {
    let file = &experiment.file;
    let settings = &file.training;
    println!(
        "burnist: experiment `{}` on {} ({}), kernels {}, seed {}",
        file.name,
        backend.backend.name(),
        backend.device_name(),
        file.kernels.on(&backend.device).name(),
        file.seed
    );
    println!(
        "data: {source}, {train_size} train / {test_size} test images, pixels {}; run directory {}",
        file.data.scaling.name(),
        run.path().display()
    );
    println!(
        "model: KerasNet, {} parameters; Adam lr {:?}, {} epochs of {} steps (batch {})",
        experiment.net.num_params(),
        experiment.learning_rate(),
        settings.epochs,
        train_size.div_ceil(settings.batch_size),
        settings.batch_size
    );
}
