//! Experiment files: what users write (TOML, every key optional, unknown keys
//! refused), and the checked [`Experiment`] the rest of the program runs on.

use std::path::{Path, PathBuf};

use data::PixelScaling;
use model::{
    KerasAdam, KerasNetConfig, KerasOptimizer, Kernels, LayerConfig, LayerError, SummaryRow,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::EarlyStoppingSection;
use crate::Schedule;
use backend::{BackendChoice, DeviceChoice};

/// Why an experiment file or override is unusable. Each names the file or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file far larger than any experiment (`/dev/zero`, a data file).
    #[error("{path}: larger than the {} KiB an experiment file may hold", MAX_CONFIG_BYTES / 1024)]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML for an experiment (syntax, type, unknown key).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, on one line.
        message: String,
    },
    /// A `--set KEY=VALUE` that names no key or gives it a value of the wrong type.
    #[error("--set {assignment}: {message}")]
    Set {
        /// The assignment as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// A layer of `[[model.layers]]` that does not fit the network.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A value is out of its range.
    #[error("config key `{key}` = {value}: {reason}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// The offending value.
        value: String,
        /// What it must be.
        reason: String,
    },
}

/// An experiment as written in `configs/*.toml`. Every key has the default of
/// the notebook; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "an experiment file (a TOML table)"
)]
pub struct ExperimentFile {
    /// Name of the experiment; its runs go to `<artifacts>/<name>/`. Default `notebook`.
    pub name: String,
    /// Seed of the weight initialisation and the shuffling. Default 42.
    pub seed: u64,
    /// Backend: `auto` (default: the first compiled in of cuda, wgpu, tch,
    /// flex, ndarray), or one of the compiled-in backends by name.
    pub backend: BackendChoice,
    /// Device: `auto` (default: the backend's GPU if it has one, else the
    /// CPU), `cpu`, `gpu:N` (wgpu) or `cuda:N` (tch, cuda).
    pub device: DeviceChoice,
    /// `fast` (default: burnist's kernels where they serve the backend) or
    /// `stock` (Burn's own operations everywhere).
    pub kernels: Kernels,
    /// Input data.
    pub data: DataSection,
    /// Network shape.
    pub model: ModelSection,
    /// Training loop.
    pub training: TrainingSection,
    /// Adam's settings.
    pub optimizer: OptimizerSection,
}

/// `[data]`: where MNIST comes from and how pixels are scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a [data] table")]
pub struct DataSection {
    /// Directory with the four IDX files. Default: `$BURNIST_DATA`, else the bundled copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `raw` (0..255, default, the notebook), `unit` (x/255) or `standard`.
    pub scaling: PixelScaling,
    /// Train on the first N training images only. Default: all 60,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    /// Validate on the first N test images only. Default: all 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_size: Option<usize>,
    /// Hold out this fraction of the training set (its last items) as
    /// validation, as Keras's `validation_split`; the test set is then
    /// evaluated once, at the end. Default: none (the test set validates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_split: Option<f64>,
}

/// `[model]`: the network, Keras's `Sequential` as a list of
/// `[[model.layers]]`. Default: the notebook's four layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a [model] table")]
pub struct ModelSection {
    /// The layers, first to last (see [`LayerConfig`] for the keys).
    #[serde(deserialize_with = "layers_by_index")]
    pub layers: Vec<LayerConfig>,
    /// A finished run whose weights the training starts from instead of
    /// the initialisation (fine-tuning; an imported run's too). Its layers
    /// must have the same shapes. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
}

/// Reads the layers one by one, so that an unknown `type` or key names the
/// layer's index.
fn layers_by_index<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<LayerConfig>, D::Error> {
    Vec::<toml::Value>::deserialize(deserializer)?
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            value.try_into().map_err(|err: toml::de::Error| {
                serde::de::Error::custom(format!("model.layers[{index}]: {}", err.message()))
            })
        })
        .collect()
}

