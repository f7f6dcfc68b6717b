//! Keras's `Sequential` networks as a Burn [`Module`], built from the list
//! of layers an experiment file gives ([`LayerConfig`]); by default the
//! notebook's:
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

mod layers;
mod recipe;

pub use layers::{
    Activation, LayerConfig, LayerError, MAX_UNITS, Padding, Shape, SummaryRow, summary,
};
pub use recipe::{KerasAdam, KerasOptimizer};

use burn::module::Flag;
use burn::module::{ModuleMapper, Param, ParamId, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softmax, tanh};
use burn::tensor::{Distribution, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Which code computes the convolution and the max-pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "`fast` or `stock`")]
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

/// A network: its layers and the shape of its input and output. The default
/// is the notebook's.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasNetConfig {
    /// The layers, first to last.
    pub layers: Vec<LayerConfig>,
    /// Output classes: the last layer's units.
    pub num_classes: usize,
    /// Input channels.
    pub channels: usize,
    /// Side of the square input images.
    pub image_size: usize,
}

impl Default for KerasNetConfig {
    fn default() -> Self {
        Self {
            layers: LayerConfig::notebook(),
            num_classes: 10,
            channels: 1,
            image_size: 28,
        }
    }
}

impl KerasNetConfig {
    /// The notebook's network on 28x28 grey images, 10 classes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same input and classes with these layers.
    pub fn with_layers(self, layers: Vec<LayerConfig>) -> Self {
        Self { layers, ..self }
    }

    /// Checks that the layers fit their inputs and end in one unit per
    /// class; on success, each layer's output shape and parameters.
    pub fn check(&self) -> Result<Vec<SummaryRow>, LayerError> {
        let input = Shape::Maps {
            channels: self.channels,
            side: self.image_size,
        };
        layers::check(&self.layers, input, self.num_classes)
    }

    /// Trainable parameters (13,610 in the notebook).
    pub fn num_params(&self) -> Result<usize, LayerError> {
        Ok(self.check()?.iter().map(|row| row.params).sum())
    }

    /// Builds the network with Keras's initialisation: Glorot-uniform
    /// weights, zero biases (Burn's own default is Kaiming-uniform for both),
    /// batch norms at the identity.
    ///
    /// The weights are drawn on the host from `seed`, layer after layer, not
    /// by the backend's own generator, so one seed gives the same starting
    /// point on every backend.
    pub fn init(&self, seed: u64, device: &Device) -> Result<KerasNet, LayerError> {
        let rows = self.check()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut input = Shape::Maps {
            channels: self.channels,
            side: self.image_size,
        };
        let mut layers = Vec::with_capacity(rows.len());
        for row in rows {
            layers.push(build(&row.layer, input, &mut rng, device));
            input = row.output;
        }
        let net = KerasNet {
            layers,
            kernels: Kernels::default(),
        };
        let mut numbers = NumberParameters(0);
        let mut net = net.map(&mut numbers);
        // A mapper cannot renumber running statistics (Burn keeps their
        // random ids): number them here, after the parameters.
        for layer in &mut net.layers {
            if let Layer::BatchNorm(norm) = layer {
                for state in [&mut norm.running_mean, &mut norm.running_var] {
                    numbers.0 += 1;
                    *state = RunningState::with_id(ParamId::from(numbers.0), state.value());
                }
            }
        }
        Ok(net)
    }
}

/// `norm.forward(x)`, with the batch's statistics (a training step) taken
/// by the kernels' batch norm when `kernels` is fast: the running statistics
/// are updated exactly as Burn's layer updates them.
fn normalize<const D: usize>(norm: &BatchNorm, x: Tensor<D>, kernels: Kernels) -> Tensor<D> {
    if kernels == Kernels::Stock || !(x.device().is_autodiff() && norm.training.is_enabled()) {
        return norm.forward(x);
    }
    let device = x.device();
    let (out, mean, variance) =
        kernels::batch_norm_train(x, norm.gamma.val(), norm.beta.val(), norm.epsilon);
    let momentum = norm.momentum;
    let update = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
        let running = state.value_sync().to_device(&device);
        let running = running
            .mul_scalar(1.0 - momentum)
            .add(batch.detach().mul_scalar(momentum));
        state.update(running.detach());
    };
    update(&norm.running_mean, mean);
    update(&norm.running_var, variance);
    out
}

