//! `trainer train`: the notebook's `model.fit`, through Burn's Learner.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use data::{DataSource, MnistBatcher, Split};

use crate::backend::SelectedBackend;
use crate::classifier::MnistClassifier;
use crate::cli::TrainArgs;
use crate::commands::{argmax, load_split, numpy_vector, predict_probabilities, probability_row};
use crate::config::{Experiment, ExperimentFile};
use crate::history::{History, RunInfo};
use crate::renderer::KerasLogRenderer;
use crate::runs::{RunDir, write_json};

/// How many test images the end of a training predicts, as the notebook does.
const SHOWN_PREDICTIONS: usize = 4;

/// Trains the experiment that `args` describe and writes its run directory.
pub fn run(args: &TrainArgs) -> Result<()> {
    let file = match &args.config {
        Some(path) => ExperimentFile::load(path)?,
        None => ExperimentFile::default(),
    };
    let experiment = args.apply(file).validate()?;
    let backend = SelectedBackend::select(experiment.file.backend)?;
    let source = DataSource::resolve(experiment.file.data.dir.as_deref())?;
    let train = load_split(&source, Split::Train, experiment.file.data.train_size)?;
    let test = load_split(&source, Split::Test, experiment.file.data.test_size)?;

    let artifacts = args.artifacts.as_deref().unwrap_or(Path::new("artifacts"));
    let run = RunDir::create(artifacts, &experiment.file.name)?;
    write_json(&run.config(), &experiment.file)?;

    let settings = &experiment.file.training;
    let steps_per_epoch = train.len().div_ceil(settings.batch_size);
    let info = RunInfo {
        experiment: experiment.file.name.clone(),
        backend: backend.backend.name().into(),
        device: backend.device_name(),
        seed: experiment.file.seed,
        started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        train_size: train.len(),
        test_size: test.len(),
        steps_per_epoch,
        epochs_planned: settings.epochs,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    println!(
        "burnist: experiment `{}` on {} ({}), seed {}",
        info.experiment, info.backend, info.device, info.seed
    );
    println!(
        "data: {source}, {} train / {} test images, pixels {}; run directory {}",
        train.len(),
        test.len(),
        experiment.file.data.scaling.name(),
        run.path().display()
    );

    let device = backend.device.clone();
    device.seed(experiment.file.seed);
    let model = MnistClassifier {
        net: experiment.net.init(&device.clone().autodiff()),
    };
    println!(
        "model: KerasNet, {} parameters; Adam lr {}, {} epochs of {steps_per_epoch} steps (batch {})",
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

    let epochs = Arc::new(Mutex::new(Vec::new()));
    let training = SupervisedTraining::new(run.path(), train_loader.build(train), valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_default_checkpointers()
        .num_epochs(settings.epochs)
        .renderer(Box::new(KerasLogRenderer::new(
            epochs.clone(),
            steps_per_epoch,
        )));
    let result = training.launch(Learner::new(
        model,
        experiment.adam.init(),
        experiment.learning_rate(),
    ));
    if let Some(error) = result.error {
        bail!("training failed: {error}");
    }
    let net = result.model.net;

    let history = History {
        run: info,
        epochs: epochs.lock().map(|e| e.clone()).unwrap_or_default(),
    };
    write_json(&run.history(), &history)?;
    // The weights come last: a run directory with model.bpk is a finished run.
    net.clone()
        .save_file(run.weights())
        .with_context(|| format!("{}: cannot save the weights", run.weights().display()))?;

    show_first_predictions(&experiment, &net, &test, &device)?;
    println!("saved: {}", run.path().display());
    Ok(())
}

/// The notebook's last cells: `model.predict(X_test[:4])`, its argmax, `y_test[:4]`.
fn show_first_predictions(
    experiment: &Experiment,
    net: &model::KerasNet,
    test: &data::MnistDataset,
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
    println!("predict(X_test[:{}]):", first.len());
    for row in &rows {
        println!("  {}", probability_row(row));
    }
    println!(
        "predicted: {}",
        numpy_vector(rows.iter().map(|row| argmax(row)))
    );
    println!("labels:    {}", numpy_vector(first.labels()));
    Ok(())
}
