//! What surrounds `fit` in a training: the data loaded and split as Keras
//! splits it, the history a new run starts with, the test set evaluated
//! after a validation split, and the final weights written.

use backend::SelectedBackend;
use burn::module::Module;
use data::{DataSource, MnistDataset, Split};
use experiment::{ConfigError, Experiment};
use inference::{ConfusionMatrix, argmax, load_split, mean_loss, predict_probabilities};
use model::KerasNet;
use runs::history::{History, RunInfo};
use runs::{RunDir, write_atomic, write_json};

use crate::error::TrainingError;
use crate::resume;

/// An experiment ready to train, new or resumed: its backend chosen and its
/// data loaded and split.
pub struct Prepared {
    /// The checked experiment.
    pub experiment: Experiment,
    /// Where it trains.
    pub backend: SelectedBackend,
    /// Where the MNIST files came from.
    pub source: DataSource,
    /// What it trains on.
    pub train: MnistDataset,
    /// What validates each epoch: the test set, or the held-out part of
    /// the training set.
    pub valid: MnistDataset,
    /// The test set, when a validation split keeps it for the end.
    pub test: Option<MnistDataset>,
}

impl Prepared {
    /// Loads `experiment`'s data for a training on `backend`.
    pub fn new(experiment: Experiment, backend: SelectedBackend) -> Result<Self, TrainingError> {
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
                    return Err(ConfigError::Invalid {
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
    pub fn fresh_history(&self) -> History {
        let settings = &self.experiment.file;
        let train_size = self.train.len();
        History {
            run: RunInfo {
                experiment: settings.name.clone(),
                backend: self.backend.backend.name().into(),
                device: self.backend.device_name().into(),
                kernels: settings.kernels.on(&self.backend.device).name().into(),
                seed: settings.seed,
                started: resume::now(),
                train_size,
                test_size: self.valid.len(),
                steps_per_epoch: train_size.div_ceil(settings.training.batch_size),
                epochs_planned: settings.training.epochs,
                version: env!("CARGO_PKG_VERSION").into(),
                resumes: Vec::new(),
                imported: None,
            },
            epochs: Vec::new(),
            test_loss: None,
            test_accuracy: None,
            stopped_early: None,
        }
    }
}

/// Keras's `model.evaluate(X_test, y_test)` after a validation split: the
/// test set's loss and accuracy (0..1), also written into `history.json`.
pub fn evaluate_test(
    run: &RunDir,
    experiment: &Experiment,
    net: &KerasNet,
    test: &MnistDataset,
    backend: &SelectedBackend,
) -> Result<(f64, f64), TrainingError> {
    let settings = &experiment.file;
    let scaling = settings.data.scaling;
    let batch = settings.training.eval_batch_size;
    let loss = mean_loss(net, test, scaling, batch, &backend.device);
    let rows = predict_probabilities(net, test, scaling, batch, &backend.device)?;
    let predicted: Vec<usize> = rows.iter().map(|row| argmax(row)).collect();
    let accuracy = ConfusionMatrix::new(test.labels(), &predicted).accuracy();
    let mut history = History::load(&run.history())?;
    history.test_loss = Some(loss);
    history.test_accuracy = Some(accuracy);
    write_json(&run.history(), &history)?;
    Ok((loss, accuracy))
}

/// Writes the final weights, last: a run directory holding `model.bpk` is a
/// finished run, so they go through a temporary file like every artifact (a
/// run killed while they are written must not look finished).
pub fn save_weights(run: &RunDir, net: &KerasNet) -> Result<(), TrainingError> {
    let weights = net.clone().into_record().into_bytes().map_err(|source| {
        TrainingError::WeightsNotSaved {
            weights: run.weights(),
            source,
        }
    })?;
    write_atomic(&run.weights(), &weights)?;
    Ok(())
}