/// Which code computes each layer with `kernels` on a backend the kernels
/// serve (flex, ndarray; every other backend runs Burn's own operations):
/// one line per layer, as `trainer info --config` prints it. Follows
/// [`KerasNet::forward`]'s choices: a convolution picks its path by shape
/// ([`kernels::ConvPath::choose`]), and takes a max-pool after it into its
/// own pass.
pub fn kernel_plan(rows: &[SummaryRow], input: Shape, kernels: Kernels) -> Vec<String> {
    let mut lines = Vec::with_capacity(rows.len());
    let mut shape = input;
    let mut fused = false;
    for (index, row) in rows.iter().enumerate() {
        let name = format!("{} ({index})", row.layer.kind());
        let next = rows.get(index + 1).map(|row| &row.layer);
        let what = match (&row.layer, kernels) {
            _ if fused => {
                fused = false;
                format!("in conv2d ({})'s pass", index - 1)
            }
            (LayerConfig::Dropout { .. }, _) => "seeded mask (one multiplication)".to_owned(),
            (LayerConfig::Flatten, _) => "a view".to_owned(),
            (_, Kernels::Stock) => "Burn's own operations".to_owned(),
            (
                LayerConfig::Conv2d {
                    kernel_size,
                    strides,
                    ..
                },
                Kernels::Fast,
            ) => {
                let path =
                    kernels::ConvPath::choose(shape.channels(), [*kernel_size; 2], [*strides; 2]);
                let pooled = matches!(
                    next,
                    Some(LayerConfig::MaxPool2d { pool_size, strides }) if strides.is_none_or(|s| s == *pool_size)
                );
                let kernel = match path {
                    kernels::ConvPath::Direct => "direct",
                    _ => "gemm (im2col chunks, matrix products)",
                };
                fused = pooled;
                match pooled {
                    true => format!("{kernel}, max_pool2d ({}) fused", index + 1),
                    false => kernel.to_owned(),
                }
            }
            (LayerConfig::MaxPool2d { pool_size, strides }, Kernels::Fast)
                if strides.is_none_or(|s| s == *pool_size) =>
            {
                "burnist max-pool".to_owned()
            }
            (LayerConfig::AvgPool2d { .. }, Kernels::Fast) => "burnist average pool".to_owned(),
            (LayerConfig::BatchNorm { .. }, Kernels::Fast) => {
                "burnist batch norm (training steps)".to_owned()
            }
            (LayerConfig::Dense { .. }, _) => "Burn's matmul".to_owned(),
            _ => "Burn's own operations".to_owned(),
        };
        lines.push(format!("{name:<24}{what}"));
        shape = row.output;
    }
    lines
}

