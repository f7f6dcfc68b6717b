//! The notebook's `model.fit`: Burn's Learner wired with burnist's hooks,
//! the history logger, the Keras renderer, atomic checkpoints and the
//! per-epoch shuffle.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::renderer::MetricsRenderer;
use burn::train::{Interrupter, Learner, SupervisedTraining};
use data::{MnistBatcher, MnistDataset, MnistLoader};
use model::{KerasNet, Kernels, LayerWeights};

use backend::SelectedBackend;
use experiment::{ConfigError, Experiment};
use runs::history::{EarlyStop, EpochRecord, History};
use runs::{RunDir, write_json};

use crate::checkpoints::AtomicCheckpointer;
use crate::classifier::MnistClassifier;
use crate::early_stopping::KerasEarlyStopping;
use crate::error::TrainingError;
use crate::logger::HistoryLogger;
use crate::stop::{Stop, Stopper};

/// What a training starts from: a new run, or one resumed after a checkpoint.
pub struct Start {
    /// The run's history so far (its run information, and the epochs up to
    /// the checkpoint).
    pub history: History,
    /// The training losses of the steps so far.
    pub step_losses: Vec<f64>,
    /// The epoch whose checkpoint training continues from.
    pub checkpoint: Option<usize>,
    /// Weights to start from instead of the initialisation (`--init-from`),
    /// one entry per layer; a checkpoint, when there is one, wins.
    pub weights: Option<Vec<LayerWeights>>,
}

/// How a training is shown: the library prints nothing, the caller decides.
pub struct Progress {
    /// Burn's renderer, given every metric as the Learner reports it.
    pub renderer: Box<dyn MetricsRenderer>,
    /// Each finished epoch, as `history.json` records it, once recorded.
    pub epochs: Sender<EpochRecord>,
}

/// A finished training.
pub struct Trained {
    /// The trained network.
    pub net: KerasNet,
    /// Why early stopping ended it before its last epoch, if it did (also
    /// in `history.json`).
    pub stopped_early: Option<EarlyStop>,
}

/// Trains `experiment` into `run` on `backend`, showing it through `progress`,
/// and returns the trained network.
pub fn fit(
    experiment: &Experiment,
    run: &RunDir,
    backend: &SelectedBackend,
    train: MnistDataset,
    test: MnistDataset,
    start: Start,
    progress: Progress,
) -> Result<Trained, TrainingError> {
    let settings = &experiment.file.training;
    let seed = experiment.file.seed;
    let device = backend.device.clone();
    let fast_kernels = experiment.file.kernels.on(&device) == Kernels::Fast;
    let model = MnistClassifier {
        net: experiment
            .net
            .init(seed, &device.clone().autodiff())
            .map_err(ConfigError::from)?
            .with_kernels(experiment.file.kernels),
    };
    let model = match &start.weights {
        Some(weights) => MnistClassifier {
            net: model.net.with_weights(weights).map_err(ConfigError::from)?,
        },
        None => model,
    };
    let optimizer = experiment.optimizer.optimizer(model.net.kernels());

    let batcher = MnistBatcher::new(experiment.file.data.scaling);
    let first_epoch = start.checkpoint.map_or(1, |epoch| epoch + 1) as u64;
    let train_loader = MnistLoader::shuffled(
        Arc::new(train),
        batcher,
        settings.batch_size,
        device.clone(),
        seed,
        first_epoch,
    );
    let valid_loader =
        MnistLoader::sequential(Arc::new(test), batcher, settings.eval_batch_size, device);

    let scheduler = experiment
        .schedule()
        .scheduler(
            experiment.learning_rate(),
            start.history.run.steps_per_epoch,
            settings.epochs,
        )
        .map_err(|reason| ConfigError::Invalid {
            key: "optimizer.schedule",
            value: experiment.schedule().name().into(),
            reason,
        })?;
    let interrupter = Interrupter::new();
    let stopper = Stopper::new(interrupter.clone());
    stop_on_ctrl_c(stopper.clone());
    let logger = HistoryLogger::new(
        run,
        start.history,
        start.step_losses,
        stopper.clone(),
        progress.epochs,
    );
    let [model_checkpoints, optim_checkpoints, scheduler_checkpoints] =
        AtomicCheckpointer::for_run(run);
    let mut training =
        SupervisedTraining::new(run.path(), Arc::new(train_loader), Arc::new(valid_loader))
            .metrics((AccuracyMetric::new(), LossMetric::new()))
            .metric_train_numeric(LearningRateMetric::new())
            .with_custom_checkpointers(model_checkpoints, optim_checkpoints, scheduler_checkpoints)
            // The last two epochs: enough to resume whatever is killed when.
            .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
            .num_epochs(settings.epochs)
            .with_interrupter(interrupter)
            .with_metric_logger(logger)
            // Burn's application log writes a line per step to experiment.log.
            .with_application_logger(None)
            .renderer(progress.renderer);
    if let Some(epoch) = start.checkpoint {
        training = training.checkpoint(epoch);
    }
    let early_stopping = settings.early_stopping.map(KerasEarlyStopping::new);
    if let Some(strategy) = &early_stopping {
        training = training.early_stopping(strategy.clone());
    }
    // The kernels' batches split over two cores (see `PoolAwake`) while the
    // Learner runs; other backends have threads of their own, which a helper
    // kept awake would only slow down.
    let awake = fast_kernels.then(kernels::PoolAwake::new);
    let result = training.launch(Learner::new(model, optimizer, scheduler));
    drop(awake);

    let done = History::load(&run.history()).map_or(0, |history| history.epochs.len());
    if let Some(reason) = stopper.reason() {
        let what = match reason {
            Stop::Diverged { .. } => format!(
                "the checkpoints of the {done} finished epoch(s) are kept in {}",
                run.file("checkpoint").display()
            ),
            _ => resume_hint(experiment, done),
        };
        return Err(TrainingError::Stopped { reason, what });
    }
    if let Some(error) = result.error {
        return Err(TrainingError::Failed(error.to_string()));
    }
    if let Some(stop) = early_stopping.and_then(|strategy| strategy.stopped()) {
        let mut history = History::load(&run.history())?;
        history.stopped_early = Some(stop.clone());
        write_json(&run.history(), &history)?;
        return Ok(Trained {
            net: result.model.net,
            stopped_early: Some(stop),
        });
    }
    if result.interrupted.is_some() || done < settings.epochs {
        return Err(TrainingError::Stopped {
            reason: Stop::Interrupted,
            what: resume_hint(experiment, done),
        });
    }
    Ok(Trained {
        net: result.model.net,
        stopped_early: None,
    })
}

/// How to continue an interrupted run.
fn resume_hint(experiment: &Experiment, done: usize) -> String {
    let name = &experiment.file.name;
    format!(
        "{done} of {} epochs trained; continue with `trainer train --resume{}`",
        experiment.file.training.epochs,
        if name == "notebook" {
            String::new()
        } else {
            format!(" --name {name}")
        }
    )
}

/// Ctrl-C asks the Learner to stop after the current step; the run can then
/// be resumed.
fn stop_on_ctrl_c(stopper: Stopper) {
    // One handler per process: a second training in the same process keeps
    // the first one's (trainings of one process share the interruption).
    let _ = ctrlc::set_handler(move || stopper.stop(Stop::Interrupted));
}
