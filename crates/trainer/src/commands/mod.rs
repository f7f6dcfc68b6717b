//! One module per subcommand, plus what they share: loading a split and
//! predicting it with a network.

pub mod eval;
pub mod info;
pub mod predict;
pub mod runs;
pub mod show;
pub mod train;

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use data::{DataSource, MnistBatcher, MnistDataset, PixelScaling, Split};
use model::KerasNet;

use crate::backend::SelectedBackend;
use crate::cli::RunArgs;
use crate::config::{Experiment, ExperimentFile};
use crate::runs::RunDir;

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
    /// Opens the run that `args` name (or the latest finished one under it)
    /// on its configured backend and device, or on those `args` give.
    pub fn open(args: &RunArgs) -> Result<Self> {
        let run = RunDir::open(&args.run)?;
        let mut file = ExperimentFile::load(&run.config())?;
        if let Some(backend) = args.backend {
            file.backend = backend;
        }
        if let Some(device) = args.device {
            file.device = device;
        }
        let experiment = file.validate()?;
        let backend = SelectedBackend::select(experiment.file.backend, experiment.file.device)?;
        let net = experiment
            .net
            .init(experiment.file.seed, &backend.device)
            .try_load_file(run.weights())
            .with_context(|| {
                format!(
                    "{}: cannot load these weights into the network of {}",
                    run.weights().display(),
                    run.config().display()
                )
            })?;
        Ok(Self {
            run,
            experiment,
            backend,
            net,
        })
    }

    /// The test split, from `data_dir` if given, else where the run trained.
    pub fn test_split(&self, data_dir: Option<&Path>) -> Result<MnistDataset> {
        let source = DataSource::resolve(data_dir.or(self.experiment.file.data.dir.as_deref()))?;
        load_split(&source, Split::Test, None)
    }

    /// Class probabilities of every item of `dataset`.
    pub fn predict(&self, dataset: &MnistDataset) -> Result<Vec<[f32; data::NUM_CLASSES]>> {
        predict_probabilities(
            &self.net,
            dataset,
            self.experiment.file.data.scaling,
            self.experiment.file.training.eval_batch_size,
            &self.backend.device,
        )
    }
}

/// Loads `split`, keeping its first `size` items if asked.
pub fn load_split(source: &DataSource, split: Split, size: Option<usize>) -> Result<MnistDataset> {
    let dataset = MnistDataset::load(source, split)?;
    let Some(size) = size else {
        return Ok(dataset);
    };
    if size > dataset.len() {
        let key = match split {
            Split::Train => "data.train_size",
            Split::Test => "data.test_size",
        };
        bail!(
            "config key `{key}` = {size}: larger than the {} items of {source}",
            dataset.len()
        );
    }
    Ok(dataset.truncate(size))
}

/// Class probabilities of every item of `dataset`, `batch_size` images at a time,
/// as rows of 10 in dataset order.
pub fn predict_probabilities(
    net: &KerasNet,
    dataset: &MnistDataset,
    scaling: PixelScaling,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<[f32; data::NUM_CLASSES]>> {
    let batcher = MnistBatcher::new(scaling);
    let mut rows = Vec::with_capacity(dataset.len());
    for start in (0..dataset.len()).step_by(batch_size) {
        let end = (start + batch_size).min(dataset.len());
        let images = batcher.images(dataset.images(start..end), device);
        let probabilities = net
            .probabilities(images)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("cannot read the predictions back: {err:?}"))?;
        rows.extend(
            probabilities
                .chunks_exact(data::NUM_CLASSES)
                .map(|row| <[f32; data::NUM_CLASSES]>::try_from(row).expect("rows of 10")),
        );
    }
    Ok(rows)
}

/// The notebook's last cells for the first rows: `model.predict(X_test[:n])`,
/// its argmax and `y_test[:n]`, numpy-style.
pub fn print_first_predictions(rows: &[[f32; data::NUM_CLASSES]], labels: &[u8]) {
    let shown = rows.len().min(labels.len());
    println!("predict(X_test[:{shown}]):");
    for row in &rows[..shown] {
        println!("  {}", probability_row(row));
    }
    println!(
        "predicted: {}",
        numpy_vector(rows[..shown].iter().map(|row| argmax(row)))
    );
    println!("labels:    {}", numpy_vector(&labels[..shown]));
}

/// Index of the largest probability.
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index)
}

/// `[7 2 1 0]`, numpy's way of printing an integer vector.
pub fn numpy_vector(values: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(" "))
}

/// One probability row as numpy prints it: `[1.23e-05 ... 9.99e-01]`.
pub fn probability_row(row: &[f32]) -> String {
    numpy_vector(row.iter().map(|&p| scientific(p)))
}

/// `1.23e-05`: two decimals, a signed two-digit exponent.
fn scientific(value: f32) -> String {
    let formatted = format!("{value:.2e}");
    match formatted.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.abs())
        }
        None => formatted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_picks_the_largest_probability() {
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[0.0, 0.0, 0.0, 1.0]), 3);
    }

    #[test]
    fn vectors_print_like_numpy() {
        assert_eq!(numpy_vector([7, 2, 1, 0]), "[7 2 1 0]");
        assert_eq!(
            probability_row(&[0.5, 1.0, 1.234e-5]),
            "[5.00e-01 1.00e+00 1.23e-05]"
        );
    }
}
