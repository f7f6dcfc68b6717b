//! An ONNX model read back as burnist's layer list: a graph that is one
//! chain of the operators burnist's layers compute (as burnist's export, or
//! PyTorch's `torch.onnx.export` of an `nn.Sequential` MNIST net, writes
//! it) becomes layers and their weights. Anything burnist cannot express is
//! refused, naming the node and the operator: never approximated.

use std::collections::HashMap;

use data::{IMAGE_SIDE, PixelScaling};
use model::{Activation, HostTensor, LayerConfig, LayerWeights, Padding};
use prost::Message;

use crate::onnx::keys;
use crate::proto::{AttributeProto, DataType, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use crate::torch::transpose;

/// A model read from an ONNX file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The network.
    pub layers: Vec<LayerConfig>,
    /// What each layer learned.
    pub weights: Vec<LayerWeights>,
    /// The pixel scaling the graph starts with, when it is burnist's.
    pub scaling: Option<PixelScaling>,
    /// Who wrote the file (`pytorch 2.9.0`, `burnist 0.1.0`).
    pub producer: String,
    /// The run a burnist export came from (`EXPERIMENT/run-NNN`).
    pub run: Option<String>,
}

/// Why an ONNX file cannot become a burnist network, in one line (the
/// caller prefixes the file's name).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// Not protobuf, or not an ONNX model.
    #[error("not an ONNX model ({0})")]
    NotAModel(String),
    /// A model without a graph.
    #[error("not an ONNX model (it holds no graph)")]
    NoGraph,
    /// Weights kept in another file that cannot be read as the model says.
    #[error("constant `{name}`: its external data {reason}")]
    External {
        /// The constant.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Not one image input of burnist's shape.
    #[error(
        "the graph takes {found}; burnist's networks take one float input [batch, 1, {IMAGE_SIDE}, {IMAGE_SIDE}]"
    )]
    Input {
        /// What it takes.
        found: String,
    },
    /// An operator no layer computes.
    #[error("node `{node}` ({op}): burnist has no layer computing this operator")]
    Operator {
        /// The node's name.
        node: String,
        /// Its operator.
        op: String,
    },
    /// An operator burnist has, used in a way its layer is not.
    #[error("node `{node}` ({op}): {reason}")]
    Unsupported {
        /// The node's name.
        node: String,
        /// Its operator.
        op: String,
        /// What burnist cannot express.
        reason: String,
    },
}

