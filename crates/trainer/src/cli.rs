//! The command line: clap's derive types, and [`command`], the same with
//! help texts completed from the experiment defaults and this build's
//! backends (so they cannot drift from either).

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use data::PixelScaling;
use model::Kernels;

use backend::{BackendChoice, DeviceChoice};
use experiment::{Assignment, ConfigError, ExperimentFile};
use training::resume::ResumeRequest;

/// The Keras MNIST notebook, trained in Rust on Burn.
///
/// With no command, `trainer` trains the notebook's experiment exactly as
/// `trainer train` does, and takes its options (`trainer --epochs 1`).
#[derive(Debug, Parser)]
#[command(
    name = "trainer",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: `train`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The options of `train`, for `trainer` without a command.
    #[command(flatten)]
    pub train: TrainArgs,
}

impl Cli {
    /// The subcommand to run: `train` with the top-level options when none
    /// is named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Train(self.train))
    }

    /// Parses the process's arguments against [`command`]. An empty
    /// [`BACKEND_ENV`] counts as unset, as an empty variable does for most
    /// tools (clap would read it as an empty `--backend` and refuse every
    /// command).
    pub fn try_parse_env() -> Result<Self, clap::Error> {
        let mut command = command();
        if std::env::var_os(BACKEND_ENV).is_some_and(|value| value.is_empty()) {
            command = without_backend_env(command);
        }
        Self::from_arg_matches(&command.try_get_matches()?)
    }
}

/// `command` and its subcommands with `--backend` not read from [`BACKEND_ENV`].
fn without_backend_env(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            if arg.get_env().is_some_and(|name| name == BACKEND_ENV) {
                arg.env(None::<&str>)
            } else {
                arg
            }
        })
        .mut_subcommands(without_backend_env)
}

/// The environment variable that stands for `--backend` (train, predict, eval).
pub const BACKEND_ENV: &str = "BURNIST_BACKEND";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an experiment (default: the notebook) and write its run directory.
    Train(TrainArgs),
    /// Predict the test split, or your own digit pictures (--image), with a trained run.
    Predict(PredictArgs),
    /// Show the notebook's data cells: shapes, the first label, its one-hot row.
    Info(InfoArgs),
    /// Draw MNIST samples as a PNG (the notebook's `plt.imshow(X_train[0])`).
    Show(ShowArgs),
    /// Test loss and accuracy, per-class precision and recall, and the confusion matrix of a run.
    Eval(EvalArgs),
    /// List the runs under an artifacts directory with their final accuracy.
    Runs(RunsArgs),
    /// Train every combination of values (`--set KEY=V1,V2`), then summarise and compare them.
    Sweep(SweepArgs),
    /// Compare runs: the settings that differ, final metrics, validation curves in one picture.
    Compare(CompareArgs),
    /// Serve a web page: browse runs, watch a training live, draw a digit for a run to read.
    Serve(ServeArgs),
    /// Write a run's model for other runtimes: ONNX, or the weights of its PyTorch twin as safetensors.
    Export(ExportArgs),
    /// Make a finished run of an ONNX model (burnist's export, PyTorch's of an nn.Sequential).
    Import(ImportArgs),
}

/// The clap command of [`Cli`], its help completed: each override of `train`
/// names its config key and the default (from [`ExperimentFile::default`]),
/// and `--backend` says which backends this build holds.
pub fn command() -> clap::Command {
    let cli = document_train(Cli::command()).mut_subcommand("train", document_train);
    ["predict", "eval"].into_iter().fold(cli, |cli, name| {
        cli.mut_subcommand(name, |run| run.mut_arg("backend", document_backend))
    })
}

/// One flag of `train` that overrides the experiment: its argument, the
/// config key it sets (which its help names, with the default), whether
/// `--resume` takes it, and how it sets the key. The one list of these flags:
/// [`TrainArgs::apply`], [`TrainArgs::resume_request`] and the help read it.
struct Override {
    id: &'static str,
    key: &'static str,
    /// What the help says the default is when the key is unset by default.
    unset: &'static str,
    resumable: bool,
    /// Sets the key from the flag if it was given; says whether it was.
    apply: fn(&TrainArgs, &mut ExperimentFile) -> bool,
}

/// Copies `value` into `target` when the flag was given.
fn set<T: Clone>(target: &mut T, value: &Option<T>) -> bool {
    if let Some(value) = value {
        *target = value.clone();
    }
    value.is_some()
}

