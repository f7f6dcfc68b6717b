//! `trainer train`: the notebook's `model.fit`, then its pictures, final
//! weights and first predictions.

use std::path::Path;

use backend::SelectedBackend;
use experiment::ConfigError;
use experiment::{Experiment, ExperimentFile};
use inference::{LoadedRun, predict_probabilities};
use model::LayerWeights;
use runs::history::Resume;
use runs::text::one_line;
use runs::{DEFAULT_ARTIFACTS, RunDir, write_json};
use training::resume::{self, Resumption};
use training::{Prepared, Progress, Start, evaluate_test, fit, save_weights};

use crate::artifacts;
use crate::cli::TrainArgs;
use crate::error::Error;
use crate::numpy::print_first_predictions;
use crate::renderer::{EpochLines, KerasRenderer};

/// How many test images the end of a training predicts, as the notebook does.
const SHOWN_PREDICTIONS: usize = 4;

/// Trains the experiment that `args` describe (or resumes it) and writes its
/// run directory, which it returns.
pub fn run(args: &TrainArgs) -> Result<RunDir, Error> {
    let artifacts = args
        .artifacts
        .as_deref()
        .unwrap_or(Path::new(DEFAULT_ARTIFACTS));
    let file = ExperimentFile::load_or_default(args.config.as_deref())?;
    if args.resume {
        let name = args.name.clone().unwrap_or(file.name);
        return resume(resume::prepare(&args.resume_request(), &name, artifacts)?);
    }
    train(args.apply(file)?.validate()?, artifacts)
}

/// Trains `experiment` as a new run under `artifacts` (each point of a
/// sweep, too) and returns its run directory.
pub fn train(experiment: Experiment, artifacts: &Path) -> Result<RunDir, Error> {
    let prepared = prepare(experiment)?;
    let weights = init_weights(&prepared)?;
    // The run directory only once everything it needs is there.
    let run = RunDir::create(artifacts, &prepared.experiment.file.name)?;
    let _lock = run.lock()?;
    // Relative paths are recorded absolute: `--resume`, `eval` and
    // `predict` find the data (and the run to start from) from wherever
    // they are run.
    let mut recorded = prepared.experiment.file.clone();
    for path in [&mut recorded.data.dir, &mut recorded.model.init_from]
        .into_iter()
        .flatten()
    {
        *path = std::path::absolute(&*path).unwrap_or_else(|_| path.clone());
    }
    write_json(&run.config(), &recorded)?;
    let start = Start {
        history: prepared.fresh_history(),
        step_losses: Vec::new(),
        checkpoint: None,
        weights,
    };
    finish(prepared, &run, start)?;
    Ok(run)
}

/// Continues an unfinished run after its last complete checkpoint.
fn resume(resumption: Resumption) -> Result<RunDir, Error> {
    let Resumption {
        run,
        lock: _lock,
        file,
        history,
        step_losses,
        checkpoint,
        notes,
    } = resumption;
    let prepared = prepare(file.validate()?)?;
    let done = checkpoint.unwrap_or(0);
    // Without a checkpoint (killed in the first epoch) the run starts over.
    let mut history = history.unwrap_or_else(|| prepared.fresh_history());
    history.run.resumes.push(Resume {
        after_epoch: done,
        backend: prepared.backend.backend.name().into(),
        device: prepared.backend.device_name().into(),
        started: resume::now(),
    });
    for note in notes {
        println!("note: {note}");
    }
    println!("resuming {} after epoch {done}", run.path().display());
    // Killed before its first checkpoint: it starts over, from where it started.
    let weights = match checkpoint {
        Some(_) => None,
        None => init_weights(&prepared)?,
    };
    let start = Start {
        history,
        step_losses,
        checkpoint,
        weights,
    };
    finish(prepared, &run, start)?;
    Ok(run)
}

