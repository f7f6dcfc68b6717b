//! `trainer train`: the notebook's `model.fit`, through Burn's Learner, then
//! the pictures and the final weights of the run.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::OptimizerRecord;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use burn::prelude::Tensor;
use burn::store::ModuleRecord;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Interrupter, Learner, SupervisedTraining};
use data::{DataSource, MnistBatcher, MnistDataset, Split};
use model::KerasNet;

use crate::backend::SelectedBackend;
use crate::classifier::MnistClassifier;
use crate::cli::TrainArgs;
use crate::commands::{argmax, load_split, predict_probabilities, print_first_predictions};
use crate::config::{Experiment, ExperimentFile};
use crate::evaluation::ConfusionMatrix;
use crate::history::{History, HistoryRecorder, RunInfo, read_steps_csv};
use crate::pictures::{Captioned, save_confusion, save_curves, save_digit_grid};
use crate::renderer::{DIVERGED, KerasLogRenderer};
use crate::runs::{RunDir, write_atomic, write_json};

/// How many test images the end of a training predicts, as the notebook does.
const SHOWN_PREDICTIONS: usize = 4;
/// The grid of misclassified digits in `mistakes.png`.
const MISTAKE_GRID: (usize, usize) = (6, 10);

/// A run about to train: new, or resumed after its last complete checkpoint.
struct Prepared {
    experiment: Experiment,
    run: RunDir,
    history: History,
    step_losses: Vec<f64>,
    /// The epoch whose checkpoint training continues from, if resuming.
    checkpoint: Option<usize>,
}

/// Trains the experiment that `args` describe and writes its run directory.
pub fn run(args: &TrainArgs) -> Result<()> {
    let file = match &args.config {
        Some(path) => ExperimentFile::load(path)?,
        None => ExperimentFile::default(),
    };
    let requested = args.apply(file).validate()?;
    let backend = SelectedBackend::select(requested.file.backend, requested.file.device)?;
    let artifacts = args.artifacts.as_deref().unwrap_or(Path::new("artifacts"));

    let resumed = if args.resume {
        let run =
            RunDir::latest_unfinished(artifacts, &requested.file.name)?.with_context(|| {
                format!(
                    "--resume: no unfinished run of `{}` under {}",
                    requested.file.name,
                    artifacts.display()
                )
            })?;
        Some(run)
    } else {
        None
    };
    let experiment = match &resumed {
        // A resumed run keeps its own config; only the number of epochs may change.
        Some(run) => {
            let mut file = ExperimentFile::load(&run.config())?;
            if let Some(epochs) = args.epochs {
                file.training.epochs = epochs;
            }
            file.validate()?
        }
        None => requested,
    };

    let source = DataSource::resolve(experiment.file.data.dir.as_deref())?;
    let train = load_split(&source, Split::Train, experiment.file.data.train_size)?;
    let test = load_split(&source, Split::Test, experiment.file.data.test_size)?;
    let steps_per_epoch = train.len().div_ceil(experiment.file.training.batch_size);

    let fresh = History {
        run: RunInfo {
            experiment: experiment.file.name.clone(),
            backend: backend.backend.name().into(),
            device: backend.device_name().into(),
            seed: experiment.file.seed,
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            train_size: train.len(),
            test_size: test.len(),
            steps_per_epoch,
            epochs_planned: experiment.file.training.epochs,
            version: env!("CARGO_PKG_VERSION").into(),
        },
        epochs: Vec::new(),
    };
    let prepared = match resumed {
        Some(run) => prepare_resume(experiment, run, fresh, &backend.device)?,
        None => {
            let run = RunDir::create(artifacts, &experiment.file.name)?;
            write_json(&run.config(), &experiment.file)?;
            Prepared {
                experiment,
                run,
                history: fresh,
                step_losses: Vec::new(),
                checkpoint: None,
            }
        }
    };
    fit(prepared, &backend, &source, train, test)
}

