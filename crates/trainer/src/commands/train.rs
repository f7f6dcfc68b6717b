//! `trainer train`: the notebook's `model.fit`, then its pictures, final
//! weights and first predictions.

use std::path::Path;

use burn::module::Module;
use data::{DataSource, MnistDataset, Split};

use crate::artifacts;
use crate::cli::TrainArgs;
use crate::error::Error;
use crate::numpy::print_first_predictions;
use backend::SelectedBackend;
use experiment::{Experiment, ExperimentFile};
use inference::ConfusionMatrix;
use inference::{argmax, load_split, mean_loss, predict_probabilities};
use runs::history::{History, Resume, RunInfo};
use runs::{RunDir, write_atomic, write_json};
use training::resume::{self, Resumption};
use training::{Progress, Start, fit};

use crate::renderer::{EpochLines, KerasRenderer};

/// How many test images the end of a training predicts, as the notebook does.
const SHOWN_PREDICTIONS: usize = 4;

/// Trains the experiment that `args` describe (or resumes it) and writes its
/// run directory, which it returns.
pub fn run(args: &TrainArgs) -> Result<RunDir, Error> {
    let artifacts = args.artifacts.as_deref().unwrap_or(Path::new("artifacts"));
    let file = ExperimentFile::load_or_default(args.config.as_deref())?;
    if args.resume {
        let name = args.name.clone().unwrap_or(file.name);
        return resume(resume::prepare(&args.resume_request(), &name, artifacts)?);
    }
    let prepared = Prepared::new(args.apply(file)?.validate()?)?;
    // The run directory only once everything it needs is there.
    let run = RunDir::create(artifacts, &prepared.experiment.file.name)?;
    let _lock = run.lock()?;
    // A relative data directory is recorded absolute: `--resume`, `eval`
    // and `predict` find the data from wherever they are run.
    let mut recorded = prepared.experiment.file.clone();
    if let Some(dir) = &mut recorded.data.dir {
        *dir = std::path::absolute(&*dir).unwrap_or_else(|_| dir.clone());
    }
    write_json(&run.config(), &recorded)?;
    let start = Start {
        history: prepared.fresh_history(),
        step_losses: Vec::new(),
        checkpoint: None,
    };
    prepared.finish(&run, start)?;
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
    let prepared = Prepared::new(file.validate()?)?;
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
    let start = Start {
        history,
        step_losses,
        checkpoint,
    };
    prepared.finish(&run, start)?;
    Ok(run)
}

/// An experiment ready to train, new or resumed: its backend chosen and its
/// data loaded and split.
struct Prepared {
    experiment: Experiment,
    backend: SelectedBackend,
    source: DataSource,
    train: MnistDataset,
    /// What validates each epoch: the test set, or the held-out part of
    /// the training set.
    valid: MnistDataset,
    /// The test set, when a validation split keeps it for the end.
    test: Option<MnistDataset>,
}

impl Prepared {
    fn new(experiment: Experiment) -> Result<Self, Error> {
        let backend = select(&experiment)?;
        let data = &experiment.file.data;
        let source = DataSource::resolve(data.dir.as_deref())?;
        let train = load_split(&source, Split::Train, data.train_size)?;
        let test = load_split(&source, Split::Test, data.test_size)?;
        let (train, valid, test) = match data.validation_split {
            None => (train, test, None),
            Some(split) => {
                // Keras: the last `split` of the samples, before shuffling.
                let total = train.len();
                let at = (total as f64 * (1.0 - split)) as usize;
                if at == 0 || at == total {
                    return Err(experiment::ConfigError::Invalid {
                        key: "data.validation_split",
                        value: split.to_string(),
                        reason: format!(
                            "holds out {} of the {total} training images; training and validation need one each",
                            total - at
                        ),
                    }
                    .into());
                }
                let (train, valid) = train.split_at(at);
                (train, valid, Some(test))
            }
        };
        Ok(Self {
            experiment,
            backend,
            source,
            train,
            valid,
            test,
        })
    }

    /// The history of a run that has trained no epoch yet.
    fn fresh_history(&self) -> History {
        History {
            run: run_info(
                &self.experiment,
                &self.backend,
                self.train.len(),
                self.valid.len(),
            ),
            epochs: Vec::new(),
            test_loss: None,
            test_accuracy: None,
            stopped_early: None,
        }
    }

    /// Prints the header, trains, then writes the pictures and, last, the
    /// final weights: a run directory holding `model.bpk` is a finished run.
    fn finish(self, run: &RunDir, start: Start) -> Result<(), Error> {
        let Self {
            experiment,
            backend,
            source,
            train,
            valid,
            test,
        } = self;
        header(
            &experiment,
            &backend,
            &source,
            run,
            train.len(),
            valid.len(),
        );
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
            evaluate_test(run, &experiment, &net, test, &backend)?;
        }
        // Through a temporary file like every artifact: a run killed while
        // the weights are written must not look finished.
        let weights =
            net.clone()
                .into_record()
                .into_bytes()
                .map_err(|source| Error::WeightsNotSaved {
                    weights: run.weights(),
                    source,
                })?;
        write_atomic(&run.weights(), &weights)?;
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
}

/// Keras's `model.evaluate(X_test, y_test)` after a validation split: the
/// test set's loss and accuracy, printed and kept in `history.json`.
fn evaluate_test(
    run: &RunDir,
    experiment: &Experiment,
    net: &model::KerasNet,
    test: &MnistDataset,
    backend: &SelectedBackend,
) -> Result<(), Error> {
    let settings = &experiment.file;
    let scaling = settings.data.scaling;
    let batch = settings.training.eval_batch_size;
    let loss = mean_loss(net, test, scaling, batch, &backend.device);
    let rows = predict_probabilities(net, test, scaling, batch, &backend.device)?;
    let predicted: Vec<usize> = rows.iter().map(|row| argmax(row)).collect();
    let accuracy = ConfusionMatrix::new(test.labels(), &predicted).accuracy();
    println!(
        "test: loss: {loss:.4} - accuracy: {accuracy:.4} ({} images)",
        test.len()
    );
    let mut history = History::load(&run.history())?;
    history.test_loss = Some(loss);
    history.test_accuracy = Some(accuracy);
    write_json(&run.history(), &history)?;
    Ok(())
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

/// The lines before the first epoch: where, on what, how; and a note when
/// `auto` settled on a software adapter (on stdout with the header, once
/// every input has been checked: stderr keeps one line for an error).
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