/// Reads the ONNX model in `bytes`; `external` reads the file a constant
/// names as its external data (PyTorch's `dynamo` exporter keeps weights
/// beside the model), given that name as the file gives it.
pub fn import(
    bytes: &[u8],
    external: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Imported, ImportError> {
    let model = ModelProto::decode(bytes).map_err(|err| ImportError::NotAModel(err.to_string()))?;
    let run = model.metadata(keys::RUN).map(str::to_owned);
    let producer = format!("{} {}", model.producer_name, model.producer_version)
        .trim()
        .to_owned();
    let graph = model.graph.ok_or(ImportError::NoGraph)?;
    if graph.node.is_empty() && graph.input.is_empty() {
        return Err(ImportError::NoGraph);
    }
    let mut constants: HashMap<String, TensorProto> = HashMap::new();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for mut tensor in graph.initializer {
        if tensor.data_location == 1 {
            tensor.raw_data = external_data(&tensor, &mut files, external)?;
        }
        constants.insert(tensor.name.clone(), tensor);
    }
    let input = image_input(&graph.input, &constants)?;
    let mut reader = Reader {
        constants,
        current: input,
        layers: Vec::new(),
        weights: Vec::new(),
        scaling: None,
    };
    let nodes = graph.node;
    let mut position = 0;
    reader.scaling = reader.scaling(&nodes, &mut position);
    for (index, node) in nodes.iter().enumerate().skip(position) {
        reader.node(node, index + 1 == nodes.len())?;
    }
    // A graph ending in logits (PyTorch's) classifies as one ending in the
    // softmax: burnist's probabilities apply it after the last layer.
    if let Some(LayerConfig::Dense { activation, .. }) = reader.layers.last_mut()
        && *activation == Activation::Linear
    {
        *activation = Activation::Softmax;
    }
    Ok(Imported {
        layers: reader.layers,
        weights: reader.weights,
        scaling: reader.scaling,
        producer,
        run,
    })
}

/// The bytes of a constant kept outside the model: `location`, `offset`
/// and `length` as the file says, read through `external` once per file.
fn external_data(
    tensor: &TensorProto,
    files: &mut HashMap<String, Vec<u8>>,
    external: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, ImportError> {
    let refuse = |reason: String| ImportError::External {
        name: tensor.name.clone(),
        reason,
    };
    let entry = |key: &str| {
        tensor
            .external_data
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| entry.value.as_str())
    };
    let location = entry("location").ok_or_else(|| refuse("names no file".into()))?;
    let number = |key: &str| -> Result<Option<usize>, ImportError> {
        entry(key)
            .map(|text| {
                text.parse()
                    .map_err(|_| refuse(format!("has {key} `{text}`")))
            })
            .transpose()
    };
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    if !files.contains_key(location) {
        files.insert(location.to_owned(), external(location).map_err(refuse)?);
    }
    let data = &files[location];
    let end = length.map_or(Some(data.len()), |length| offset.checked_add(length));
    end.and_then(|end| data.get(offset..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            refuse(format!(
                "lies beyond the {} bytes of `{location}`",
                data.len()
            ))
        })
}

/// The graph's one image input, checked: its name.
fn image_input(
    inputs: &[ValueInfoProto],
    constants: &HashMap<String, TensorProto>,
) -> Result<String, ImportError> {
    // Old exporters list the initializers among the inputs too.
    let inputs: Vec<&ValueInfoProto> = inputs
        .iter()
        .filter(|input| !constants.contains_key(&input.name))
        .collect();
    let [input] = inputs[..] else {
        return Err(ImportError::Input {
            found: format!("{} inputs", inputs.len()),
        });
    };
    let tensor = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    let dims: Vec<Option<i64>> = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|shape| shape.dim.iter().map(|d| d.dim_value).collect())
        .unwrap_or_default();
    let side = IMAGE_SIDE as i64;
    let shape_ok = matches!(dims[..], [_, Some(1), Some(h), Some(w)] if h == side && w == side);
    let float = tensor.is_some_and(|t| t.elem_type == DataType::Float as i32);
    if !(shape_ok && float) {
        let shape: Vec<String> = dims
            .iter()
            .map(|d| d.map_or_else(|| "batch".to_owned(), |d| d.to_string()))
            .collect();
        return Err(ImportError::Input {
            found: format!(
                "`{}` of shape [{}]{}",
                input.name,
                shape.join(", "),
                if float { "" } else { " (not float)" }
            ),
        });
    }
    Ok(input.name.clone())
}

/// The chain read so far.
struct Reader {
    constants: HashMap<String, TensorProto>,
    /// The value the next node must read.
    current: String,
    layers: Vec<LayerConfig>,
    weights: Vec<LayerWeights>,
    scaling: Option<PixelScaling>,
}

impl Reader {
    /// burnist's pixel scaling at the start of the graph (`Div 255`, then
    /// for `standard` `Sub mean`, `Div std`), stepping `position` past it.
    fn scaling(&mut self, nodes: &[NodeProto], position: &mut usize) -> Option<PixelScaling> {
        let by = |node: Option<&NodeProto>, op: &str, input: &str, value: f32| {
            let node = node.filter(|node| node.op_type == op && node.input.len() == 2)?;
            let constant = self.constants.get(&node.input[1])?;
            let values = floats(constant).ok()?;
            (node.input[0] == input && values == [value]).then(|| node.output.first().cloned())?
        };
        let unit = by(nodes.first(), "Div", &self.current, 255.0)?;
        let standard = by(nodes.get(1), "Sub", &unit, PixelScaling::MNIST_MEAN)
            .and_then(|centred| by(nodes.get(2), "Div", &centred, PixelScaling::MNIST_STD));
        match standard {
            Some(output) => {
                *position = 3;
                self.current = output;
                Some(PixelScaling::Standard)
            }
            None => {
                *position = 1;
                self.current = unit;
                Some(PixelScaling::Unit)
            }
        }
    }

