//! A finished run reloaded, and predictions of its network: what `predict`,
//! `eval` and the end of a training share.

use std::path::Path;

use burn::prelude::*;
use data::{DataSource, MnistBatcher, MnistDataset, NUM_CLASSES, PixelScaling, Split};
use model::KerasNet;
use rayon::prelude::*;

use crate::error::InferenceError;
use backend::{BackendChoice, DeviceChoice, SelectedBackend};
use experiment::{ConfigError, Experiment, ExperimentFile};
use runs::RunDir;

/// One probability per class.
pub type Probabilities = [f32; NUM_CLASSES];

/// A finished run, reloaded: its config and its trained network on a device.
pub struct LoadedRun {
    /// The run directory.
    pub run: RunDir,
    /// Its experiment.
    pub experiment: Experiment,
    /// Where the network lives.
    pub backend: SelectedBackend,
    /// The trained network.
    pub net: KerasNet,
}

impl LoadedRun {
    /// Opens the run at `path` (or the latest finished one under it) on its
    /// configured backend and device, or on the `backend` and `device` given.
    pub fn open(
        path: &Path,
        backend: Option<BackendChoice>,
        device: Option<DeviceChoice>,
    ) -> Result<Self, InferenceError> {
        let run = RunDir::open(path)?;
        let mut file = ExperimentFile::load(&run.config())?;
        if let Some(backend) = backend {
            file.backend = backend;
        }
        if let Some(device) = device {
            file.device = device;
        }
        let experiment = file.validate()?;
        let backend = SelectedBackend::select(experiment.file.backend, experiment.file.device)?;
        crate::pack::check(&run.weights())?;
        let net = experiment
            .net
            .init(experiment.file.seed, &backend.device)
            .map_err(ConfigError::from)?
            .with_kernels(experiment.file.kernels)
            .try_load_file(run.weights())
            .map_err(|source| InferenceError::Weights {
                weights: run.weights(),
                config: run.config(),
                source,
            })?;
        Ok(Self {
            run,
            experiment,
            backend,
            net,
        })
    }

    /// The test split, from `data_dir` if given, else where the run trained.
    pub fn test_split(&self, data_dir: Option<&Path>) -> Result<MnistDataset, InferenceError> {
        let source = DataSource::resolve(data_dir.or(self.experiment.file.data.dir.as_deref()))?;
        load_split(&source, Split::Test, None)
    }

    /// Class probabilities of every item of `dataset`.
    pub fn predict(&self, dataset: &MnistDataset) -> Result<Vec<Probabilities>, InferenceError> {
        predict_probabilities(
            &self.net,
            dataset,
            self.experiment.file.data.scaling,
            self.experiment.file.training.eval_batch_size,
            &self.backend.device,
        )
    }

    /// The mean categorical cross-entropy over `dataset`: Keras's
    /// `evaluate` loss, computed as the training computes `val_loss`.
    pub fn loss(&self, dataset: &MnistDataset) -> f64 {
        mean_loss(
            &self.net,
            dataset,
            self.experiment.file.data.scaling,
            self.experiment.file.training.eval_batch_size,
            &self.backend.device,
        )
    }
}

/// The mean categorical cross-entropy of `net` over `dataset`, `batch_size`
/// images at a time, as the training computes `val_loss`.
pub fn mean_loss(
    net: &KerasNet,
    dataset: &MnistDataset,
    scaling: PixelScaling,
    batch_size: usize,
    device: &Device,
) -> f64 {
    let batcher = MnistBatcher::new(scaling);
    let batch_size = batch_size.max(1);
    let mut total = 0.0;
    for start in (0..dataset.len()).step_by(batch_size) {
        let end = (start + batch_size).min(dataset.len());
        let images = batcher.images(dataset.images(start..end), device);
        let labels: Vec<i64> = dataset.labels()[start..end]
            .iter()
            .map(|&l| l.into())
            .collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [end - start]), device);
        let loss = net.loss(net.forward(images), targets);
        total += loss.into_scalar::<f64>() * (end - start) as f64;
    }
    total / dataset.len().max(1) as f64
}

/// Loads `split`, keeping its first `size` items if asked.
pub fn load_split(
    source: &DataSource,
    split: Split,
    size: Option<usize>,
) -> Result<MnistDataset, InferenceError> {
    let dataset = MnistDataset::load(source, split)?;
    let Some(size) = size else {
        return Ok(dataset);
    };
    if size > dataset.len() {
        let key = match split {
            Split::Train => "data.train_size",
            Split::Test => "data.test_size",
        };
        return Err(ConfigError::Invalid {
            key,
            value: size.to_string(),
            reason: format!("larger than the {} items of {source}", dataset.len()),
        }
        .into());
    }
    Ok(dataset.truncate(size))
}

/// Class probabilities of every item of `dataset`, `batch_size` images at a
/// time, as rows of 10 in dataset order.
///
/// Batches run in parallel: inside one batch, the pixel scaling, the dense
/// layer and the softmax are serial, so one batch at a time left a core idle
/// for a third of `trainer predict`.
pub fn predict_probabilities(
    net: &KerasNet,
    dataset: &MnistDataset,
    scaling: PixelScaling,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<Probabilities>, InferenceError> {
    let batcher = MnistBatcher::new(scaling);
    let batch_size = batch_size.max(1);
    let batches = (0..dataset.len())
        .step_by(batch_size)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let end = (start + batch_size).min(dataset.len());
            let images = batcher.images(dataset.images(start..end), device);
            net.probabilities(images)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|err| InferenceError::Readback(format!("{err:?}")))
        })
        .collect::<Result<Vec<_>, InferenceError>>()?;
    Ok(batches
        .iter()
        .flat_map(|batch| batch.chunks_exact(NUM_CLASSES))
        .filter_map(|row| Probabilities::try_from(row).ok())
        .collect())
}

/// Index of the largest probability.
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_picks_the_largest_probability() {
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[0.0, 0.0, 0.0, 1.0]), 3);
    }
}