/// `[training]`: the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a [training] table")]
pub struct TrainingSection {
    /// Epochs. Default 3.
    pub epochs: usize,
    /// Training batch size. Default 32 (Keras's).
    pub batch_size: usize,
    /// Batch size of validation and prediction (does not change the results). Default 500.
    pub eval_batch_size: usize,
    /// `[training.early_stopping]`: stop when the validation stops improving. Default: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStoppingSection>,
}

/// Which of Keras's optimisers trains the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "an optimizer name")]
pub enum OptimizerName {
    /// `Adam()`, the notebook's.
    #[default]
    Adam,
    /// `AdamW()`: Adam with decoupled weight decay.
    Adamw,
    /// `SGD()`, with momentum and Nesterov optional.
    Sgd,
    /// `RMSprop()`.
    Rmsprop,
}

impl OptimizerName {
    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Adam => "adam",
            Self::Adamw => "adamw",
            Self::Sgd => "sgd",
            Self::Rmsprop => "rmsprop",
        }
    }
}

/// `[optimizer]`: one of Keras's optimisers with Keras's defaults (Burn's
/// own epsilon is 1e-5); each key is read by the optimisers it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "an [optimizer] table")]
pub struct OptimizerSection {
    /// `adam`, `adamw`, `sgd` or `rmsprop`. Default `adam`.
    pub name: OptimizerName,
    /// Learning rate, of every optimiser. Default 1e-3 (Keras's, but for SGD: 1e-2).
    pub learning_rate: f64,
    /// Adam and AdamW: first-moment decay. Default 0.9.
    pub beta1: f64,
    /// Adam and AdamW: second-moment decay. Default 0.999.
    pub beta2: f64,
    /// Adam, AdamW and RMSprop: numerical stabiliser. Default 1e-7.
    pub epsilon: f64,
    /// AdamW: decoupled weight decay. Default 0.004.
    pub weight_decay: f64,
    /// SGD and RMSprop: momentum. Default 0.
    pub momentum: f64,
    /// SGD: Nesterov momentum. Default false.
    pub nesterov: bool,
    /// RMSprop: decay of the squared gradients' average. Default 0.9.
    pub rho: f64,
    /// `[optimizer.schedule]`: the learning rate over the epochs. Default: constant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl Default for ExperimentFile {
    fn default() -> Self {
        Self {
            name: "notebook".into(),
            seed: 42,
            backend: BackendChoice::Auto,
            device: DeviceChoice::Auto,
            kernels: Kernels::default(),
            data: DataSection::default(),
            model: ModelSection::default(),
            training: TrainingSection::default(),
            optimizer: OptimizerSection::default(),
        }
    }
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            dir: None,
            scaling: PixelScaling::Raw,
            train_size: None,
            test_size: None,
            validation_split: None,
        }
    }
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            layers: KerasNetConfig::new().layers,
            init_from: None,
        }
    }
}

impl Default for TrainingSection {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 32,
            eval_batch_size: 500,
            early_stopping: None,
        }
    }
}

impl Default for OptimizerSection {
    fn default() -> Self {
        let keras = KerasAdam::default();
        Self {
            name: OptimizerName::Adam,
            learning_rate: keras.learning_rate,
            beta1: keras.beta_1,
            beta2: keras.beta_2,
            epsilon: keras.epsilon,
            weight_decay: 0.004,
            momentum: 0.0,
            nesterov: false,
            rho: 0.9,
            schedule: None,
        }
    }
}

/// The largest values accepted: beyond them a typo would run for days
/// before anything fails.
pub const MAX_EPOCHS: usize = 10_000;
/// See [`MAX_EPOCHS`]: larger than either split, which is never useful.
pub const MAX_BATCH_SIZE: usize = 60_000;

/// The text of the file at `path`, refused past [`MAX_CONFIG_BYTES`] before
/// more is read.
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
        });
    }
    String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// The largest experiment file read: a hundred times the every-layer
