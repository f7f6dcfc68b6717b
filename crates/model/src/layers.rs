//! The network as a list of layers, Keras's `Sequential`, in the words of
//! an experiment file's `[[model.layers]]`; checked against the input shape
//! before anything is built, and summarised as Keras's `model.summary()`.

use serde::{Deserialize, Serialize};

/// What follows a convolution or a dense layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "an activation name")]
pub enum Activation {
    /// None (Keras's default).
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// The last dense layer only: the network trains on its logits and the
    /// softmax lives in the loss (and in the predicted probabilities).
    Softmax,
}

/// How a convolution treats the border.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "`valid` or `same`")]
pub enum Padding {
    /// No padding: the output shrinks by `kernel_size - 1` (Keras's default).
    #[default]
    Valid,
    /// Zeros around the input so that a stride-1 output keeps its size.
    Same,
}

/// One layer of `[[model.layers]]`, tagged by `type`; the keys and their
/// defaults are Keras's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    deny_unknown_fields,
    expecting = "a layer table with a `type`"
)]
pub enum LayerConfig {
    /// `Conv2D(filters, kernel_size, strides, padding, activation)`.
    Conv2d {
        /// Output channels.
        filters: usize,
        /// Side of the square kernel.
        kernel_size: usize,
        /// `valid` (default) or `same`.
        #[serde(default)]
        padding: Padding,
        /// Step between windows. Default 1.
        #[serde(default = "one")]
        strides: usize,
        /// Default `linear`.
        #[serde(default)]
        activation: Activation,
    },
    /// `MaxPooling2D(pool_size, strides)`, valid padding.
    MaxPool2d {
        /// Side of the square window.
        pool_size: usize,
        /// Step between windows. Default: `pool_size`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strides: Option<usize>,
    },
    /// `AveragePooling2D(pool_size, strides)`, valid padding.
    AvgPool2d {
        /// Side of the square window.
        pool_size: usize,
        /// Step between windows. Default: `pool_size`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strides: Option<usize>,
    },
    /// `Flatten()`: feature maps to one vector per image.
    Flatten,
    /// `Dropout(rate)`: zeroes that fraction of its inputs while training.
    Dropout {
        /// In `[0, 1)`.
        rate: f64,
    },
    /// `Dense(units, activation)`.
    Dense {
        /// Outputs.
        units: usize,
        /// Default `linear`; `softmax` on the last layer only.
        #[serde(default)]
        activation: Activation,
    },
    /// `BatchNormalization()` over the channels (or the features after
    /// `flatten`).
    BatchNorm {
        /// Keras's: the running statistics keep this fraction each step. Default 0.99.
        #[serde(default = "keras_momentum")]
        momentum: f64,
        /// Added to the variance. Default 1e-3 (Keras's).
        #[serde(default = "keras_epsilon")]
        epsilon: f64,
    },
}

fn one() -> usize {
    1
}

fn keras_momentum() -> f64 {
    0.99
}

fn keras_epsilon() -> f64 {
    1e-3
}

impl LayerConfig {
    /// The `type` as written in configs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Conv2d { .. } => "conv2d",
            Self::MaxPool2d { .. } => "max_pool2d",
            Self::AvgPool2d { .. } => "avg_pool2d",
            Self::Flatten => "flatten",
            Self::Dropout { .. } => "dropout",
            Self::Dense { .. } => "dense",
            Self::BatchNorm { .. } => "batch_norm",
        }
    }

    /// The notebook's network: `Conv2D(8, 3x3)` without activation,
    /// `MaxPooling2D(2)`, `Flatten`, `Dense(10, softmax)`.
    pub fn notebook() -> Vec<Self> {
        vec![
            Self::Conv2d {
                filters: 8,
                kernel_size: 3,
                padding: Padding::Valid,
                strides: 1,
                activation: Activation::Linear,
            },
            Self::MaxPool2d {
                pool_size: 2,
                strides: None,
            },
            Self::Flatten,
            Self::Dense {
                units: 10,
                activation: Activation::Softmax,
            },
        ]
    }
}

/// The shape of what flows between layers, per image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Feature maps: channels, rows and columns (square).
    Maps {
        /// Channels.
        channels: usize,
        /// Rows and columns.
        side: usize,
    },
    /// One vector of features.
    Flat(usize),
}