const OVERRIDES: [Override; 13] = [
    Override {
        id: "name",
        key: "name",
        unset: "",
        resumable: true,
        apply: |args, file| set(&mut file.name, &args.name),
    },
    Override {
        id: "seed",
        key: "seed",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.seed, &args.seed),
    },
    Override {
        id: "backend",
        key: "backend",
        unset: "",
        resumable: true,
        apply: |args, file| set(&mut file.backend, &args.backend),
    },
    Override {
        id: "device",
        key: "device",
        unset: "",
        resumable: true,
        apply: |args, file| set(&mut file.device, &args.device),
    },
    Override {
        id: "kernels",
        key: "kernels",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.kernels, &args.kernels),
    },
    Override {
        id: "epochs",
        key: "training.epochs",
        unset: "",
        resumable: true,
        apply: |args, file| set(&mut file.training.epochs, &args.epochs),
    },
    Override {
        id: "batch_size",
        key: "training.batch_size",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.training.batch_size, &args.batch_size),
    },
    Override {
        id: "learning_rate",
        key: "optimizer.learning_rate",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.optimizer.learning_rate, &args.learning_rate),
    },
    Override {
        id: "scaling",
        key: "data.scaling",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.data.scaling, &args.scaling),
    },
    Override {
        id: "train_size",
        key: "data.train_size",
        unset: "all",
        resumable: false,
        apply: |args, file| set(&mut file.data.train_size, &args.train_size.map(Some)),
    },
    Override {
        id: "test_size",
        key: "data.test_size",
        unset: "all",
        resumable: false,
        apply: |args, file| set(&mut file.data.test_size, &args.test_size.map(Some)),
    },
    Override {
        id: "init_from",
        key: "model.init_from",
        unset: "none",
        resumable: false,
        apply: |args, file| set(&mut file.model.init_from, &args.init_from.clone().map(Some)),
    },
    Override {
        id: "data_dir",
        key: "data.dir",
        unset: "",
        resumable: false,
        apply: |args, file| set(&mut file.data.dir, &args.data.data_dir.clone().map(Some)),
    },
];

/// The flag as typed: `batch_size` is `--batch-size`.
fn flag(id: &str) -> String {
    format!("--{}", id.replace('_', "-"))
}

fn document_train(command: clap::Command) -> clap::Command {
    let defaults = serde_json::to_value(ExperimentFile::default()).unwrap_or_default();
    OVERRIDES
        .iter()
        // `--data-dir` is documented where it is declared, with `info`'s and `show`'s.
        .filter(|flag| flag.id != "data_dir")
        .fold(command, |command, &Override { id, key, unset, .. }| {
            let default = key
                .split('.')
                .try_fold(&defaults, |value, part| value.get(part))
                .map_or_else(
                    || unset.to_owned(),
                    |value| match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    },
                );
            command.mut_arg(id, |arg| {
                let meaning = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{meaning} [config: {key}; default: {default}]"))
            })
        })
        .mut_arg("backend", document_backend)
}

/// `--backend`'s values: clap checks and lists the names, the backend crate
/// parses them.
fn backend_names() -> impl TypedValueParser<Value = BackendChoice> {
    PossibleValuesParser::new(BackendChoice::ALL.map(BackendChoice::name))
        .try_map(|name| name.parse::<BackendChoice>())
}

fn document_backend(arg: clap::Arg) -> clap::Arg {
    let compiled: Vec<&str> = BackendChoice::compiled()
        .into_iter()
        .map(BackendChoice::name)
        .collect();
    let meaning = arg.get_help().map(ToString::to_string).unwrap_or_default();
    arg.hide_possible_values(true).help(format!(
        "{meaning}. This build holds: auto, {}; the others need their cargo feature",
        compiled.join(", ")
    ))
}

/// Where the MNIST files are.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Directory holding the four MNIST IDX files, gzipped or not
    /// [default: $BURNIST_DATA, else the bundled copy].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `trainer info`.
