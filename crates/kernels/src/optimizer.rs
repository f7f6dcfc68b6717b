//! [`FusedAdam`], a Burn optimizer whose step on the backends the kernels
//! serve is a single loop ([`crate::adam::adam_step`]) instead of Burn's
//! dozen tensor operations (each a pass over memory and a dispatch), and
//! Burn's own [`Adam`] on the others.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use crate::adam::AdamStep;
use crate::ops::KernelOps;

/// Adam with Burn's [`AdamConfig`] semantics and state (the same record in
/// checkpoints), fused on the backends [`crate::serves`] names.
#[derive(Clone)]
pub struct FusedAdam {
    stock: Adam,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl FusedAdam {
    /// Adam with these decays and stabiliser (Burn's `AdamConfig` otherwise:
    /// no weight decay, no AMSGrad).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let stock = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        Self {
            stock,
            beta_1,
            beta_2,
            epsilon,
        }
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !crate::serves(&tensor) {
            return self.stock.step(lr, tensor, grad, state);
        }
        let (time, m, v) = match state {
            Some(state) => (
                state.momentum.time + 1,
                state.momentum.moment_1,
                state.momentum.moment_2,
            ),
            None => (1, tensor.zeros_like(), tensor.zeros_like()),
        };
        let step = AdamStep {
            lr: lr as f32,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            time: i32::try_from(time).unwrap_or(i32::MAX),
        };
        let (tensor, m, v) = <burn::backend::Dispatch as KernelOps>::kernel_adam_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            m.into_dispatch(),
            v.into_dispatch(),
            step,
        );
        let momentum =
            AdaptiveMomentumState::new(time, Tensor::from_dispatch(m), Tensor::from_dispatch(v));
        (
            Tensor::from_dispatch(tensor),
            Some(AdamState::new(momentum)),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}