impl Shape {
    /// As Keras prints it (channels last): `(None, 13, 13, 8)`, `(None, 1352)`.
    pub fn keras(self) -> String {
        match self {
            Self::Maps { channels, side } => format!("(None, {side}, {side}, {channels})"),
            Self::Flat(features) => format!("(None, {features})"),
        }
    }

    /// Values per image: what `flatten` makes of it.
    pub fn features(self) -> usize {
        match self {
            Self::Maps { channels, side } => channels * side * side,
            Self::Flat(features) => features,
        }
    }

    /// Channels a batch norm normalises: the maps' or the features.
    pub fn channels(self) -> usize {
        match self {
            Self::Maps { channels, .. } => channels,
            Self::Flat(features) => features,
        }
    }
}

/// A layer that does not fit its input or the network: which layer, which
/// key, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct LayerError {
    /// The layer's position in `[[model.layers]]`, from 0.
    pub index: usize,
    /// Its `type`.
    pub kind: &'static str,
    /// The key at fault (`type` for the layer's place in the list).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl LayerError {
    /// `model.layers[3] (dense): units 12: ...`, or for the list itself
    /// (no layer to name) `model.layers: ...`.
    fn describe(&self) -> String {
        if self.kind.is_empty() {
            format!("model.layers: {}", self.reason)
        } else {
            format!(
                "model.layers[{}] ({}): {} {}",
                self.index, self.kind, self.key, self.reason
            )
        }
    }
}

/// The largest sizes accepted: beyond them a typo would allocate more than
/// the machine has before anything fails.
pub const MAX_UNITS: usize = 1 << 16;
/// See [`MAX_UNITS`]: 200 MB of weights, several times that to train.
pub const MAX_PARAMS: usize = 50_000_000;

/// One row of the summary: a checked layer with its output shape and
/// trainable parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The layer.
    pub layer: LayerConfig,
    /// What it outputs, per image.
    pub output: Shape,
    /// Its trainable parameters.
    pub params: usize,
    /// Its statistics that training updates without a gradient (a batch
    /// norm's moving mean and variance), which Keras's summary counts too.
    pub non_trainable: usize,
}