/// config's JSON, and a bound on what `--config /dev/zero` makes us read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl ExperimentFile {
    /// Reads an experiment file (TOML, or the JSON a run directory stores).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path)?;
        let parsed = if path.extension().is_some_and(|ext| ext == "json") {
            serde_json::from_str(&text).map_err(|err| err.to_string())
        } else {
            toml::from_str(&text).map_err(|err| {
                // toml's Display spans several lines; keep the message and its line.
                let line = err
                    .span()
                    .map(|span| text[..span.start].matches('\n').count() + 1);
                match line {
                    Some(line) => format!("line {line}: {}", err.message()),
                    None => err.message().to_owned(),
                }
            })
        };
        parsed.map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message: runs::text::fold(&message),
        })
    }

    /// The file at `path`, or the notebook's defaults without one.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    /// Checks every value once; the result is what the program runs on.
    pub fn validate(self) -> Result<Experiment, ConfigError> {
        let in_range = |key: &'static str, value: usize, max: usize| {
            if value == 0 {
                Err(invalid(key, value, "must be at least 1"))
            } else if value > max {
                Err(invalid(key, value, format!("must be at most {max}")))
            } else {
                Ok(())
            }
        };
        let positive = |key: &'static str, value: usize| in_range(key, value, usize::MAX);
        if self.name.is_empty()
            || self.name.starts_with('.')
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "name",
                format!("{:?}", self.name),
                "must be letters, digits, '-', '_' or '.', not starting with '.'",
            ));
        }
        // What a TOML file (and config.json read back as one) can hold.
        if self.seed > i64::MAX as u64 {
            return Err(invalid(
                "seed",
                self.seed,
                format!("must be at most {}, the largest TOML integer", i64::MAX),
            ));
        }
        in_range("training.epochs", self.training.epochs, MAX_EPOCHS)?;
        in_range(
            "training.batch_size",
            self.training.batch_size,
            MAX_BATCH_SIZE,
        )?;
        in_range(
            "training.eval_batch_size",
            self.training.eval_batch_size,
            MAX_BATCH_SIZE,
        )?;
        if let Some(early) = &self.training.early_stopping {
            if early.patience > MAX_EPOCHS {
                return Err(invalid(
                    "training.early_stopping.patience",
                    early.patience,
                    format!("must be at most {MAX_EPOCHS}"),
                ));
            }
            if !(early.min_delta.is_finite() && early.min_delta >= 0.0) {
                return Err(invalid(
                    "training.early_stopping.min_delta",
                    early.min_delta,
                    "must be a number >= 0",
                ));
            }
        }
        if self
            .data
            .dir
            .as_ref()
            .is_some_and(|dir| dir.as_os_str().is_empty())
        {
            return Err(ConfigError::Invalid {
                key: "data.dir",
                value: "\"\"".into(),
                reason: "must name a directory; leave the key out for the default data".into(),
            });
        }
        if let Some(size) = self.data.train_size {
            positive("data.train_size", size)?;
        }
        if let Some(size) = self.data.test_size {
            positive("data.test_size", size)?;
        }
        if let Some(split) = self.data.validation_split
            && !(split > 0.0 && split < 1.0)
        {
            return Err(invalid(
                "data.validation_split",
                split,
                "must be between 0 and 1 (exclusive)",
            ));
        }
        let opt = &self.optimizer;
        if !(opt.learning_rate.is_finite() && opt.learning_rate > 0.0) {
            return Err(invalid(
                "optimizer.learning_rate",
                opt.learning_rate,
                "must be a positive number",
            ));
        }
        for (key, beta) in [
            ("optimizer.beta1", opt.beta1),
            ("optimizer.beta2", opt.beta2),
        ] {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(key, beta, "must be in [0, 1)"));
            }
        }
        if !(opt.epsilon.is_finite() && opt.epsilon > 0.0) {
            return Err(invalid(
                "optimizer.epsilon",
                opt.epsilon,
                "must be a positive number",
            ));
        }
        for (key, value) in [
            ("optimizer.momentum", opt.momentum),
            ("optimizer.rho", opt.rho),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(invalid(key, value, "must be in [0, 1)"));
            }
        }
        if !(opt.weight_decay.is_finite() && opt.weight_decay >= 0.0) {
            return Err(invalid(
                "optimizer.weight_decay",
                opt.weight_decay,
                "must be a number >= 0",
            ));
        }
        if let Some(schedule) = &opt.schedule {
            schedule
                .check(opt.learning_rate)
                .map_err(|(key, value, reason)| invalid(key, value, reason))?;
        }
        let net = KerasNetConfig::new().with_layers(self.model.layers.clone());
        let summary = net.check()?;
        let adam = KerasAdam {
            learning_rate: opt.learning_rate,
            beta_1: opt.beta1,
            beta_2: opt.beta2,
            epsilon: opt.epsilon,
        };
        let optimizer = match opt.name {
            OptimizerName::Adam => KerasOptimizer::Adam(adam),
            OptimizerName::Adamw => KerasOptimizer::AdamW {
                adam,
                weight_decay: opt.weight_decay,
            },
            OptimizerName::Sgd => KerasOptimizer::Sgd {
                momentum: opt.momentum,
                nesterov: opt.nesterov,
            },
            OptimizerName::Rmsprop => KerasOptimizer::RmsProp {
                rho: opt.rho,
                momentum: opt.momentum,
                epsilon: opt.epsilon,
            },
        };
        Ok(Experiment {
            net,
            summary,
            optimizer,
            file: self,
        })
    }
}

