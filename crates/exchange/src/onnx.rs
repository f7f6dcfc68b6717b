//! A network as an ONNX model: the run's pixel scaling first, then one or
//! two nodes per layer, then the softmax, so the file takes raw 0..255
//! pixels `[batch, 1, 28, 28]` and returns the ten probabilities, exactly
//! as `trainer predict` does.

use data::{IMAGE_SIDE, NUM_CLASSES, PixelScaling};
use model::{Activation, HostTensor, LayerConfig, LayerWeights, Padding};
use prost::Message;

use crate::error::ExchangeError;
use crate::proto::{
    AttributeProto, AttributeType, DataType, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto,
    TypeTensor, ValueInfoProto,
};

/// The ONNX operator set the files use (BatchNormalization 15, Softmax 13,
/// Dropout 13, Conv/Gemm/pools 11+).
pub const OPSET: i64 = 17;
/// The file format version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;
/// The graph's input: raw pixels `[batch, 1, 28, 28]`, 0..255.
pub const INPUT: &str = "pixels";
/// The graph's output: `[batch, 10]`, each row summing to 1.
pub const OUTPUT: &str = "probabilities";

/// Metadata keys of an exported model.
pub mod keys {
    /// The pixel scaling the graph starts with (`raw`, `unit`, `standard`).
    pub const SCALING: &str = "burnist.scaling";
    /// The run the weights come from.
    pub const RUN: &str = "burnist.run";
    /// The input, as `name [shape]: meaning`.
    pub const INPUT: &str = "burnist.input";
    /// The output, likewise.
    pub const OUTPUT: &str = "burnist.output";
    /// The layer list, as the run's config writes it (JSON).
    pub const LAYERS: &str = "burnist.layers";
}

/// The ONNX file of the network `layers` with `weights`, whose inputs are
/// scaled by `scaling`; `run` names where it comes from (metadata).
pub fn export(
    layers: &[LayerConfig],
    weights: &[LayerWeights],
    scaling: PixelScaling,
    run: &str,
) -> Result<Vec<u8>, ExchangeError> {
    if layers.len() != weights.len() {
        return Err(ExchangeError::Mismatch {
            layers: layers.len(),
            weights: weights.len(),
        });
    }
    let mut graph = Graph::default();
    let mut value = graph.scaling(scaling);
    for (index, (layer, weights)) in layers.iter().zip(weights).enumerate() {
        value = graph.layer(index, layer, weights, value)?;
    }
    let output = graph.node("Softmax", "softmax", vec![value], vec![int("axis", 1)]);
    graph.rename_last_output(OUTPUT, &output);
    let input_doc = format!("{INPUT} [batch, 1, {IMAGE_SIDE}, {IMAGE_SIDE}]: raw pixels, 0..255");
    let output_doc = format!("{OUTPUT} [batch, {NUM_CLASSES}]: class probabilities");
    let layers_json =
        serde_json::to_string(layers).map_err(|err| ExchangeError::Layers(err.to_string()))?;
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "burnist".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "An MNIST classifier trained by burnist".into(),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: "burnist".into(),
            initializer: graph.initializers,
            input: vec![value_info(
                INPUT,
                &[None, Some(1), Some(IMAGE_SIDE), Some(IMAGE_SIDE)],
                &input_doc,
            )],
            output: vec![value_info(OUTPUT, &[None, Some(NUM_CLASSES)], &output_doc)],
        }),
        metadata_props: [
            (keys::SCALING, scaling.name().to_owned()),
            (keys::RUN, run.to_owned()),
            (keys::INPUT, input_doc),
            (keys::OUTPUT, output_doc),
            (keys::LAYERS, layers_json),
        ]
        .into_iter()
        .map(|(key, value)| StringStringEntryProto {
            key: key.into(),
            value,
        })
        .collect(),
    };
    Ok(model.encode_to_vec())
}