/// Checks `layers` against images of `input` and a `classes`-way output,
/// and returns one [`SummaryRow`] per layer.
pub fn check(
    layers: &[LayerConfig],
    input: Shape,
    classes: usize,
) -> Result<Vec<SummaryRow>, LayerError> {
    if layers.is_empty() {
        return Err(LayerError {
            index: 0,
            kind: "",
            key: "type",
            reason: format!("the list is empty: it must end in a dense layer of {classes} units"),
        });
    }
    let mut shape = input;
    let mut total = 0;
    let mut rows = Vec::with_capacity(layers.len());
    for (index, layer) in layers.iter().enumerate() {
        let fail = |key, reason: String| LayerError {
            index,
            kind: layer.kind(),
            key,
            reason,
        };
        let at_least_one = |key, value: usize| {
            if value == 0 {
                Err(fail(key, "must be at least 1".into()))
            } else if value > MAX_UNITS {
                Err(fail(
                    key,
                    format!("{value} is more than the {MAX_UNITS} allowed"),
                ))
            } else {
                Ok(())
            }
        };
        let maps = |shape: Shape| match shape {
            Shape::Maps { channels, side } => Ok((channels, side)),
            Shape::Flat(_) => Err(fail(
                "type",
                "needs feature maps, but it comes after flatten".into(),
            )),
        };
        let last = index + 1 == layers.len();
        let mut non_trainable = 0;
        let (output, params) = match *layer {
            LayerConfig::Conv2d {
                filters,
                kernel_size,
                padding,
                strides,
                activation,
            } => {
                let (channels, side) = maps(shape)?;
                at_least_one("filters", filters)?;
                at_least_one("kernel_size", kernel_size)?;
                at_least_one("strides", strides)?;
                if activation == Activation::Softmax {
                    return Err(fail(
                        "activation",
                        "softmax is for the last dense layer only".into(),
                    ));
                }
                let out = match padding {
                    Padding::Valid if kernel_size > side => {
                        return Err(fail(
                            "kernel_size",
                            format!("{kernel_size} is larger than its {side}x{side} input"),
                        ));
                    }
                    Padding::Valid => (side - kernel_size) / strides + 1,
                    // Keras pads `same` unevenly for even kernels or strides
                    // above 1; Burn's convolution pads evenly.
                    Padding::Same if kernel_size.is_multiple_of(2) || strides != 1 => {
                        return Err(fail(
                            "padding",
                            "same needs an odd kernel_size and strides 1".into(),
                        ));
                    }
                    Padding::Same => side,
                };
                (
                    Shape::Maps {
                        channels: filters,
                        side: out,
                    },
                    filters * (channels * kernel_size * kernel_size + 1),
                )
            }
            LayerConfig::MaxPool2d { pool_size, strides }
            | LayerConfig::AvgPool2d { pool_size, strides } => {
                let (channels, side) = maps(shape)?;
                at_least_one("pool_size", pool_size)?;
                let strides = strides.unwrap_or(pool_size);
                at_least_one("strides", strides)?;
                if pool_size > side {
                    return Err(fail(
                        "pool_size",
                        format!("{pool_size} is larger than its {side}x{side} input"),
                    ));
                }
                (
                    Shape::Maps {
                        channels,
                        side: (side - pool_size) / strides + 1,
                    },
                    0,
                )
            }
            LayerConfig::Flatten => {
                maps(shape)?;
                (Shape::Flat(shape.features()), 0)
            }
            LayerConfig::Dropout { rate } => {
                if !(0.0..1.0).contains(&rate) {
                    return Err(fail("rate", format!("{rate} must be in [0, 1)")));
                }
                (shape, 0)
            }
            LayerConfig::Dense { units, activation } => {
                let Shape::Flat(features) = shape else {
                    return Err(fail(
                        "type",
                        "needs flat features: put a flatten layer before it".into(),
                    ));
                };
                at_least_one("units", units)?;
                if activation == Activation::Softmax && !last {
                    return Err(fail(
                        "activation",
                        "softmax is for the last dense layer only".into(),
                    ));
                }
                (Shape::Flat(units), (features + 1) * units)
            }
            LayerConfig::BatchNorm { momentum, epsilon } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(fail("momentum", format!("{momentum} must be in [0, 1)")));
                }
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return Err(fail(
                        "epsilon",
                        format!("{epsilon} must be a positive number"),
                    ));
                }
                non_trainable = 2 * shape.channels();
                (shape, 2 * shape.channels())
            }
        };
        total += params;
        if total > MAX_PARAMS {
            let (key, value) = match *layer {
                LayerConfig::Conv2d { filters, .. } => ("filters", format!("{filters} ")),
                LayerConfig::Dense { units, .. } => ("units", format!("{units} ")),
                _ => ("type", String::new()),
            };
            return Err(fail(
                key,
                format!(
                    "{value}brings the network to {} parameters, more than the {} allowed",
                    thousands(total),
                    thousands(MAX_PARAMS)
                ),
            ));
        }
        if output.features() == 0 {
            return Err(fail("type", "leaves nothing of its input".into()));
        }
        shape = output;
        rows.push(SummaryRow {
            layer: layer.clone(),
            output,
            params,
            non_trainable,
        });
    }
    let last = layers.len() - 1;
    match layers[last] {
        LayerConfig::Dense { units, .. } if units == classes => Ok(rows),
        LayerConfig::Dense { units, .. } => Err(LayerError {
            index: last,
            kind: "dense",
            key: "units",
            reason: format!("{units}: the last layer must have {classes}, one per class"),
        }),
        ref other => Err(LayerError {
            index: last,
            kind: other.kind(),
            key: "type",
            reason: format!("the last layer must be a dense layer of {classes} units"),
        }),
    }
}

/// Keras's `model.summary()`: one line per layer (its type, output shape,
/// parameters), then the totals.
pub fn summary(rows: &[SummaryRow]) -> String {
    let line =
        |layer: &str, shape: &str, params: &str| format!("{layer:<24}{shape:<22}{params:>10}");
    let rule = "=".repeat(56);
    let mut lines = vec![
        line("Layer (type)", "Output Shape", "Param #"),
        rule.clone(),
    ];
    for (index, row) in rows.iter().enumerate() {
        lines.push(line(
            &format!("{} ({index})", row.layer.kind()),
            &row.output.keras(),
            &thousands(row.params + row.non_trainable),
        ));
    }
    let trainable: usize = rows.iter().map(|row| row.params).sum();
    let fixed: usize = rows.iter().map(|row| row.non_trainable).sum();
    lines.push(rule);
    lines.push(format!("Total params: {}", thousands(trainable + fixed)));
    lines.push(format!("Trainable params: {}", thousands(trainable)));
    lines.push(format!("Non-trainable params: {}", thousands(fixed)));
    lines.join("\n")
}

/// `13610` as `13,610`.
fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
