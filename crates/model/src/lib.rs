//! The Keras notebook's network as a Burn [`Module`]:
//!
//! ```text
//! Sequential[Conv2D(8, 3x3, valid, no activation), MaxPooling2D(2), Flatten, Dense(10, softmax)]
//! ```
//!
//! with Keras's initialisation (Glorot-uniform weights, zero biases), 13,610
//! parameters. [`KerasNet::forward`] returns logits; the softmax lives in
//! [`KerasNet::probabilities`] (and, for training, inside the cross-entropy loss).
//!
//! Layout: Burn is NCHW (`[batch, channels, rows, cols]`) while Keras is NHWC.
//! Both flatten the pooled maps before the dense layer, so the dense weights
//! of a Keras model are a row permutation of ours: (row, col, channel) order
//! there, (channel, row, col) here. Same function, different weight layout.

mod recipe;

pub use recipe::KerasAdam;

use burn::module::{ModuleMapper, Param, ParamId};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Which code computes the convolution and the max-pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernels {
    /// The fused kernels of the `kernels` crate on the backends they serve
    /// (flex, ndarray), Burn's own operations on the others.
    #[default]
    Fast,
    /// Burn's own `conv2d` and `max_pool2d` on every backend, for comparison.
    Stock,
}

impl Kernels {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Stock => "stock",
        }
    }

    /// What actually runs on `device`: `Fast` only where the kernels serve it.
    pub fn on(self, device: &Device) -> Self {
        match self {
            Self::Fast if kernels::serves_device(device) => Self::Fast,
            _ => Self::Stock,
        }
    }
}

impl std::str::FromStr for Kernels {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        [Self::Fast, Self::Stock]
            .into_iter()
            .find(|kernels| kernels.name() == name)
            .ok_or_else(|| format!("unknown kernels `{name}` (expected fast or stock)"))
    }
}

/// The network's hyper-parameters; the defaults are the notebook's.
#[derive(Config, Debug)]
pub struct KerasNetConfig {
    /// Convolution filters (output channels).
    #[config(default = 8)]
    pub filters: usize,
    /// Side of the square convolution kernel.
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Side (and stride) of the square max-pooling window.
    #[config(default = 2)]
    pub pool_size: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Input channels.
    #[config(default = 1)]
    pub channels: usize,
    /// Side of the square input images.
    #[config(default = 28)]
    pub image_size: usize,
}

/// A size of [`KerasNetConfig`], to name in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryField {
    /// [`KerasNetConfig::filters`].
    Filters,
    /// [`KerasNetConfig::kernel_size`].
    KernelSize,
    /// [`KerasNetConfig::pool_size`].
    PoolSize,
    /// [`KerasNetConfig::num_classes`].
    NumClasses,
    /// [`KerasNetConfig::channels`].
    Channels,
    /// [`KerasNetConfig::image_size`].
    ImageSize,
}

impl GeometryField {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Filters => "filters",
            Self::KernelSize => "kernel_size",
            Self::PoolSize => "pool_size",
            Self::NumClasses => "num_classes",
            Self::Channels => "channels",
            Self::ImageSize => "image_size",
        }
    }
}

/// Why a [`KerasNetConfig`] describes no network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeometryError {
    /// A size is zero.
    Zero(GeometryField),
    /// The kernel does not fit in the image.
    KernelTooLarge {
        /// Kernel side.
        kernel: usize,
        /// Image side.
        image: usize,
    },
    /// The pooling window does not fit in the convolution's output.
    PoolTooLarge {
        /// Pooling side.
        pool: usize,
        /// Side of the feature map after the convolution.
        feature_map: usize,
    },
}

impl std::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Zero(field) => write!(f, "{} must be at least 1", field.name()),
            Self::KernelTooLarge { kernel, image } => write!(
                f,
                "kernel_size {kernel} is larger than the {image}x{image} image"
            ),
            Self::PoolTooLarge { pool, feature_map } => write!(
                f,
                "pool_size {pool} is larger than the {feature_map}x{feature_map} feature map after the convolution"
            ),
        }
    }
}

impl std::error::Error for GeometryError {}

impl KerasNetConfig {
    /// Side of the feature map after the valid, stride-1 convolution.
    pub fn conv_output_size(&self) -> usize {
        self.image_size + 1 - self.kernel_size
    }

    /// Side of the feature map after max-pooling (Keras floors it, as Burn does).
    pub fn pool_output_size(&self) -> usize {
        self.conv_output_size() / self.pool_size
    }

    /// Inputs of the dense layer: the flattened pooled maps (1,352 in the notebook).
    pub fn flat_features(&self) -> usize {
        self.filters * self.pool_output_size().pow(2)
    }

    /// Trainable parameters: the convolution's weights and biases, then the
    /// dense layer's (13,610 in the notebook).
    pub fn num_params(&self) -> usize {
        let conv = self.filters * (self.channels * self.kernel_size.pow(2) + 1);
        conv + (self.flat_features() + 1) * self.num_classes
    }