/// The Burn module of one checked layer taking `input`.
fn build(layer: &LayerConfig, input: Shape, rng: &mut StdRng, device: &Device) -> Layer {
    match *layer {
        LayerConfig::Conv2d {
            filters,
            kernel_size: k,
            padding,
            strides,
            activation,
        } => {
            let channels = input.channels();
            let pad = match padding {
                Padding::Valid => 0,
                Padding::Same => k / 2,
            };
            let mut conv = Conv2dConfig::new([channels, filters], [k, k])
                .with_stride([strides, strides])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .init(device);
            conv.weight = glorot_uniform(
                [filters, channels, k, k],
                channels * k * k,
                filters * k * k,
                rng,
                device,
            );
            conv.bias = Some(Initializer::Zeros.init([filters], device));
            Layer::Conv2d(ConvLayer {
                conv,
                padding: pad,
                strides,
                activation,
            })
        }
        LayerConfig::MaxPool2d { pool_size, strides } => Layer::MaxPool2d(
            MaxPool2dConfig::new([pool_size, pool_size])
                .with_strides([strides.unwrap_or(pool_size); 2])
                .init(),
        ),
        LayerConfig::AvgPool2d { pool_size, strides } => Layer::AvgPool2d(
            AvgPool2dConfig::new([pool_size, pool_size])
                .with_strides([strides.unwrap_or(pool_size); 2])
                .init(),
        ),
        LayerConfig::Flatten => Layer::Flatten(Flatten),
        LayerConfig::Dropout { rate } => Layer::Dropout(DropoutConfig::new(rate).init()),
        LayerConfig::Dense { units, activation } => {
            let features = input.features();
            let mut linear = LinearConfig::new(features, units).init(device);
            linear.weight = glorot_uniform([features, units], features, units, rng, device);
            linear.bias = Some(Initializer::Zeros.init([units], device));
            Layer::Dense(DenseLayer { linear, activation })
        }
        // Keras keeps `momentum` of the running statistics each step, Burn
        // mixes in `momentum` of the batch's.
        LayerConfig::BatchNorm { momentum, epsilon } => Layer::BatchNorm(
            BatchNormConfig::new(input.channels())
                .with_momentum(1.0 - momentum)
                .with_epsilon(epsilon)
                .init(device),
        ),
    }
}

/// Gives the parameters the ids 1, 2, 3, ... in module order. Burn draws ids
/// at random, and they are written into every record: with these (and the
/// running statistics' ids, numbered after them), two trainings from one
/// seed save byte-identical checkpoints and weights.
struct NumberParameters(u64);