/// The graph being built: nodes in order and their constants.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    /// Adds a node named `name` reading `inputs`; returns its output's name.
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) -> String {
        let output = name.to_owned();
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name: name.to_owned(),
            op_type: op.to_owned(),
            attribute,
            domain: String::new(),
        });
        output
    }

    /// The last node writes the graph's output, under `name`.
    fn rename_last_output(&mut self, name: &str, from: &str) {
        if let Some(node) = self.nodes.last_mut() {
            for output in &mut node.output {
                if output == from {
                    *output = name.to_owned();
                }
            }
        }
    }

    /// A constant named `name`; returns the name.
    fn constant(&mut self, name: &str, tensor: &HostTensor) -> String {
        self.initializers.push(TensorProto {
            dims: tensor.shape.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            name: name.to_owned(),
            raw_data: tensor.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..TensorProto::default()
        });
        name.to_owned()
    }

    /// A scalar constant.
    fn scalar(&mut self, name: &str, value: f32) -> String {
        self.constant(
            name,
            &HostTensor {
                shape: Vec::new(),
                values: vec![value],
            },
        )
    }

    /// The pixel scaling as the batcher computes it: `x / 255`, then for
    /// `standard` `(x - mean) / std`. Returns the scaled input's name.
    fn scaling(&mut self, scaling: PixelScaling) -> String {
        let input = INPUT.to_owned();
        if scaling == PixelScaling::Raw {
            return input;
        }
        let max = self.scalar("scaling.max", 255.0);
        let unit = self.node("Div", "scaling.unit", vec![input, max], Vec::new());
        if scaling == PixelScaling::Unit {
            return unit;
        }
        let mean = self.scalar("scaling.mean", PixelScaling::MNIST_MEAN);
        let std = self.scalar("scaling.std", PixelScaling::MNIST_STD);
        let centred = self.node("Sub", "scaling.centred", vec![unit, mean], Vec::new());
        self.node("Div", "scaling.standard", vec![centred, std], Vec::new())
    }

    /// The nodes of layer `index`, reading `input`; returns the last output.
    fn layer(
        &mut self,
        index: usize,
        layer: &LayerConfig,
        weights: &LayerWeights,
        input: String,
    ) -> Result<String, ExchangeError> {
        let mismatch = || ExchangeError::Weights {
            index,
            layer: layer.kind(),
        };
        let name = |what: &str| format!("{index}.{what}");
        let output = match (layer, weights) {
            (
                &LayerConfig::Conv2d {
                    kernel_size,
                    padding,
                    strides,
                    activation,
                    ..
                },
                LayerWeights::Conv2d { weight, bias },
            ) => {
                let pad = match padding {
                    Padding::Valid => 0,
                    Padding::Same => kernel_size / 2,
                } as i64;
                let weight = self.constant(&name("weight"), weight);
                let bias = self.constant(&name("bias"), bias);
                let conv = self.node(
                    "Conv",
                    &name("conv"),
                    vec![input, weight, bias],
                    vec![
                        ints("kernel_shape", &[kernel_size as i64; 2]),
                        ints("pads", &[pad; 4]),
                        ints("strides", &[strides as i64; 2]),
                    ],
                );
                self.activation(index, activation, conv)
            }
            (LayerConfig::MaxPool2d { pool_size, strides }, LayerWeights::None) => {
                self.pool("MaxPool", index, *pool_size, *strides, input)
            }
            (LayerConfig::AvgPool2d { pool_size, strides }, LayerWeights::None) => {
                self.pool("AveragePool", index, *pool_size, *strides, input)
            }
            (LayerConfig::Flatten, LayerWeights::None) => self.node(
                "Flatten",
                &name("flatten"),
                vec![input],
                vec![int("axis", 1)],
            ),
            (&LayerConfig::Dropout { rate }, LayerWeights::None) => {
                // Inference: the identity; the rate is kept for whoever reads it.
                let ratio = self.scalar(&name("ratio"), rate as f32);
                self.node("Dropout", &name("dropout"), vec![input, ratio], Vec::new())
            }
            (&LayerConfig::Dense { activation, .. }, LayerWeights::Dense { weight, bias }) => {
                let weight = self.constant(&name("weight"), weight);
                let bias = self.constant(&name("bias"), bias);
                // Burn's `[inputs, units]` matrix: `x . W + b` without a transpose.
                let gemm = self.node("Gemm", &name("gemm"), vec![input, weight, bias], Vec::new());
                self.activation(index, activation, gemm)
            }
            (
                &LayerConfig::BatchNorm { epsilon, .. },
                LayerWeights::BatchNorm {
                    gamma,
                    beta,
                    mean,
                    variance,
                },
            ) => {
                let inputs = vec![
                    input,
                    self.constant(&name("gamma"), gamma),
                    self.constant(&name("beta"), beta),
                    self.constant(&name("running_mean"), mean),
                    self.constant(&name("running_var"), variance),
                ];
                self.node(
                    "BatchNormalization",
                    &name("batch_norm"),
                    inputs,
                    vec![float("epsilon", epsilon as f32)],
                )
            }
            _ => return Err(mismatch()),
        };
        Ok(output)
    }

    /// A pooling node: square window, valid padding, floor mode.
    fn pool(
        &mut self,
        op: &str,
        index: usize,
        size: usize,
        strides: Option<usize>,
        input: String,
    ) -> String {
        let strides = strides.unwrap_or(size) as i64;
        self.node(
            op,
            &format!("{index}.pool"),
            vec![input],
            vec![
                ints("kernel_shape", &[size as i64; 2]),
                ints("strides", &[strides; 2]),
            ],
        )
    }

    /// The activation after a convolution or dense layer (the softmax of
    /// the last layer is the graph's own last node).
    fn activation(&mut self, index: usize, activation: Activation, input: String) -> String {
        let op = match activation {
            Activation::Linear | Activation::Softmax => return input,
            Activation::Relu => "Relu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
        };
        self.node(
            op,
            &format!("{index}.{}", op.to_lowercase()),
            vec![input],
            Vec::new(),
        )
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..AttributeProto::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ..AttributeProto::default()
    }
}

/// A float tensor value; `None` axes are the dynamic batch.
fn value_info(name: &str, shape: &[Option<usize>], doc: &str) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|size| Dimension {
            dim_value: size.map(|size| size as i64),
            dim_param: size.is_none().then(|| "batch".to_owned()),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeTensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.into(),
    }
}
