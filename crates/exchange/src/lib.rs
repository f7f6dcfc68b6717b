//! Trained models out of burnist, for other runtimes, and back in: an ONNX model whose
//! graph starts with the run's pixel scaling and ends with the softmax
//! ([`onnx`]), and the weights as the state dict of the network's PyTorch
//! twin in a safetensors file ([`torch`]). Burn cannot export models
//! (tracel-ai/burn#918); burnist knows its network as a checked layer list,
//! which is what an exporter needs.
//!
//! Back in: an ONNX model that is one chain of those layers' operators
//! (burnist's own export, PyTorch's of an `nn.Sequential`) as a layer list
//! and weights ([`import`]).
//!
//! The ONNX messages are prost types declared from the official schema
//! ([`proto`]): a writer and a reader in one set of types, no protoc.

mod error;
pub mod import;
pub mod onnx;
pub mod proto;
pub mod torch;

pub use error::ExchangeError;