impl ModuleMapper for NumberParameters {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.0 += 1;
        param.id = ParamId::from(self.0);
        param
    }

    fn map_flag(&mut self, mut flag: Param<Flag>) -> Param<Flag> {
        self.0 += 1;
        flag.id = ParamId::from(self.0);
        flag
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

/// A convolution and its activation.
#[derive(Module, Debug)]
pub struct ConvLayer {
    conv: Conv2d,
    /// Zeros on each side (Keras's `same`: half the odd kernel).
    #[module(skip)]
    padding: usize,
    #[module(skip)]
    strides: usize,
    #[module(skip)]
    activation: Activation,
}

impl ConvLayer {
    /// The convolution, then `pool` when given (fused with it by burnist's
    /// kernels), then the activation. Pooling before the activation gives
    /// the same values and gradients: every activation but softmax (refused
    /// on convolutions) is increasing, so it commutes with the maximum.
    fn forward(&self, x: Tensor<4>, pool: Option<&MaxPool2d>, kernels: Kernels) -> Tensor<4> {
        let fast = kernels == Kernels::Fast;
        let bias = || {
            self.conv
                .bias
                .as_ref()
                .expect("Keras convolutions have a bias")
                .val()
        };
        let padding = [self.padding; 2];
        let stride = [self.strides; 2];
        let y = match pool {
            Some(pool) if fast => kernels::conv2d_max_pool2d(
                x,
                self.conv.weight.val(),
                bias(),
                stride,
                padding,
                pool.kernel_size,
            ),
            None if fast => kernels::conv2d(x, self.conv.weight.val(), bias(), stride, padding),
            Some(pool) => pool.forward(self.conv.forward(x)),
            None => self.conv.forward(x),
        };
        activate(y, self.activation)
    }
}

/// A dense layer and its activation (none for a softmax, which the loss
/// and [`KerasNet::probabilities`] apply).
#[derive(Module, Debug)]
pub struct DenseLayer {
    linear: Linear,
    #[module(skip)]
    activation: Activation,
}

/// Keras's `Flatten`: nothing to learn.
#[derive(Module, Debug)]
pub struct Flatten;

/// One layer of a [`KerasNet`], as [`LayerConfig`] describes it.
#[derive(Module, Debug)]
pub enum Layer {
    /// `conv2d`.
    Conv2d(ConvLayer),
    /// `max_pool2d`.
    MaxPool2d(MaxPool2d),
    /// `avg_pool2d`.
    AvgPool2d(AvgPool2d),
    /// `flatten`.
    Flatten(Flatten),
    /// `dropout`.
    Dropout(Dropout),
    /// `dense`.
    Dense(DenseLayer),
    /// `batch_norm`.
    BatchNorm(BatchNorm),
}

fn activate<const D: usize>(x: Tensor<D>, activation: Activation) -> Tensor<D> {
    match activation {
        Activation::Linear | Activation::Softmax => x,
        Activation::Relu => relu(x),
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => tanh(x),
    }
}

/// Burn's `Dropout` layer (its record is ours) with its mask drawn from
/// `key` ([`kernels::dropout`]) instead of the backend's unseeded generator,
/// by the same rule: only while training, on an autodiff device.
fn drop<const D: usize>(dropout: &Dropout, x: Tensor<D>, key: u64) -> Tensor<D> {
    if dropout.training.is_enabled() && x.device().is_autodiff() && dropout.prob > 0.0 {
        kernels::dropout::dropout(x, dropout.prob, key)
    } else {
        x
    }
}

/// What flows between layers: feature maps, then after `flatten` vectors.
enum Flow {
    Maps(Tensor<4>),
    Flat(Tensor<2>),
}

/// A tensor copied to the host: its shape and its values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Burn's shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

impl HostTensor {
    fn of<const D: usize>(tensor: Tensor<D>) -> Self {
        let data = tensor.into_data().convert::<f32>();
        Self {
            shape: data.shape().to_vec(),
            values: data.try_to_vec::<f32>().unwrap_or_default(),
        }
    }
}

/// What one layer of a [`KerasNet`] has learned, on the host, in Burn's
/// layouts: what an exporter needs beside the layer list.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerWeights {
    /// Pooling, flatten, dropout: nothing learned.
    None,
    /// `conv2d`: weight `[filters, channels, k, k]` (PyTorch's and ONNX's
    /// layout too), bias `[filters]`.
    Conv2d {
        /// The kernels.
        weight: HostTensor,
        /// One per filter.
        bias: HostTensor,
    },
    /// `dense`: weight `[inputs, units]` (PyTorch's `Linear` holds its
    /// transpose), bias `[units]`.
    Dense {
        /// The matrix.
        weight: HostTensor,
        /// One per unit.
        bias: HostTensor,
    },
    /// `batch_norm`: per channel (or feature) scale, shift and the running
    /// statistics that inference uses.
    BatchNorm {
        /// Scale (gamma).
        gamma: HostTensor,
        /// Shift (beta).
        beta: HostTensor,
        /// Running mean.
        mean: HostTensor,
        /// Running variance.
        variance: HostTensor,
    },
}

/// `host` as Burn's data, if it has `shape`.
fn host_data(host: &HostTensor, shape: &[usize]) -> Result<TensorData, String> {
    if shape != host.shape || host.values.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "hold a tensor of shape {:?} where the layer has {shape:?}",
            host.shape
        ));
    }
    Ok(TensorData::new(host.values.clone(), host.shape.clone()))
}

/// `param` holding `host`'s values, if the shapes agree (same id, same
/// device, same gradient setting).
fn replace<const D: usize>(param: &mut Param<Tensor<D>>, host: &HostTensor) -> Result<(), String> {
    let data = host_data(host, &param.shape().dims::<D>())?;
    *param = param.clone().map(|old| {
        let grad = old.is_require_grad();
        Tensor::from_data(data, &old.device()).set_require_grad(grad)
    });
    Ok(())
}