/// One `--set KEY=VALUE`: a dotted key of the experiment file and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// `section.key`, as in the TOML file.
    pub key: String,
    /// A TOML value (`3`, `1e-4`, `"unit"`, `true`); a bare word is a string.
    pub value: String,
}

impl std::str::FromStr for Assignment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(Self {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            }),
            _ => Err(format!(
                "`{text}` is not KEY=VALUE (e.g. training.epochs=5)"
            )),
        }
    }
}

impl std::fmt::Display for Assignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl Assignment {
    /// The value as TOML: a number, boolean, quoted string, array or
    /// table as written, anything else (`unit`, `flex`) as a string, but for
    /// an integer TOML cannot hold, which is refused rather than read as the
    /// string of its digits.
    fn toml_value(&self) -> Result<toml::Value, String> {
        let parsed = toml::from_str::<toml::Table>(&format!("v = {}", self.value))
            .ok()
            .and_then(|mut table| table.remove("v"));
        let digits = self.value.trim_start_matches(['+', '-']);
        match parsed {
            Some(value) => Ok(value),
            None if !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '_') =>
            {
                Err(format!(
                    "`{}` is out of range: TOML integers stop at {}",
                    shorten(&self.value),
                    i64::MAX
                ))
            }
            None => Ok(toml::Value::String(self.value.clone())),
        }
    }
}

impl ExperimentFile {
    /// The file with each assignment applied in order, as if written in it:
    /// unknown keys and wrong types are refused as in a file.
    pub fn set(self, assignments: &[Assignment]) -> Result<Self, ConfigError> {
        let mut file = self;
        for assignment in assignments {
            let error = |message: String| ConfigError::Set {
                assignment: assignment.to_string(),
                message: runs::text::fold(&message),
            };
            let mut table = toml::Value::Table(
                toml::Table::try_from(&file).map_err(|err| error(err.to_string()))?,
            );
            let mut parts: Vec<&str> = assignment.key.split('.').collect();
            let leaf = parts.pop().unwrap_or_default();
            let mut section = &mut table;
            for part in parts {
                section = slot(section, part, true).map_err(error)?;
            }
            *slot(section, leaf, false).map_err(error)? = assignment.toml_value().map_err(error)?;
            file = table
                .try_into()
                .map_err(|err: toml::de::Error| error(err.message().to_owned()))?;
        }
        Ok(file)
    }
}