/// Prints the header, trains, then writes the pictures and, last, the
/// final weights: a run directory holding `model.bpk` is a finished run.
fn finish(prepared: Prepared, run: &RunDir, start: Start) -> Result<(), Error> {
    header(&prepared, run);
    let Prepared {
        experiment,
        backend,
        train,
        valid,
        test,
        ..
    } = prepared;
    if let Some(test) = &test {
        println!(
            "validation: the last {} training images (validation_split); the {} test images are evaluated after training",
            valid.len(),
            test.len()
        );
    }
    let (epochs, lines) = EpochLines::channel(
        experiment.file.training.epochs,
        start.history.run.steps_per_epoch,
    );
    let progress = Progress {
        renderer: Box::new(KerasRenderer::new(lines.clone())),
        epochs,
    };
    let trained = fit(
        &experiment,
        run,
        &backend,
        train,
        valid.clone(),
        start,
        progress,
    );
    // The Learner returns before its last epochs are shown.
    lines.print_rest();
    let trained = trained?;
    if let Some(stop) = &trained.stopped_early {
        println!("{}", stop.line());
    }
    let net = trained.net;
    artifacts::save(run, &experiment, &net, &valid, &backend.device)?;
    if let Some(test) = &test {
        let (loss, accuracy) = evaluate_test(run, &experiment, &net, test, &backend)?;
        println!(
            "test: loss: {loss:.4} - accuracy: {accuracy:.4} ({} images)",
            test.len()
        );
    }
    save_weights(run, &net)?;
    let first = test.unwrap_or(valid).truncate(SHOWN_PREDICTIONS);
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

/// The weights of `model.init_from`, checked against the experiment's
/// network before any run directory is made.
fn init_weights(prepared: &Prepared) -> Result<Option<Vec<LayerWeights>>, Error> {
    let Some(path) = &prepared.experiment.file.model.init_from else {
        return Ok(None);
    };
    let source = LoadedRun::open(path, None, None)?;
    let weights = source.net.weights();
    let experiment = &prepared.experiment;
    experiment
        .net
        .init(experiment.file.seed, &prepared.backend.device)
        .map_err(ConfigError::from)?
        .with_weights(&weights)
        .map_err(|source| Error::InitFrom {
            run: path.clone(),
            reason: one_line(&ConfigError::from(source)),
        })?;
    Ok(Some(weights))
}

/// `experiment` with its backend chosen and its data loaded.
fn prepare(experiment: Experiment) -> Result<Prepared, Error> {
    let backend = select(&experiment)?;
    Ok(Prepared::new(experiment, backend)?)
}

/// The backend and device of `experiment`, with a line for each backend
/// `auto` passed over.
fn select(experiment: &Experiment) -> Result<SelectedBackend, Error> {
    let backend = SelectedBackend::select(experiment.file.backend, experiment.file.device)?;
    for skipped in &backend.skipped {
        eprintln!(
            "warning: {}; auto takes the next backend, {}",
            runs::text::one_line(skipped),
            backend.backend.name()
        );
    }
    Ok(backend)
}

/// The lines before the first epoch: where, on what, how; and a note when
/// `auto` settled on a software adapter (on stdout with the header, once
/// every input has been checked: stderr keeps one line for an error).
fn header(prepared: &Prepared, run: &RunDir) {
    let Prepared {
        experiment,
        backend,
        source,
        ..
    } = prepared;
    let (train_size, test_size) = (prepared.train.len(), prepared.valid.len());
    let file = &experiment.file;
    let settings = &file.training;
    if let Some(note) = backend.software_note(file.backend) {
        println!("{note}");
    }
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
        "model: {} layers, {} parameters; {} lr {:?} ({} schedule), {} epochs of {} steps (batch {})",
        experiment.summary.len(),
        experiment.num_params(),
        experiment.file.optimizer.name.name(),
        experiment.learning_rate(),
        experiment.schedule().name(),
        settings.epochs,
        train_size.div_ceil(settings.batch_size),
        settings.batch_size
    );
}
