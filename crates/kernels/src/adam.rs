//! Adam in one pass over each parameter: [`FusedAdam`], a Burn optimizer
//! whose step on the backends the kernels serve is a single loop instead of
//! Burn's dozen tensor operations (each a pass over memory and a dispatch),
//! and Burn's own [`Adam`] on the others.
//!
//! Per element it does the operations of Burn's `Adam` in the same order,
//! so the updates are bit-identical to it, with one difference: results
//! below float32's smallest normal number become zero, as with the CPU's
//! flush-to-zero mode that TensorFlow runs in. Adam's moments of rarely
//! non-zero gradients otherwise decay into subnormal numbers, each of whose
//! operations costs a hundred-cycle microcode assist.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use crate::ops::KernelOps;

/// The scalars of one Adam step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta_1: f32,
    /// Second-moment decay.
    pub beta_2: f32,
    /// Numerical stabiliser.
    pub epsilon: f32,
    /// The step's number, from 1: the moments' bias correction.
    pub time: i32,
}

/// `x`, or zero when it is subnormal: the CPU's flush-to-zero.
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

/// One Adam step on host slices, in place: the moments `m` and `v` and the
/// parameters `param`, from the gradient `grad`.
pub fn adam_step(step: &AdamStep, param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32]) {
    // The scalars exactly as Burn's `AdaptiveMomentum` computes them.
    let bias_correction_2 = (1.0 - step.beta_2.powi(step.time)).sqrt();
    let factor = bias_correction_2 / (1.0 - step.beta_1.powi(step.time));
    let epsilon = step.epsilon * bias_correction_2;
    let (keep_1, keep_2) = (1.0 - step.beta_1, 1.0 - step.beta_2);
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for (((p, &g), m), v) in param
                .iter_mut()
                .zip(grad)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                *m = flush(*m * step.beta_1 + g * keep_1);
                *v = flush(*v * step.beta_2 + (g * g) * keep_2);
                let direction = flush((*m * factor) / (v.sqrt() + epsilon));
                *p = flush(*p - direction * step.lr);
            }
        },
    );
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormal_results_become_zero() {
        let step = AdamStep {
            lr: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            time: 3,
        };
        let mut param = [1.0, 2.0];
        let (mut m, mut v) = ([1e-38, 0.5], [1e-38, 0.25]);
        adam_step(&step, &mut param, &[0.0, 0.1], &mut m, &mut v);
        assert_eq!(
            (m[0], v[0]),
            (0.0, 0.0),
            "0.9e-38 and 0.999e-38 are subnormal"
        );
        assert!(m[1] > 0.0 && v[1] > 0.0 && param[1] < 2.0);
        assert_eq!(param[0], 1.0);
    }
}