/// The value that `part` of a dotted key names inside `section`: a key
/// (`epochs`), or an item of the list a key holds (`layers[0]`). A missing
/// key is made, as a table when more parts follow (`section`).
fn slot<'a>(
    section: &'a mut toml::Value,
    part: &str,
    is_section: bool,
) -> Result<&'a mut toml::Value, String> {
    let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
        Some((name, index)) => {
            let index: usize = index
                .parse()
                .map_err(|_| format!("`{part}`: the index must be a number"))?;
            (name, Some(index))
        }
        None => (part, None),
    };
    let table = section
        .as_table_mut()
        .ok_or_else(|| format!("`{name}` is inside a value, not a section"))?;
    let entry = table.entry(name).or_insert_with(|| {
        if is_section || index.is_some() {
            toml::Value::Table(toml::Table::new())
        } else {
            toml::Value::String(String::new())
        }
    });
    let Some(index) = index else {
        if is_section && !entry.is_table() {
            return Err(format!("`{name}` is a value, not a section"));
        }
        return Ok(entry);
    };
    let items = entry
        .as_array_mut()
        .ok_or_else(|| format!("`{name}` is not a list, so `{part}` names nothing"))?;
    let count = items.len();
    items
        .get_mut(index)
        .ok_or_else(|| format!("`{name}` has {count} items (from 0), so `{part}` names nothing"))
}

/// A checked experiment: every value in range, the Burn configs built.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The experiment as resolved (file, then overrides), for `config.json`.
    pub file: ExperimentFile,
    /// The network.
    pub net: KerasNetConfig,
    /// Its layers, checked: output shapes and parameters.
    pub summary: Vec<SummaryRow>,
    /// The optimiser (the learning rate and its schedule go to the Learner).
    pub optimizer: KerasOptimizer,
}

impl Experiment {
    /// Trainable parameters of the network.
    pub fn num_params(&self) -> usize {
        self.summary.iter().map(|row| row.params).sum()
    }

    /// The learning rate the training starts from.
    pub fn learning_rate(&self) -> f64 {
        self.file.optimizer.learning_rate
    }

    /// The schedule of the learning rate (constant without one).
    pub fn schedule(&self) -> Schedule {
        self.file
            .optimizer
            .schedule
            .unwrap_or(Schedule::Constant {})
    }
}

fn invalid(
    key: &'static str,
    value: impl std::fmt::Display,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: shorten(&value.to_string()),
        reason: reason.into(),
    }
}

/// The most characters of a value an error line repeats.
const SHOWN_VALUE: usize = 64;