/// [`replace`] for a running statistic.
fn replace_state(state: &mut RunningState<Tensor<1>>, host: &HostTensor) -> Result<(), String> {
    let old = state.value();
    let data = host_data(host, &old.shape().dims::<1>())?;
    state.update(Tensor::from_data(data, &old.device()));
    // `update` stages the value for this thread; folding it in now makes
    // `value` and the record see it.
    state.value_sync();
    Ok(())
}

/// A Keras `Sequential` network of checked layers (see [`KerasNetConfig`]).
#[derive(Module, Debug)]
pub struct KerasNet {
    layers: Vec<Layer>,
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

    /// Logits `[B, classes]` for images `[B, channels, side, side]`; a
    /// training pass draws its dropout masks from key 0 (see
    /// [`KerasNet::forward_keyed`]).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_keyed(images, 0)
    }

    /// [`KerasNet::forward`] whose dropout layers, when training (on an
    /// autodiff device), draw their masks from `noise` and their position in
    /// the list: give each training step its own key (the data loader's
    /// `MnistBatch::noise` of the data crate) and the same key gives the same masks on
    /// every backend.
    pub fn forward_keyed(&self, images: Tensor<4>, noise: u64) -> Tensor<2> {
        let mut flow = Flow::Maps(images);
        let mut layers = self.layers.iter().enumerate().peekable();
        while let Some((index, layer)) = layers.next() {
            let key = kernels::dropout::mix(noise).wrapping_add(index as u64);
            flow = match (layer, flow) {
                (Layer::Conv2d(conv), Flow::Maps(x)) => {
                    // A max-pool whose stride is its window fuses with the convolution.
                    let pool = match layers.peek() {
                        Some((_, Layer::MaxPool2d(pool))) if pool.stride == pool.kernel_size => {
                            layers.next();
                            Some(pool)
                        }
                        _ => None,
                    };
                    Flow::Maps(conv.forward(x, pool, self.kernels))
                }
                (Layer::MaxPool2d(pool), Flow::Maps(x)) => Flow::Maps(
                    if self.kernels == Kernels::Fast && pool.stride == pool.kernel_size {
                        kernels::max_pool2d(x, pool.kernel_size)
                    } else {
                        pool.forward(x)
                    },
                ),
                (Layer::AvgPool2d(pool), Flow::Maps(x)) => Flow::Maps(match self.kernels {
                    // The layer is built without padding (LayerConfig has none).
                    Kernels::Fast => kernels::avg_pool2d(x, pool.kernel_size, pool.stride),
                    Kernels::Stock => pool.forward(x),
                }),
                (Layer::Flatten(_), Flow::Maps(x)) => Flow::Flat(x.flatten(1, 3)),
                (Layer::Dropout(dropout), Flow::Maps(x)) => Flow::Maps(drop(dropout, x, key)),
                (Layer::Dropout(dropout), Flow::Flat(x)) => Flow::Flat(drop(dropout, x, key)),
                (Layer::BatchNorm(norm), Flow::Maps(x)) => {
                    Flow::Maps(normalize(norm, x, self.kernels))
                }
                (Layer::BatchNorm(norm), Flow::Flat(x)) => {
                    Flow::Flat(normalize(norm, x, self.kernels))
                }
                (Layer::Dense(dense), Flow::Flat(x)) => {
                    Flow::Flat(activate(dense.linear.forward(x), dense.activation))
                }
                (layer, _) => unreachable!("KerasNetConfig::check places {layer:?}"),
            };
        }
        match flow {
            Flow::Flat(logits) => logits,
            Flow::Maps(_) => unreachable!("KerasNetConfig::check ends in a dense layer"),
        }
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

    /// Each layer's learned values, in the order of the layer list.
    pub fn weights(&self) -> Vec<LayerWeights> {
        let bias = |bias: &Option<Param<Tensor<1>>>| {
            HostTensor::of(bias.as_ref().expect("Keras layers have a bias").val())
        };
        self.layers
            .iter()
            .map(|layer| match layer {
                Layer::Conv2d(conv) => LayerWeights::Conv2d {
                    weight: HostTensor::of(conv.conv.weight.val()),
                    bias: bias(&conv.conv.bias),
                },
                Layer::Dense(dense) => LayerWeights::Dense {
                    weight: HostTensor::of(dense.linear.weight.val()),
                    bias: bias(&dense.linear.bias),
                },
                Layer::BatchNorm(norm) => LayerWeights::BatchNorm {
                    gamma: HostTensor::of(norm.gamma.val()),
                    beta: HostTensor::of(norm.beta.val()),
                    // Synced: this thread's last update included.
                    mean: HostTensor::of(norm.running_mean.value_sync()),
                    variance: HostTensor::of(norm.running_var.value_sync()),
                },
                Layer::MaxPool2d(_)
                | Layer::AvgPool2d(_)
                | Layer::Flatten(_)
                | Layer::Dropout(_) => LayerWeights::None,
            })
            .collect()
    }

    /// The same network holding `weights` (as [`KerasNet::weights`] gives
    /// them, one entry per layer), each tensor checked against the shape of
    /// the parameter it replaces.
    pub fn with_weights(mut self, weights: &[LayerWeights]) -> Result<Self, LayerError> {
        let wrong = |index: usize, kind: &'static str, reason: String| LayerError {
            index,
            kind,
            key: "weights",
            reason,
        };
        if weights.len() != self.layers.len() {
            return Err(wrong(
                0,
                "",
                format!(
                    "{} layers of weights for {} layers",
                    weights.len(),
                    self.layers.len()
                ),
            ));
        }
        for (index, (layer, weights)) in self.layers.iter_mut().zip(weights).enumerate() {
            let kind = match layer {
                Layer::Conv2d(_) => "conv2d",
                Layer::MaxPool2d(_) => "max_pool2d",
                Layer::AvgPool2d(_) => "avg_pool2d",
                Layer::Flatten(_) => "flatten",
                Layer::Dropout(_) => "dropout",
                Layer::Dense(_) => "dense",
                Layer::BatchNorm(_) => "batch_norm",
            };
            let set = |tensor: &mut Param<Tensor<1>>, host: &HostTensor| replace(tensor, host);
            let result = match (layer, weights) {
                (Layer::Conv2d(conv), LayerWeights::Conv2d { weight, bias }) => {
                    replace(&mut conv.conv.weight, weight)
                        .and_then(|()| set(conv.conv.bias.as_mut().expect("a bias"), bias))
                }
                (Layer::Dense(dense), LayerWeights::Dense { weight, bias }) => {
                    replace(&mut dense.linear.weight, weight)
                        .and_then(|()| set(dense.linear.bias.as_mut().expect("a bias"), bias))
                }
                (
                    Layer::BatchNorm(norm),
                    LayerWeights::BatchNorm {
                        gamma,
                        beta,
                        mean,
                        variance,
                    },
                ) => set(&mut norm.gamma, gamma)
                    .and_then(|()| set(&mut norm.beta, beta))
                    .and_then(|()| replace_state(&mut norm.running_mean, mean))
                    .and_then(|()| replace_state(&mut norm.running_var, variance)),
                (
                    Layer::MaxPool2d(_)
                    | Layer::AvgPool2d(_)
                    | Layer::Flatten(_)
                    | Layer::Dropout(_),
                    LayerWeights::None,
                ) => Ok(()),
                _ => Err("are of another layer type".to_owned()),
            };
            result.map_err(|reason| wrong(index, kind, reason))?;
        }
        Ok(self)
    }

    /// Class probabilities `[B, classes]`, each row summing to 1 (Keras's softmax output).
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}
