//! The experiment file's schema: what users write (TOML, every key
//! optional, unknown keys refused) and the notebook's defaults.

use std::path::PathBuf;

use backend::{BackendChoice, DeviceChoice};
use data::PixelScaling;
use model::{KerasAdam, KerasNetConfig, Kernels, LayerConfig};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{EarlyStoppingSection, Schedule};

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