/// `text`, or its start and end around its length when it is longer than
/// [`SHOWN_VALUE`]: an error line stays one readable line whatever was
/// given (a 50 MB name, `1e300` written out as 301 digits).
fn shorten(text: &str) -> String {
    let count = text.chars().count();
    if count <= SHOWN_VALUE {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN_VALUE / 2).collect();
    let tail: String = text.chars().skip(count - SHOWN_VALUE / 4).collect();
    format!("{head}...{tail} ({count} characters)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, String> {
        toml::from_str::<ExperimentFile>(text)
            .map_err(|err| err.message().to_owned())
            .and_then(|file| file.validate().map_err(|err| err.to_string()))
    }

    /// Every key the default experiment writes, dotted as `--set` takes it
    /// (`training.epochs`, `model.layers[0].filters`).
    fn keys() -> Vec<String> {
        fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
            for (key, value) in table {
                let dotted = match prefix {
                    "" => key.clone(),
                    _ => format!("{prefix}.{key}"),
                };
                match value {
                    toml::Value::Table(table) => walk(&dotted, table, out),
                    toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                        out.push(dotted.clone());
                        for (index, item) in items.iter().enumerate() {
                            if let Some(table) = item.as_table() {
                                walk(&format!("{dotted}[{index}]"), table, out);
                            }
                        }
                    }
                    _ => out.push(dotted),
                }
            }
        }
        let mut out = Vec::new();
        walk(
            "",
            &toml::Table::try_from(ExperimentFile::default()).unwrap(),
            &mut out,
        );
        out
    }

    /// Values of every TOML type, edge cases among them.
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            any::<u64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| format!("{v:e}")),
            prop::sample::select(vec![
                "nan", "inf", "-inf", "0", "-1", "1e308", "[]", "{}", "true"
            ])
            .prop_map(str::to_owned),
            "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
            prop::sample::select(vec!["step", "cosine", "constant", "linear", "exponential"])
                .prop_map(|kind| format!("{{type=\"{kind}\"}}")),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any text is an experiment or a typed error, never a panic.
        #[test]
        fn any_text_is_an_experiment_or_an_error(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        /// Any value at any key, through `--set` and through a file, is
        /// checked or refused, never a panic (overflow, huge allocation).
        #[test]
        fn any_value_of_any_key_is_checked_or_refused(
            picks in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), value()), 1..5)
        ) {
            let keys = keys();
            let assignments: Vec<Assignment> = picks
                .into_iter()
                .map(|(index, value)| Assignment {
                    key: keys[index.index(keys.len())].clone(),
                    value,
                })
                .collect();
            if let Ok(file) = ExperimentFile::default().set(&assignments) {
                let _ = file.validate();
            }
        }
    }

    #[test]
    fn a_long_value_is_shortened_in_its_error() {
        let name = "n".repeat(50 << 20);
        let line = invalid("name", &name, "must be short").to_string();
        assert!(line.len() < 200, "{} characters", line.len());
        assert!(
            line.ends_with(&format!("({} characters): must be short", 50 << 20)),
            "{line}"
        );
        assert_eq!(shorten("1e-3"), "1e-3");
    }

    #[test]
    fn an_empty_file_is_the_notebook() {
        let experiment = parse("").unwrap();
        assert_eq!(experiment.file, ExperimentFile::default());
        assert_eq!(experiment.file.training.epochs, 3);
        assert_eq!(experiment.file.training.batch_size, 32);
        assert_eq!(experiment.file.optimizer.epsilon, 1e-7);
        assert_eq!(experiment.file.data.scaling, PixelScaling::Raw);
        assert_eq!(experiment.num_params(), 13_610);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse("[training]\nepochz = 3\n").unwrap_err();
        assert!(err.contains("unknown field `epochz`"), "{err}");
        let err = parse("colour = 1\n").unwrap_err();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn wrong_types_are_refused() {
        let err = parse("[training]\nepochs = \"three\"\n").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err = parse("[data]\nscaling = \"log\"\n").unwrap_err();
        assert!(err.contains("unknown variant `log`"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        for (text, key) in [
            ("[training]\nepochs = 0", "training.epochs"),
            ("[training]\nbatch_size = 0", "training.batch_size"),
            (
                "[training]\neval_batch_size = 0",
                "training.eval_batch_size",
            ),
            (
                "[optimizer]\nlearning_rate = -0.1",
                "optimizer.learning_rate",
            ),
            (
                "[optimizer]\nlearning_rate = nan",
                "optimizer.learning_rate",
            ),
            ("[optimizer]\nbeta1 = 1.0", "optimizer.beta1"),
            ("[optimizer]\nbeta2 = -0.5", "optimizer.beta2"),
            ("[optimizer]\nepsilon = 0.0", "optimizer.epsilon"),
            ("[training]\nepochs = 1000000", "training.epochs"),
            ("[training]\nbatch_size = 99999999", "training.batch_size"),
            ("[data]\ntrain_size = 0", "data.train_size"),
            ("[data]\nvalidation_split = 1.0", "data.validation_split"),
            ("[data]\nvalidation_split = -0.1", "data.validation_split"),
            (
                "[training.early_stopping]\nmin_delta = -1.0",
                "training.early_stopping.min_delta",
            ),
            (
                "[training.early_stopping]\npatience = 100000",
                "training.early_stopping.patience",
            ),
            ("name = \"../escape\"", "name"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.starts_with(&format!("config key `{key}`")),
                "{text}: {err}"
            );
        }
    }

    /// `[[model.layers]]`: the notebook's layers written out are the
    /// default; a bad list is one line naming the layer's index and key.
    #[test]
    fn layer_lists_are_read_and_checked_by_index() {
        let notebook = "[[model.layers]]\ntype = \"conv2d\"\nfilters = 8\nkernel_size = 3\n\
            [[model.layers]]\ntype = \"max_pool2d\"\npool_size = 2\n\
            [[model.layers]]\ntype = \"flatten\"\n\
            [[model.layers]]\ntype = \"dense\"\nunits = 10\nactivation = \"softmax\"\n";
        assert_eq!(parse(notebook).unwrap().file, ExperimentFile::default());
        let flatten = "[[model.layers]]\ntype = \"flatten\"\n";
        let last = "[[model.layers]]\ntype = \"dense\"\nunits = 10\n";
        for (layers, message) in [
            (
                "[[model.layers]]\ntype = \"conv3d\"\n".to_owned(),
                "model.layers[0]: unknown variant `conv3d`, expected one of `conv2d`, `max_pool2d`, `avg_pool2d`, `flatten`, `dropout`, `dense`, `batch_norm`",
            ),
            (
                format!("{flatten}[[model.layers]]\ntype = \"dense\"\nunitz = 10\n"),
                "model.layers[1]: unknown field `unitz`, expected `units` or `activation`",
            ),
            (
                format!("{flatten}[[model.layers]]\ntype = \"dense\"\n"),
                "model.layers[1]: missing field `units`",
            ),
            (
                format!(
                    "{flatten}[[model.layers]]\ntype = \"dense\"\nunits = 10\nactivation = \"gelu\"\n"
                ),
                "model.layers[1]: unknown variant `gelu`, expected one of `linear`, `relu`, `sigmoid`, `tanh`, `softmax`",
            ),
            (
                last.to_owned(),
                "model.layers[0] (dense): type needs flat features: put a flatten layer before it",
            ),
            (
                format!(
                    "[[model.layers]]\ntype = \"conv2d\"\nfilters = 4\nkernel_size = 30\n{flatten}{last}"
                ),
                "model.layers[0] (conv2d): kernel_size 30 is larger than its 28x28 input",
            ),
            (
                format!("{flatten}[[model.layers]]\ntype = \"dense\"\nunits = 12\n"),
                "model.layers[1] (dense): units 12: the last layer must have 10, one per class",
            ),
        ] {
            let err = parse(&layers).unwrap_err();
            assert!(err.ends_with(message), "{layers}: {err}");
        }
    }

    /// The defaults live once: the notebook's config file spells them all out
    /// and must agree with them, key by key.
    #[test]
    fn the_notebook_config_is_the_built_in_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/notebook.toml");
        let file = ExperimentFile::load(&path).unwrap();
        assert_eq!(file, ExperimentFile::default());
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let default = toml::Table::try_from(ExperimentFile::default()).unwrap();
        assert_eq!(
            table, default,
            "configs/notebook.toml lists every key of the default"
        );
    }

    #[test]
    fn the_shipped_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            ExperimentFile::load(&path)
                .and_then(ExperimentFile::validate)
                .unwrap_or_else(|err| panic!("{err}"));
            seen += 1;
        }
        assert!(seen >= 3);
    }

    proptest::proptest! {
        /// Arbitrary text and arbitrary values for every key: an error or a
        /// checked experiment, never a panic.
        #[test]
        fn arbitrary_configs_never_panic(text in ".{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_values_never_panic(
            epochs in proptest::prelude::any::<i64>(),
            batch in proptest::prelude::any::<u32>(),
            lr in proptest::prelude::any::<f64>(),
            beta in proptest::prelude::any::<f64>(),
            kernel in 0usize..64,
            pool in 0usize..64,
            filters in 0usize..1000,
            units in 0usize..100,
            kind in proptest::sample::select(vec!["conv2d", "max_pool2d", "avg_pool2d", "flatten", "dropout", "dense", "batch_norm"]),
        ) {
            let text = format!(
                "[training]\nepochs = {epochs}\nbatch_size = {batch}\n[optimizer]\nlearning_rate = {lr:?}\nbeta1 = {beta:?}\n\
                 [[model.layers]]\ntype = \"conv2d\"\nkernel_size = {kernel}\nfilters = {filters}\n\
                 [[model.layers]]\ntype = \"max_pool2d\"\npool_size = {pool}\n\
                 [[model.layers]]\ntype = \"{kind}\"\n\
                 [[model.layers]]\ntype = \"flatten\"\n\
                 [[model.layers]]\ntype = \"dense\"\nunits = {units}\n"
            );
            if let Ok(experiment) = parse(&text) {
                proptest::prop_assert!(experiment.net.check().is_ok());
                proptest::prop_assert!(experiment.file.training.epochs >= 1);
            }
        }
    }

    fn assignments(texts: &[&str]) -> Vec<Assignment> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    /// The error line of one `--set` on the default file.
    fn set_error(text: &str) -> String {
        ExperimentFile::default()
            .set(&assignments(&[text]))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn set_changes_any_key_as_the_file_would() {
        let file = ExperimentFile::default()
            .set(&assignments(&[
                "training.epochs=5",
                "optimizer.learning_rate = 1e-4",
                "data.scaling=unit",
                "name=\"sweep\"",
                "data.train_size=1000",
                "seed=7",
            ]))
            .unwrap();
        let from_toml: ExperimentFile = toml::from_str(
            "name = \"sweep\"\nseed = 7\n[training]\nepochs = 5\n[optimizer]\nlearning_rate = 1e-4\n[data]\nscaling = \"unit\"\ntrain_size = 1000\n",
        )
        .unwrap();
        assert_eq!(file, from_toml);
    }

    /// `model.layers[N].KEY` reaches into the layer list, as the errors name it.
    #[test]
    fn set_reaches_into_the_layer_list() {
        let file = ExperimentFile::default()
            .set(&assignments(&[
                "model.layers[0].filters=16",
                "model.layers[0].activation=relu",
                "model.layers[3]={type=\"dense\", units=10}",
            ]))
            .unwrap();
        let mut layers = model::LayerConfig::notebook();
        layers[0] = model::LayerConfig::Conv2d {
            filters: 16,
            kernel_size: 3,
            padding: model::Padding::Valid,
            strides: 1,
            activation: model::Activation::Relu,
        };
        layers[3] = model::LayerConfig::Dense {
            units: 10,
            activation: model::Activation::Linear,
        };
        assert_eq!(file.model.layers, layers);
        for (text, message) in [
            (
                "model.layers[4].units=3",
                "--set model.layers[4].units=3: `layers` has 4 items (from 0), so `layers[4]` names nothing",
            ),
            (
                "model.layers[x].units=3",
                "--set model.layers[x].units=3: `layers[x]`: the index must be a number",
            ),
            (
                "training[0].epochs=3",
                "--set training[0].epochs=3: `training` is not a list, so `training[0]` names nothing",
            ),
            (
                "model.layers[0].filterz=3",
                "--set model.layers[0].filterz=3: model.layers[0]: unknown field `filterz`",
            ),
        ] {
            let err = set_error(text);
            assert!(err.starts_with(message), "{text}: {err}");
        }
    }

    #[test]
    fn set_refuses_unknown_keys_and_wrong_types() {
        for (text, message) in [
            (
                "training.epochz=3",
                "--set training.epochz=3: unknown field `epochz`",
            ),
            (
                "training.epochs=three",
                "--set training.epochs=three: invalid type: string \"three\", expected usize",
            ),
            (
                "training.epochs.x=1",
                "--set training.epochs.x=1: `epochs` is a value, not a section",
            ),
            ("colour=1", "--set colour=1: unknown field `colour`"),
            (
                "data.scaling=log",
                "--set data.scaling=log: unknown variant `log`",
            ),
        ] {
            let err = set_error(text);
            assert!(err.starts_with(message), "{text}: {err}");
        }
        assert!("=3".parse::<Assignment>().is_err());
        assert!("epochs".parse::<Assignment>().is_err());
    }

    #[test]
    fn a_resolved_config_round_trips_through_json() {
        let file = parse("name = \"x\"\n[data]\ntrain_size = 100\nscaling = \"unit\"")
            .unwrap()
            .file;
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(serde_json::from_str::<ExperimentFile>(&json).unwrap(), file);
    }
}
