//! The weights as the state dict of the network's PyTorch twin, in a
//! safetensors file. The twin is the idiomatic `nn.Sequential` of the layer
//! list: one module per layer (`Conv2d`, `MaxPool2d`/`AvgPool2d`, `Flatten`,
//! `Dropout`, `Linear`, `BatchNorm2d`/`BatchNorm1d`), each relu, sigmoid or
//! tanh its own module right after its layer, no softmax module (PyTorch
//! trains on logits); the state dict's indices count every module.

use std::collections::BTreeMap;

use model::{Activation, HostTensor, LayerConfig, LayerWeights};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::ExchangeError;

/// The index of each layer's module in the twin's `nn.Sequential`.
pub fn module_indices(layers: &[LayerConfig]) -> Vec<usize> {
    let mut next = 0;
    layers
        .iter()
        .map(|layer| {
            let index = next;
            let activation = match layer {
                LayerConfig::Conv2d { activation, .. } | LayerConfig::Dense { activation, .. } => {
                    *activation
                }
                _ => Activation::Linear,
            };
            let own_module = matches!(
                activation,
                Activation::Relu | Activation::Sigmoid | Activation::Tanh
            );
            next += 1 + usize::from(own_module);
            index
        })
        .collect()
}

/// One tensor of the state dict.
enum Entry {
    Float(HostTensor),
    /// `num_batches_tracked`: an int64 scalar.
    Count(i64),
}

/// The safetensors file of the twin's state dict.
pub fn export(layers: &[LayerConfig], weights: &[LayerWeights]) -> Result<Vec<u8>, ExchangeError> {
    if layers.len() != weights.len() {
        return Err(ExchangeError::Mismatch {
            layers: layers.len(),
            weights: weights.len(),
        });
    }
    let mut entries = BTreeMap::new();
    for (module, weights) in module_indices(layers).into_iter().zip(weights) {
        let mut put = |name: &str, entry: Entry| {
            entries.insert(format!("{module}.{name}"), entry);
        };
        match weights {
            LayerWeights::None => {}
            LayerWeights::Conv2d { weight, bias } => {
                put("weight", Entry::Float(weight.clone()));
                put("bias", Entry::Float(bias.clone()));
            }
            LayerWeights::Dense { weight, bias } => {
                put("weight", Entry::Float(transpose(weight)));
                put("bias", Entry::Float(bias.clone()));
            }
            LayerWeights::BatchNorm {
                gamma,
                beta,
                mean,
                variance,
            } => {
                put("weight", Entry::Float(gamma.clone()));
                put("bias", Entry::Float(beta.clone()));
                put("running_mean", Entry::Float(mean.clone()));
                put("running_var", Entry::Float(variance.clone()));
                // PyTorch counts the training steps; only its momentum=None
                // mode reads the count, which the twin does not use.
                put("num_batches_tracked", Entry::Count(0));
            }
        }
    }
    let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = entries
        .into_iter()
        .map(|(name, entry)| match entry {
            Entry::Float(tensor) => (
                name,
                tensor.shape,
                Dtype::F32,
                tensor.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            Entry::Count(count) => (name, Vec::new(), Dtype::I64, count.to_le_bytes().to_vec()),
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, dtype, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|err| ExchangeError::Safetensors(err.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, None).map_err(|err| ExchangeError::Safetensors(err.to_string()))
}

/// A matrix `[rows, cols]` as `[cols, rows]`: Burn's `[inputs, units]` as
/// PyTorch's `[units, inputs]`, and back.
pub(crate) fn transpose(matrix: &HostTensor) -> HostTensor {
    let (rows, cols) = (matrix.shape[0], matrix.shape[1]);
    let values = (0..cols)
        .flat_map(|col| (0..rows).map(move |row| matrix.values[row * cols + col]))
        .collect();
    HostTensor {
        shape: vec![cols, rows],
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_counts() {
        let layers: Vec<LayerConfig> = serde_json::from_str(
            r#"[{"type":"conv2d","filters":4,"kernel_size":3,"activation":"relu"},
                {"type":"batch_norm"},{"type":"max_pool2d","pool_size":2},{"type":"flatten"},
                {"type":"dropout","rate":0.5},{"type":"dense","units":16,"activation":"tanh"},
                {"type":"dense","units":10,"activation":"softmax"}]"#,
        )
        .unwrap();
        // conv 0, relu 1, bn 2, pool 3, flatten 4, dropout 5, linear 6, tanh 7, linear 8
        assert_eq!(module_indices(&layers), [0, 2, 3, 4, 5, 6, 8]);
    }

    #[test]
    fn dense_weights_are_transposed() {
        let matrix = HostTensor {
            shape: vec![2, 3],
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        let t = transpose(&matrix);
        assert_eq!(t.shape, [3, 2]);
        assert_eq!(t.values, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