    /// Reads one node; `last` for the graph's last.
    fn node(&mut self, node: &NodeProto, last: bool) -> Result<(), ImportError> {
        let op = node.op_type.as_str();
        let name = if node.name.is_empty() {
            node.output.first().cloned().unwrap_or_default()
        } else {
            node.name.clone()
        };
        let refuse = |reason: String| ImportError::Unsupported {
            node: name.clone(),
            op: op.to_owned(),
            reason,
        };
        if op == "Constant" {
            let value = attribute(node, "value")
                .and_then(|a| a.t.clone())
                .ok_or_else(|| refuse("a constant that is not a tensor".into()))?;
            if let Some(output) = node.output.first() {
                self.constants.insert(output.clone(), value);
            }
            return Ok(());
        }
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(ImportError::Operator {
                node: name,
                op: format!("{}.{op}", node.domain),
            });
        }
        if node.input.first() != Some(&self.current) {
            return Err(refuse(format!(
                "reads `{}`, not the output of the node before it: burnist's networks are one chain",
                node.input.first().map_or("", String::as_str)
            )));
        }
        let constant = |index: usize| -> Result<Option<HostTensor>, ImportError> {
            let Some(input) = node.input.get(index).filter(|input| !input.is_empty()) else {
                return Ok(None);
            };
            let tensor = self
                .constants
                .get(input)
                .ok_or_else(|| refuse(format!("input `{input}` is not a constant of the file")))?;
            let values = floats(tensor).map_err(refuse)?;
            let shape = tensor.dims.iter().map(|&d| d as usize).collect();
            Ok(Some(HostTensor { shape, values }))
        };
        let required =
            |index: usize, what: &str| constant(index)?.ok_or_else(|| refuse(format!("no {what}")));
        match op {
            "Identity" => {}
            "Conv" => {
                let weight = required(1, "weight")?;
                let [filters, _, k, k2] = weight.shape[..] else {
                    return Err(refuse(format!("a weight of shape {:?}", weight.shape)));
                };
                if k != k2 {
                    return Err(refuse(format!(
                        "a {k}x{k2} kernel: burnist's kernels are square"
                    )));
                }
                let bias = constant(2)?.unwrap_or(HostTensor {
                    shape: vec![filters],
                    values: vec![0.0; filters],
                });
                check_absent(node, "group", 1, &refuse)?;
                check_ints(node, "dilations", 1, &refuse)?;
                check_auto_pad(node, &refuse)?;
                let strides = square(node, "strides", 1, &refuse)?;
                let pad = uniform_pads(node, &refuse)?;
                let padding = match pad {
                    0 => Padding::Valid,
                    p if k % 2 == 1 && p == k / 2 => Padding::Same,
                    p => {
                        return Err(refuse(format!(
                            "pads of {p} with a {k}x{k} kernel: burnist pads 0 (valid) or half an odd kernel (same)"
                        )));
                    }
                };
                self.push(
                    LayerConfig::Conv2d {
                        filters,
                        kernel_size: k,
                        padding,
                        strides,
                        activation: Activation::Linear,
                    },
                    LayerWeights::Conv2d { weight, bias },
                );
            }
            "MaxPool" | "AveragePool" => {
                let kernel = attribute(node, "kernel_shape").map(|a| a.ints.clone());
                let size = match kernel.as_deref() {
                    Some(&[h, w]) if h == w && h > 0 => h as usize,
                    _ => {
                        return Err(refuse(format!(
                            "kernel_shape {kernel:?}: burnist's pools are square"
                        )));
                    }
                };
                let strides = square(node, "strides", 1, &refuse)?;
                if uniform_pads(node, &refuse)? != 0 {
                    return Err(refuse("padding: burnist pools without padding".into()));
                }
                check_absent(node, "ceil_mode", 0, &refuse)?;
                check_ints(node, "dilations", 1, &refuse)?;
                check_auto_pad(node, &refuse)?;
                if op == "MaxPool" && node.output.len() > 1 {
                    return Err(refuse(
                        "its indices output: burnist's pools return values only".into(),
                    ));
                }
                let strides = (strides != size).then_some(strides);
                let layer = if op == "MaxPool" {
                    LayerConfig::MaxPool2d {
                        pool_size: size,
                        strides,
                    }
                } else {
                    LayerConfig::AvgPool2d {
                        pool_size: size,
                        strides,
                    }
                };
                self.push(layer, LayerWeights::None);
            }
            "Reshape" => {
                // PyTorch's `dynamo` exporter writes `nn.Flatten` as a reshape
                // to [batch, features]: read as that, the dense layer after
                // it then checks the features.
                let shape = node
                    .input
                    .get(1)
                    .and_then(|input| self.constants.get(input))
                    .map(int64s)
                    .ok_or_else(|| refuse("a shape that is not a constant of the file".into()))?
                    .map_err(refuse)?;
                match shape[..] {
                    [-1..=1, features] if features != 0 => {}
                    _ => {
                        return Err(refuse(format!(
                            "to {shape:?}: burnist reshapes only as flatten does, to [batch, features]"
                        )));
                    }
                }
                self.push(LayerConfig::Flatten, LayerWeights::None);
            }
            "Flatten" => {
                let axis = attribute(node, "axis").map_or(1, |a| a.i);
                if axis != 1 {
                    return Err(refuse(format!("axis {axis}: burnist flattens from axis 1")));
                }
                self.push(LayerConfig::Flatten, LayerWeights::None);
            }
            "Dropout" => {
                let rate = match constant(1)? {
                    Some(ratio) => ratio.values.first().copied().unwrap_or(0.5),
                    None => attribute(node, "ratio").map_or(0.5, |a| a.f),
                };
                if node.input.len() > 2 {
                    return Err(refuse(
                        "a training_mode input: burnist's dropout trains only while training"
                            .into(),
                    ));
                }
                self.push(
                    LayerConfig::Dropout {
                        rate: decimal(rate),
                    },
                    LayerWeights::None,
                );
            }
            "Gemm" => {
                check_absent(node, "transA", 0, &refuse)?;
                for key in ["alpha", "beta"] {
                    if let Some(value) = attribute(node, key).map(|a| a.f)
                        && value != 1.0
                    {
                        return Err(refuse(format!(
                            "{key} {value}: burnist's dense layers compute x.W + b"
                        )));
                    }
                }
                let transposed = attribute(node, "transB").is_some_and(|a| a.i == 1);
                let weight = required(1, "weight")?;
                let [rows, cols] = weight.shape[..] else {
                    return Err(refuse(format!("a weight of shape {:?}", weight.shape)));
                };
                let (weight, units) = if transposed {
                    (transpose(&weight), rows)
                } else {
                    (weight, cols)
                };
                let bias = constant(2)?.unwrap_or(HostTensor {
                    shape: vec![units],
                    values: vec![0.0; units],
                });
                if bias.values.len() != units {
                    return Err(refuse(format!(
                        "a bias of shape {:?} for {units} units",
                        bias.shape
                    )));
                }
                let bias = HostTensor {
                    shape: vec![units],
                    values: bias.values,
                };
                self.push(
                    LayerConfig::Dense {
                        units,
                        activation: Activation::Linear,
                    },
                    LayerWeights::Dense { weight, bias },
                );
            }
            "BatchNormalization" => {
                if attribute(node, "training_mode").is_some_and(|a| a.i != 0)
                    || node.output.len() > 1
                {
                    return Err(refuse(
                        "training mode: burnist's batch norm is read for inference".into(),
                    ));
                }
                let epsilon = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
                let [gamma, beta, mean, variance] =
                    [1, 2, 3, 4].map(|index| required(index, "statistic"));
                self.push(
                    LayerConfig::BatchNorm {
                        momentum: 0.99,
                        epsilon: decimal(epsilon),
                    },
                    LayerWeights::BatchNorm {
                        gamma: gamma?,
                        beta: beta?,
                        mean: mean?,
                        variance: variance?,
                    },
                );
            }
            "Relu" | "Sigmoid" | "Tanh" | "Softmax" => {
                let activation = match op {
                    "Relu" => Activation::Relu,
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    _ => {
                        let axis = attribute(node, "axis").map_or(-1, |a| a.i);
                        if !last || !(axis == 1 || axis == -1) {
                            return Err(refuse(
                                "burnist applies a softmax over the classes, after the last layer only".into(),
                            ));
                        }
                        Activation::Softmax
                    }
                };
                let Some(
                    LayerConfig::Conv2d {
                        activation: slot, ..
                    }
                    | LayerConfig::Dense {
                        activation: slot, ..
                    },
                ) = self.layers.last_mut()
                else {
                    return Err(refuse(
                        "burnist applies activations only in conv2d and dense layers".into(),
                    ));
                };
                if *slot != Activation::Linear {
                    return Err(refuse("a second activation on one layer".into()));
                }
                *slot = activation;
            }
            _ => {
                return Err(ImportError::Operator {
                    node: name,
                    op: op.to_owned(),
                });
            }
        }
        if let Some(output) = node.output.first() {
            self.current = output.clone();
        }
        Ok(())
    }

    fn push(&mut self, layer: LayerConfig, weights: LayerWeights) {
        self.layers.push(layer);
        self.weights.push(weights);
    }
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// An integer attribute that, when present, must be `expected`.
fn check_absent(
    node: &NodeProto,
    name: &str,
    expected: i64,
    refuse: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    match attribute(node, name).map(|a| a.i) {
        Some(value) if value != expected => Err(refuse(format!(
            "{name} {value}: burnist computes {name} {expected} only"
        ))),
        _ => Ok(()),
    }
}