    /// Checks that the layers fit together; [`KerasNetConfig::init`] assumes it.
    pub fn check(&self) -> Result<(), GeometryError> {
        for (value, field) in [
            (self.filters, GeometryField::Filters),
            (self.kernel_size, GeometryField::KernelSize),
            (self.pool_size, GeometryField::PoolSize),
            (self.num_classes, GeometryField::NumClasses),
            (self.channels, GeometryField::Channels),
            (self.image_size, GeometryField::ImageSize),
        ] {
            if value == 0 {
                return Err(GeometryError::Zero(field));
            }
        }
        if self.kernel_size > self.image_size {
            return Err(GeometryError::KernelTooLarge {
                kernel: self.kernel_size,
                image: self.image_size,
            });
        }
        if self.pool_size > self.conv_output_size() {
            return Err(GeometryError::PoolTooLarge {
                pool: self.pool_size,
                feature_map: self.conv_output_size(),
            });
        }
        Ok(())
    }

    /// Builds the network with Keras's initialisation: Glorot-uniform weights,
    /// zero biases (Burn's own default is Kaiming-uniform for both).
    ///
    /// The weights are drawn on the host from `seed`, not by the backend's own
    /// generator, so one seed gives the same starting point on every backend.
    pub fn init(&self, seed: u64, device: &Device) -> KerasNet {
        let mut rng = StdRng::seed_from_u64(seed);
        let k = self.kernel_size;
        let mut conv = Conv2dConfig::new([self.channels, self.filters], [k, k]).init(device);
        conv.weight = glorot_uniform(
            [self.filters, self.channels, k, k],
            self.channels * k * k,
            self.filters * k * k,
            &mut rng,
            device,
        );
        conv.bias = Some(Initializer::Zeros.init([self.filters], device));

        let mut dense = LinearConfig::new(self.flat_features(), self.num_classes).init(device);
        dense.weight = glorot_uniform(
            [self.flat_features(), self.num_classes],
            self.flat_features(),
            self.num_classes,
            &mut rng,
            device,
        );
        dense.bias = Some(Initializer::Zeros.init([self.num_classes], device));

        KerasNet {
            conv,
            pool: MaxPool2dConfig::new([self.pool_size, self.pool_size]).init(),
            dense,
            kernels: Kernels::default(),
        }
        .map(&mut NumberParameters(0))
    }
}

/// Gives the parameters the ids 1, 2, 3, ... in module order. Burn draws ids
/// at random, and they are written into every record: with these, two
/// trainings from one seed save byte-identical checkpoints and weights.
struct NumberParameters(u64);

impl ModuleMapper for NumberParameters {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.0 += 1;
        param.id = ParamId::from(self.0);
        param
    }
}

/// Keras's default kernel initialiser, `glorot_uniform`: uniform in
/// `±sqrt(6 / (fan_in + fan_out))`.
fn glorot_uniform<const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    fan_out: usize,
    rng: &mut StdRng,
    device: &Device,
) -> Param<Tensor<D>> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    let data = TensorData::random::<f32, _, _>(shape, Distribution::Uniform(-limit, limit), rng);
    Param::from_data(data, device)
}

/// Conv2D -> MaxPooling2D -> Flatten -> Dense, as in the notebook.
#[derive(Module, Debug)]
pub struct KerasNet {
    conv: Conv2d,
    pool: MaxPool2d,
    dense: Linear,
    #[module(skip)]
    kernels: Kernels,
}

impl KerasNet {
    /// The code computing the convolution, the pooling and the loss.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// The same network computing its convolution and pooling with `kernels`.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Logits `[B, classes]` for images `[B, channels, side, side]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        // No activation after the convolution: the notebook has none.
        let features = match self.kernels {
            Kernels::Fast => {
                let window = self.pool.kernel_size;
                kernels::conv2d_max_pool2d(
                    images,
                    self.conv.weight.val(),
                    self.conv
                        .bias
                        .as_ref()
                        .expect("Keras convolutions have a bias")
                        .val(),
                    [0, 0],
                    window,
                )
            }
            Kernels::Stock => self.pool.forward(self.conv.forward(images)),
        };
        self.dense.forward(features.flatten(1, 3))
    }

    /// The mean categorical cross-entropy of `logits` against class indices:
    /// Keras's loss on the softmax output, computed from the logits without
    /// the softmax's rounding.
    pub fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match self.kernels {
            Kernels::Fast => kernels::cross_entropy(logits, targets),
            Kernels::Stock => CrossEntropyLossConfig::new()
                .init(&logits.device())
                .forward(logits, targets),
        }
    }

    /// Class probabilities `[B, classes]`, each row summing to 1 (Keras's softmax output).
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}
