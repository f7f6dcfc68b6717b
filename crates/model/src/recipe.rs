//! The training recipe beside the network: Keras's optimisers and their
//! defaults, as Burn's. The loss is [`KerasNet::loss`](crate::KerasNet::loss).

use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use kernels::optimizer::FusedAdam;

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

/// One of Keras's optimisers with its hyper-parameters; the learning rate
/// (and its schedule) goes to Burn's Learner apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KerasOptimizer {
    /// `Adam()` (the notebook's).
    Adam(KerasAdam),
    /// `AdamW()`: Adam with decoupled weight decay, each step
    /// `w -= learning_rate * weight_decay * w` (Keras's default 0.004).
    AdamW {
        /// Its Adam part.
        adam: KerasAdam,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
    /// `SGD()`: `v = momentum * v - lr * g; w += v` (Nesterov: `w += momentum
    /// * v - lr * g`); plain steps with momentum 0 (Keras's default).
    Sgd {
        /// Momentum (Keras 0).
        momentum: f64,
        /// Nesterov momentum (Keras false).
        nesterov: bool,
    },
    /// `RMSprop()`: `s = rho * s + (1 - rho) * g^2; w -= lr * g / sqrt(s +
    /// epsilon)`, with momentum on that step when above 0 (Burn's adds
    /// epsilon after the square root: a difference of order epsilon).
    RmsProp {
        /// Decay of the squared gradients' average (Keras 0.9).
        rho: f64,
        /// Momentum (Keras 0).
        momentum: f64,
        /// Numerical stabiliser (Keras 1e-7).
        epsilon: f64,
    },
}

impl KerasOptimizer {
    /// The optimizer for Burn's Learner. Adam steps through burnist's fused
    /// kernel with [`Kernels::Fast`] where it serves; the others are Burn's.
    pub fn optimizer(&self, kernels: Kernels) -> ModuleOptimizer {
        match *self {
            Self::Adam(adam) => adam.optimizer(kernels),
            Self::AdamW { adam, weight_decay } => AdamWConfig::new()
                .with_beta_1(adam.beta_1 as f32)
                .with_beta_2(adam.beta_2 as f32)
                .with_epsilon(adam.epsilon as f32)
                .with_weight_decay(weight_decay as f32)
                .init(),
            Self::Sgd { momentum, nesterov } => SgdConfig::new()
                .with_momentum((momentum > 0.0).then_some(MomentumConfig {
                    momentum,
                    // Keras's momentum has no dampening (Burn's default is 0.1).
                    dampening: 0.0,
                    nesterov,
                }))
                .init(),
            Self::RmsProp {
                rho,
                momentum,
                epsilon,
            } => RmsPropConfig::new()
                .with_alpha(rho as f32)
                .with_momentum(momentum as f32)
                .with_epsilon(epsilon as f32)
                .init(),
        }
    }
}