#[derive(Debug, Clone, Default, Args)]
pub struct InfoArgs {
    /// Experiment file (TOML): also print its network as Keras's `model.summary()`
    /// (layers, output shapes, parameters).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}

/// `trainer train`.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// Experiment file (TOML) [default: the notebook, as configs/notebook.toml].
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory under which run directories are created [default: artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Experiment name: runs go to <artifacts>/<name>/run-NNN
    #[arg(long)]
    pub name: Option<String>,
    /// Seed of the initial weights and of the shuffling
    #[arg(short, long)]
    pub seed: Option<u64>,
    /// Backend: auto takes the first of cuda, wgpu, tch, flex, ndarray whose device opens
    #[arg(short, long, value_parser = backend_names(), env = BACKEND_ENV)]
    pub backend: Option<BackendChoice>,
    /// Device: auto, cpu, gpu:N (wgpu) or cuda:N (tch, cuda)
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// fast: burnist's CPU kernels on flex and ndarray; stock: Burn's own operations, for comparison
    #[arg(long)]
    pub kernels: Option<Kernels>,
    /// Passes over the training set
    #[arg(short, long)]
    pub epochs: Option<usize>,
    /// Training images per step
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam's learning rate
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Pixels as the network sees them: raw 0..255 (the notebook's), unit x/255, standard (x/255 - 0.1307)/0.3081
    #[arg(long)]
    pub scaling: Option<PixelScaling>,
    /// Train on the first N training images only
    #[arg(long, value_name = "N")]
    pub train_size: Option<usize>,
    /// Validate on the first N test images only
    #[arg(long, value_name = "N")]
    pub test_size: Option<usize>,
    /// Start from the weights of this finished run (or the latest of this experiment directory)
    /// instead of the initialisation: fine-tuning, an imported model's too
    #[arg(long, value_name = "RUN")]
    pub init_from: Option<PathBuf>,
    /// Set any key of the experiment file, e.g. `--set optimizer.learning_rate=1e-4`
    /// (repeatable; TOML values, bare words are strings; the flags above win).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Assignment>,
    /// Continue the latest unfinished run of the experiment from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}

impl TrainArgs {
    /// Applies the command-line overrides to an experiment file: the
    /// `--set`s in order, then the flags.
    pub fn apply(&self, file: ExperimentFile) -> Result<ExperimentFile, ConfigError> {
        let mut file = file.set(&self.set)?;
        for flag in &OVERRIDES {
            (flag.apply)(self, &mut file);
        }
        Ok(file)
    }

    /// What `--resume` takes from these flags: the backend, the device and
    /// the epochs, and the first flag given that it refuses (one that would
    /// make the resumed run another run).
    pub fn resume_request(&self) -> ResumeRequest {
        let refused = OVERRIDES
            .iter()
            .filter(|flag| !flag.resumable)
            .find(|flag| (flag.apply)(self, &mut ExperimentFile::default()))
            .map(|over| flag(over.id));
        ResumeRequest {
            refused: (!self.set.is_empty())
                .then(|| "--set".to_owned())
                .or(refused),
            backend: self.backend,
            device: self.device,
            epochs: self.epochs,
        }
    }
}

/// `trainer predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// How many probability rows of the test split to print.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 4)]
    pub first: usize,
    /// Predict these image files (PNG or JPEG, any size, colour or grey; a
    /// directory: every image in it) instead of the test split.
    #[arg(short, long, value_name = "FILE", num_args = 1..)]
    pub image: Vec<PathBuf>,
    /// One JSON object per line and nothing else: with --image `{"file", "digit",
    /// "probabilities"}`, else the first N test images `{"index", "label", "digit", "probabilities"}`.
    #[arg(long, conflicts_with = "repeat")]
    pub json: bool,
    /// Predict the test split this many times and also report the median
    /// speed of the passes after the first (warm: threads started, memory
    /// mapped), as the Keras and PyTorch reference scripts do.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100), conflicts_with = "image")]
    pub repeat: u32,
}

/// A finished run to reload, and where to run it.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A run directory, or an experiment directory (its latest finished run).
    #[arg(short, long, value_name = "DIR")]
    pub run: PathBuf,
    /// Backend to run on [default: the one in the run's config]
    #[arg(short, long, value_parser = backend_names(), env = BACKEND_ENV)]
    pub backend: Option<BackendChoice>,
    /// Device to run on: auto, cpu, gpu:N or cuda:N [default: the run's config].
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}

/// `trainer show`.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Which split to draw from.
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    pub split: SplitArg,
    /// Index of the (first) sample.
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Draw a grid of ROWSxCOLS samples from --index on, e.g. `4x8`.
    #[arg(long, value_name = "ROWSxCOLS", value_parser = parse_grid)]
    pub grid: Option<(usize, usize)>,
    /// Output PNG [default: a name holding the split, index and label].
    #[arg(short, long, visible_alias = "out", value_name = "FILE.png")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
}

/// A split, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// The 60,000 training digits.
    Train,
    /// The 10,000 test digits.
    Test,
}

impl From<SplitArg> for data::Split {
    fn from(split: SplitArg) -> Self {
        match split {
            SplitArg::Train => Self::Train,
            SplitArg::Test => Self::Test,
        }
    }
}

fn parse_grid(text: &str) -> Result<(usize, usize), String> {
    let (rows, cols) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}` is not ROWSxCOLS, e.g. 4x8"))?;
    let parse = |n: &str| {
        n.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=100).contains(&n))
    };
    match (parse(rows), parse(cols)) {
        (Some(rows), Some(cols)) => Ok((rows, cols)),
        _ => Err(format!("`{text}`: rows and columns must be 1..100")),
    }
}

/// `trainer eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
}

