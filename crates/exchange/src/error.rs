//! Why a model could not be written out.

/// Everything exporting can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A network whose weights do not follow its layer list (a bug, not input).
    #[error("{weights} layers of weights for {layers} layers")]
    Mismatch {
        /// Layers in the list.
        layers: usize,
        /// Layers of weights.
        weights: usize,
    },
    /// Weights of another kind than their layer's.
    #[error("layer {index} ({layer}): its weights are of another layer type")]
    Weights {
        /// The layer's index.
        index: usize,
        /// Its type.
        layer: &'static str,
    },
    /// The layer list could not be written as JSON metadata.
    #[error("cannot describe the layers: {0}")]
    Layers(String),
    /// The safetensors writer refused a tensor.
    #[error("cannot write the safetensors file: {0}")]
    Safetensors(String),
}
