//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use data::PixelScaling;

use crate::backend::BackendChoice;
use crate::config::ExperimentFile;

/// The Keras MNIST notebook, trained in Rust on Burn. With no command, trains
/// the notebook's experiment.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about)]
pub struct Cli {
    /// What to do (default: `train` with the notebook's experiment).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an experiment and write its run directory.
    Train(TrainArgs),
    /// Reload a run's weights and predict the test split.
    Predict(PredictArgs),
    /// Show the notebook's data cells: shapes, the first label, its one-hot row.
    Info(DataArgs),
}

/// Where the MNIST files are.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Directory holding the four MNIST IDX files, gzipped or not
    /// [default: $BURNIST_DATA, else the bundled copy].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `trainer train`.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// Experiment file (TOML) [default: the notebook, as configs/notebook.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory under which run directories are created [default: artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Override `name`.
    #[arg(long)]
    pub name: Option<String>,
    /// Override `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override `backend`.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Override `training.epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override `training.batch_size`.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override `optimizer.learning_rate`.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Override `data.scaling`: raw, unit or standard.
    #[arg(long)]
    pub scaling: Option<PixelScaling>,
    /// Override `data.train_size`.
    #[arg(long)]
    pub train_size: Option<usize>,
    /// Override `data.test_size`.
    #[arg(long)]
    pub test_size: Option<usize>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}

impl TrainArgs {
    /// Applies the command-line overrides to an experiment file.
    pub fn apply(&self, mut file: ExperimentFile) -> ExperimentFile {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        set(&mut file.name, &self.name);
        set(&mut file.seed, &self.seed);
        set(&mut file.backend, &self.backend);
        set(&mut file.training.epochs, &self.epochs);
        set(&mut file.training.batch_size, &self.batch_size);
        set(&mut file.optimizer.learning_rate, &self.learning_rate);
        set(&mut file.data.scaling, &self.scaling);
        if self.train_size.is_some() {
            file.data.train_size = self.train_size;
        }
        if self.test_size.is_some() {
            file.data.test_size = self.test_size;
        }
        if self.data.data_dir.is_some() {
            file.data.dir.clone_from(&self.data.data_dir);
        }
        file
    }
}

/// `trainer predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A run directory, or an experiment directory (its latest finished run).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// How many probability rows to print.
    #[arg(long, default_value_t = 4)]
    pub first: usize,
    /// Backend to predict on [default: the one in the run's config].
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}