/// `trainer runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// The artifacts directory.
    #[arg(long, value_name = "DIR", default_value = runs::DEFAULT_ARTIFACTS)]
    pub artifacts: PathBuf,
}

/// `trainer sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Experiment file (TOML) every point starts from [default: the notebook].
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A key and the values to try, comma-separated (repeatable: the grid of every combination).
    #[arg(long = "set", value_name = "KEY=V1,V2,...", required = true)]
    pub set: Vec<Assignment>,
    /// Directory under which run and sweep directories are created [default: artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Print one `trainer train` command per point instead of training (for a job scheduler).
    #[arg(long)]
    pub dry_run: bool,
}

/// `trainer compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Runs, experiments (each of their runs) or sweeps (the runs of their summary.csv).
    #[arg(required = true, value_name = "RUN_OR_EXPERIMENT")]
    pub runs: Vec<PathBuf>,
    /// The picture of their validation curves.
    #[arg(short, long, value_name = "FILE", default_value = crate::sweep::PICTURE_FILE)]
    pub output: PathBuf,
}

/// `trainer export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A run directory, or an experiment directory (its latest finished run).
    #[arg(short, long, value_name = "DIR")]
    pub run: PathBuf,
    /// onnx: the network from raw pixels to probabilities (opset 17); safetensors: the weights as
    /// the state dict of the network's PyTorch `nn.Sequential` twin.
    #[arg(long, value_enum, default_value_t = ExportFormat::Onnx)]
    pub format: ExportFormat,
    /// The file to write [default: model.onnx or model.safetensors in the run directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `trainer import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The ONNX model.
    #[arg(value_name = "FILE.onnx")]
    pub file: PathBuf,
    /// Experiment name: the run goes to <artifacts>/<name>/run-NNN [default: the exported run's
    /// experiment, else the file's name]
    #[arg(long)]
    pub name: Option<String>,
    /// Pixels as the model expects them, when its graph does not start by scaling them (burnist's
    /// exports do) [default: raw]
    #[arg(long)]
    pub scaling: Option<PixelScaling>,
    /// Directory under which run directories are created [default: artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

/// What `trainer export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// An ONNX model.
    Onnx,
    /// A safetensors file of PyTorch-named weights.
    Safetensors,
}

/// `trainer serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The artifacts directory whose runs are served (read only).
    #[arg(long, value_name = "DIR", default_value = runs::DEFAULT_ARTIFACTS)]
    pub artifacts: PathBuf,
    /// Address to listen on; anything but loopback makes the runs readable by others.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_parse() {
        assert_eq!(parse_grid("4x8"), Ok((4, 8)));
        assert_eq!(parse_grid("2X3"), Ok((2, 3)));
        assert!(parse_grid("4*8").is_err());
        assert!(parse_grid("0x8").is_err());
    }

    /// Each override flag, given a value, sets its config key to it, and
    /// `--resume` takes only the name, backend, device and epochs.
    #[test]
    fn every_override_sets_its_key() {
        let samples = [
            ("name", "x"),
            ("seed", "7"),
            ("backend", "ndarray"),
            ("device", "cpu"),
            ("kernels", "stock"),
            ("epochs", "7"),
            ("batch_size", "7"),
            ("learning_rate", "0.5"),
            ("scaling", "unit"),
            ("train_size", "7"),
            ("test_size", "7"),
            ("init_from", "/r"),
            ("data_dir", "/d"),
        ];
        assert_eq!(samples.len(), OVERRIDES.len());
        for (over, (id, value)) in OVERRIDES.iter().zip(samples) {
            assert_eq!(over.id, id);
            let cli = Cli::try_parse_from(["trainer", "train", &flag(id), value]).unwrap();
            let Command::Train(args) = cli.into_command() else {
                panic!("not train");
            };
            let file = args.apply(ExperimentFile::default()).unwrap();
            let json = serde_json::to_value(&file).unwrap();
            let set = over
                .key
                .split('.')
                .try_fold(&json, |value, part| value.get(part))
                .unwrap_or_else(|| panic!("{id}: no key {}", over.key));
            let set = set.as_str().map_or_else(|| set.to_string(), str::to_owned);
            assert_eq!(set, value, "{id} sets {}", over.key);
            let refused = args.resume_request().refused;
            let resumable = ["name", "backend", "device", "epochs"].contains(&id);
            assert_eq!(refused.is_none(), resumable, "{id}: {refused:?}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
