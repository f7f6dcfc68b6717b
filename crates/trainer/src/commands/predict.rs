//! `trainer predict`: reload a run and predict the test split.

use anyhow::{Context, Result};
use burn::module::Module;
use data::{DataSource, Split};

use crate::backend::SelectedBackend;
use crate::cli::PredictArgs;
use crate::commands::{argmax, load_split, numpy_vector, predict_probabilities, probability_row};
use crate::config::ExperimentFile;
use crate::runs::RunDir;

/// Reloads the run's config and weights, predicts every test image, prints the
/// first rows and the accuracy.
pub fn run(args: &PredictArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let mut file = ExperimentFile::load(&run.config())?;
    if let Some(backend) = args.backend {
        file.backend = backend;
    }
    let experiment = file.validate()?;
    let backend = SelectedBackend::select(experiment.file.backend)?;
    let net = experiment
        .net
        .init(&backend.device)
        .try_load_file(run.weights())
        .with_context(|| {
            format!(
                "{}: cannot load weights for the configured network",
                run.weights().display()
            )
        })?;

    let data_dir = args
        .data
        .data_dir
        .as_deref()
        .or(experiment.file.data.dir.as_deref());
    let source = DataSource::resolve(data_dir)?;
    let test = load_split(&source, Split::Test, None)?;
    let rows = predict_probabilities(
        &net,
        &test,
        experiment.file.data.scaling,
        experiment.file.training.eval_batch_size,
        &backend.device,
    )?;

    let shown = args.first.min(rows.len());
    println!(
        "run {} on {} ({})",
        run.path().display(),
        backend.backend.name(),
        backend.device_name()
    );
    println!("predict(X_test[:{shown}]):");
    for row in &rows[..shown] {
        println!("  {}", probability_row(row));
    }
    let predicted: Vec<usize> = rows.iter().map(|row| argmax(row)).collect();
    println!("predicted: {}", numpy_vector(&predicted[..shown]));
    println!("labels:    {}", numpy_vector(&test.labels()[..shown]));
    let correct = predicted
        .iter()
        .zip(test.labels())
        .filter(|&(&p, &label)| p == usize::from(label))
        .count();
    println!(
        "accuracy: {:.4} ({correct}/{} test images)",
        correct as f64 / test.len() as f64,
        test.len()
    );
    Ok(())
}