/// An integer-list attribute that, when present, must hold `expected` only.
fn check_ints(
    node: &NodeProto,
    name: &str,
    expected: i64,
    refuse: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    match attribute(node, name).map(|a| &a.ints) {
        Some(values) if values.iter().any(|&v| v != expected) => Err(refuse(format!(
            "{name} {values:?}: burnist computes {name} of {expected} only"
        ))),
        _ => Ok(()),
    }
}

fn check_auto_pad(
    node: &NodeProto,
    refuse: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    match attribute(node, "auto_pad").map(|a| String::from_utf8_lossy(&a.s).into_owned()) {
        Some(mode) if mode != "NOTSET" && mode != "VALID" => {
            Err(refuse(format!("auto_pad {mode}: give the pads explicitly")))
        }
        _ => Ok(()),
    }
}

/// A two-axis attribute with the same value on both axes (`default` when absent).
fn square(
    node: &NodeProto,
    name: &str,
    default: usize,
    refuse: &impl Fn(String) -> ImportError,
) -> Result<usize, ImportError> {
    match attribute(node, name).map(|a| &a.ints[..]) {
        None => Ok(default),
        Some(&[a, b]) if a == b && a > 0 => Ok(a as usize),
        Some(values) => Err(refuse(format!(
            "{name} {values:?}: burnist's are the same on both axes"
        ))),
    }
}