/// Picks up an unfinished run after its last checkpoint that loads whole.
fn prepare_resume(
    experiment: Experiment,
    run: RunDir,
    fresh: History,
    device: &burn::prelude::Device,
) -> Result<Prepared> {
    let checkpoint = last_complete_checkpoint(&run, &experiment, device);
    let done = checkpoint.unwrap_or(0);
    if done > experiment.file.training.epochs {
        bail!(
            "{}: already trained {done} epochs, more than the {} asked for",
            run.path().display(),
            experiment.file.training.epochs
        );
    }
    // Without a checkpoint (killed during the first epoch) the run starts over.
    let mut history = match (checkpoint, std::fs::read_to_string(run.history())) {
        (Some(_), Ok(text)) => serde_json::from_str(&text)
            .with_context(|| format!("{}: unreadable history", run.history().display()))?,
        _ => fresh,
    };
    // Epochs after the checkpoint are trained again.
    history.epochs.truncate(done);
    history.run.epochs_planned = experiment.file.training.epochs;
    let mut step_losses = std::fs::read_to_string(run.steps())
        .map(|text| read_steps_csv(&text))
        .unwrap_or_default();
    step_losses.truncate(done * history.run.steps_per_epoch);
    println!("resuming {} after epoch {done}", run.path().display());
    Ok(Prepared {
        experiment,
        run,
        history,
        step_losses,
        checkpoint,
    })
}

/// The latest epoch whose model, optimiser and scheduler checkpoints all load
/// (and whose model fits the configured network).
fn last_complete_checkpoint(
    run: &RunDir,
    experiment: &Experiment,
    device: &burn::prelude::Device,
) -> Option<usize> {
    let dir = run.file("checkpoint");
    let mut epochs: Vec<usize> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?
                .strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .collect();
    epochs.sort_unstable();
    let file = |kind: &str, epoch: usize| -> PathBuf { dir.join(format!("{kind}-{epoch}.bpk")) };
    epochs.into_iter().rev().find(|&epoch| {
        let model = ModuleRecord::load(file("model", epoch)).ok();
        let fits = model.is_some_and(|record| {
            MnistClassifier {
                net: experiment.net.init(experiment.file.seed, device),
            }
            .try_load_record(record)
            .is_ok()
        });
        fits && OptimizerRecord::load(file("optim", epoch)).is_ok()
            && LrSchedulerRecord::load(file("scheduler", epoch)).is_ok()
    })
}

fn fit(
    prepared: Prepared,
    backend: &SelectedBackend,
    source: &DataSource,
    train: MnistDataset,
    test: MnistDataset,
) -> Result<()> {
    let Prepared {
        experiment,
        run,
        history,
        step_losses,
        checkpoint,
    } = prepared;
    let _lock = run.lock()?;
    let settings = &experiment.file.training;
    let steps_per_epoch = history.run.steps_per_epoch;
    println!(
        "burnist: experiment `{}` on {} ({}), seed {}",
        experiment.file.name,
        backend.backend.name(),
        backend.device_name(),
        experiment.file.seed
    );
    println!(
        "data: {source}, {} train / {} test images, pixels {}; run directory {}",
        train.len(),
        test.len(),
        experiment.file.data.scaling.name(),
        run.path().display()
    );

    let device = backend.device.clone();
    let model = MnistClassifier {
        net: experiment
            .net
            .init(experiment.file.seed, &device.clone().autodiff()),
    };
    println!(
        "model: KerasNet, {} parameters; Adam lr {:?}, {} epochs of {steps_per_epoch} steps (batch {})",
        model.num_params(),
        experiment.learning_rate(),
        settings.epochs,
        settings.batch_size
    );

    let batcher = MnistBatcher::new(experiment.file.data.scaling);
    let mut train_loader = DataLoaderBuilder::new(batcher)
        .batch_size(settings.batch_size)
        .shuffle(experiment.file.seed)
        .set_device(device.clone());
    if settings.workers > 0 {
        train_loader = train_loader.num_workers(settings.workers);
    }
    let valid_loader = DataLoaderBuilder::new(batcher)
        .batch_size(settings.eval_batch_size)
        .set_device(device.clone())
        .build(test.clone());

    let recorder = Arc::new(Mutex::new(HistoryRecorder::new(&run, history, step_losses)));
    let on_epoch = {
        let recorder = recorder.clone();
        Box::new(move |epoch, steps| {
            if let Ok(mut recorder) = recorder.lock() {
                recorder.record(epoch, steps);
            }
        })
    };
    let interrupter = Interrupter::new();
    let mut training = SupervisedTraining::new(run.path(), train_loader.build(train), valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_default_checkpointers()
        .num_epochs(settings.epochs)
        .with_interrupter(interrupter.clone())
        .renderer(Box::new(KerasLogRenderer::new(
            on_epoch,
            steps_per_epoch,
            interrupter.clone(),
        )));
    if let Some(epoch) = checkpoint {
        training = training.checkpoint(epoch);
    }
    stop_on_ctrl_c(interrupter);
    let optimizer = experiment.adam.optimizer(model.net.kernels());
    let result = training.launch(Learner::new(model, optimizer, experiment.learning_rate()));

    let recorder = recorder
        .lock()
        .map_err(|_| anyhow::anyhow!("the training log was poisoned by a crash"))?;
    if let Some(error) = recorder.error() {
        bail!("cannot record the history: {error}");
    }
    if let Some(error) = result.error {
        bail!("training failed: {error}");
    }
    let done = recorder.history().epochs.len();
    if let Some(reason) = result
        .interrupted
        .as_ref()
        .and_then(|i| i.reason.as_deref())
        && reason.starts_with(DIVERGED)
    {
        bail!(
            "{reason}; the checkpoints of the {done} finished epoch(s) are kept in {}",
            run.file("checkpoint").display()
        );
    }
    if result.interrupted.is_some() || done < settings.epochs {
        bail!(
            "training interrupted after {done} of {} epochs; continue it with `trainer train --resume{}`",
            settings.epochs,
            if experiment.file.name == "notebook" {
                String::new()
            } else {
                format!(" --name {}", experiment.file.name)
            }
        );
    }
    let net = result.model.net;

    save_pictures(&run, &experiment, &net, &test, &device, &recorder)?;
    // The weights come last: a run directory with model.bpk is a finished run.
    with_stable_ids(net.clone())
        .save_file(run.weights())
        .with_context(|| format!("{}: cannot save the weights", run.weights().display()))?;

    show_first_predictions(&experiment, &net, &test, &device)?;
    println!("saved: {}", run.path().display());
    Ok(())
}

/// The network with its parameter ids numbered in module order. Burn draws
/// ids at random, which would make two identical trainings save different bytes.
fn with_stable_ids(net: KerasNet) -> KerasNet {
    struct Renumber(u64);
    impl ModuleMapper for Renumber {
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            self.0 += 1;
            param.id = ParamId::from(self.0);
            param
        }
    }
    net.map(&mut Renumber(0))
}

