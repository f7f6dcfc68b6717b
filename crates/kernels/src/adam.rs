//! Adam's step in one pass over a parameter's host slices, [`adam_step`]:
//! the kernel behind the optimiser `FusedAdam`.
//!
//! Per element it does the operations of Burn's `Adam` in the same order,
//! so the updates are bit-identical to it, with one difference: results
//! below float32's smallest normal number become zero, as with the CPU's
//! flush-to-zero mode that TensorFlow runs in. Adam's moments of rarely
//! non-zero gradients otherwise decay into subnormal numbers, each of whose
//! operations costs a hundred-cycle microcode assist.

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
