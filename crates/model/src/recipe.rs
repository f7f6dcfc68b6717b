//! The notebook's training recipe beside its network: Keras's Adam and its
//! defaults. The loss is [`KerasNet::loss`](crate::KerasNet::loss).

use burn::optim::{AdamConfig, ModuleOptimizer};
use kernels::adam::FusedAdam;

use crate::Kernels;

/// Keras's `Adam()`: its defaults, which differ from Burn's in epsilon
/// (Keras 1e-7, Burn 1e-5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KerasAdam {
    /// Learning rate (Keras 1e-3).
    pub learning_rate: f64,
    /// First-moment decay (Keras 0.9).
    pub beta_1: f64,
    /// Second-moment decay (Keras 0.999).
    pub beta_2: f64,
    /// Numerical stabiliser (Keras 1e-7).
    pub epsilon: f64,
}

impl Default for KerasAdam {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl KerasAdam {
    /// The optimizer for Burn's Learner: one fused pass per parameter with
    /// [`Kernels::Fast`] on the backends the kernels serve, Burn's `Adam`
    /// otherwise; both step the same numbers (see [`kernels::adam`]).
    pub fn optimizer(&self, kernels: Kernels) -> ModuleOptimizer {
        let (beta_1, beta_2, epsilon) =
            (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
        match kernels {
            Kernels::Fast => ModuleOptimizer::from(FusedAdam::new(beta_1, beta_2, epsilon)),
            Kernels::Stock => AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .init(),
        }
    }
}