/// `pads` the same on every side: that amount.
fn uniform_pads(
    node: &NodeProto,
    refuse: &impl Fn(String) -> ImportError,
) -> Result<usize, ImportError> {
    match attribute(node, "pads").map(|a| &a.ints[..]) {
        None => Ok(0),
        Some(pads) if pads.len() == 4 && pads.iter().all(|&p| p == pads[0] && p >= 0) => {
            Ok(pads[0] as usize)
        }
        Some(pads) => Err(refuse(format!(
            "pads {pads:?}: burnist pads every side alike"
        ))),
    }
}

/// An int64 constant's values.
fn int64s(tensor: &TensorProto) -> Result<Vec<i64>, String> {
    if tensor.data_type != DataType::Int64 as i32 {
        return Err(format!(
            "constant `{}` is of ONNX type {}, not int64",
            tensor.name, tensor.data_type
        ));
    }
    Ok(if tensor.raw_data.is_empty() {
        tensor.int64_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect()
    })
}

/// A float constant's values.
fn floats(tensor: &TensorProto) -> Result<Vec<f32>, String> {
    if tensor.data_type != DataType::Float as i32 {
        return Err(format!(
            "constant `{}` is of ONNX type {}, not float",
            tensor.name, tensor.data_type
        ));
    }
    let count: i64 = tensor.dims.iter().product();
    let values: Vec<f32> = if tensor.raw_data.is_empty() {
        tensor.float_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    if values.len() as i64 != count {
        return Err(format!(
            "constant `{}` holds {} values for its shape {:?}",
            tensor.name,
            values.len(),
            tensor.dims
        ));
    }
    Ok(values)
}

/// A float32 setting as the shortest decimal that reads back as it (the
/// `1e-3` a config wrote, not `0.0010000000474974513`).
fn decimal(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}