/// Ctrl-C asks the Learner to stop after the current step; the run can then be resumed.
fn stop_on_ctrl_c(interrupter: Interrupter) {
    // Only one handler per process; a second training in the same process keeps the first.
    let _ = ctrlc::set_handler(move || interrupter.stop(Some("interrupted by Ctrl-C")));
}

/// `curves.png`, `confusion.png`, `confusion.csv` and `mistakes.png` of the final model.
fn save_pictures(
    run: &RunDir,
    experiment: &Experiment,
    net: &KerasNet,
    test: &MnistDataset,
    device: &burn::prelude::Device,
    recorder: &HistoryRecorder,
) -> Result<()> {
    save_curves(
        &run.file("curves.png"),
        &recorder.history().epochs,
        recorder.step_losses(),
    )?;
    let predicted: Vec<usize> = predict_probabilities(
        net,
        test,
        experiment.file.data.scaling,
        experiment.file.training.eval_batch_size,
        device,
    )?
    .iter()
    .map(|row| argmax(row))
    .collect();
    let confusion = ConfusionMatrix::new(test.labels(), &predicted);
    write_atomic(&run.file("confusion.csv"), confusion.to_csv().as_bytes())?;
    save_confusion(&run.file("confusion.png"), &confusion)?;
    save_mistakes(&run.file("mistakes.png"), test, &predicted)
}

/// A grid of the first misclassified test digits, captioned `true → predicted`.
pub fn save_mistakes(path: &Path, test: &MnistDataset, predicted: &[usize]) -> Result<()> {
    let (rows, cols) = MISTAKE_GRID;
    let mistakes: Vec<_> = predicted
        .iter()
        .enumerate()
        .filter_map(|(index, &guess)| {
            let item = test.item(index)?;
            (usize::from(item.label) != guess).then_some((index, item, guess))
        })
        .take(rows * cols)
        .collect();
    let digits: Vec<Captioned> = mistakes
        .iter()
        .map(|(index, item, guess)| Captioned {
            pixels: &item.pixels,
            caption: format!("#{index}: {} → {guess}", item.label),
        })
        .collect();
    let shown_rows = digits.len().div_ceil(cols).max(1);
    save_digit_grid(path, &digits, shown_rows, cols, 3)
}

/// The notebook's last cells: `model.predict(X_test[:4])`, its argmax, `y_test[:4]`.
fn show_first_predictions(
    experiment: &Experiment,
    net: &KerasNet,
    test: &MnistDataset,
    device: &burn::prelude::Device,
) -> Result<()> {
    let first = test.clone().truncate(SHOWN_PREDICTIONS);
    let rows = predict_probabilities(
        net,
        &first,
        experiment.file.data.scaling,
        SHOWN_PREDICTIONS,
        device,
    )?;
    print_first_predictions(&rows, first.labels());
    Ok(())
}
