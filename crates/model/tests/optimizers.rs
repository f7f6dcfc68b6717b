//! One update of each of Keras's optimisers against the update computed by
//! hand from Keras's formulas (`keras/src/optimizers/*.py`, `update_step`):
//! two steps of a constant gradient on fixed weights, so that momentum and
//! moving averages take part.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use model::{KerasAdam, KerasOptimizer, Kernels};

const WEIGHTS: [[f32; 2]; 3] = [[0.5, -0.25], [1.0, 0.1], [-0.3, 0.2]];
/// The gradient of `sum(weights * GRADIENT)`.
const GRADIENT: [[f32; 2]; 3] = [[0.5, -1.0], [0.25, 2.0], [-0.75, 0.1]];
const LR: f64 = 0.01;

/// The weights after two steps of `optimizer` (through `kernels`).
fn two_steps(optimizer: KerasOptimizer, kernels: Kernels) -> Vec<f64> {
    #[allow(deprecated)]
    let device = Device::ndarray().autodiff();
    let mut linear: Linear = LinearConfig::new(3, 2).with_bias(false).init(&device);
    linear.weight = Param::from_data(TensorData::from(WEIGHTS), &device);
    let mut optim = optimizer.optimizer(kernels);
    for _ in 0..2 {
        let gradient = Tensor::<2>::from_data(TensorData::from(GRADIENT), &device);
        let loss = (linear.weight.val() * gradient).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        linear = optim.step(LR, linear, grads);
    }
    let values = linear
        .weight
        .val()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    values.into_iter().map(f64::from).collect()
}

/// `step(w, g)` twice on every weight, in f64.
fn by_hand(step: impl Fn(f64, f64, usize) -> f64) -> Vec<f64> {
    let pairs = WEIGHTS.iter().flatten().zip(GRADIENT.iter().flatten());
    pairs
        .map(|(&w, &g)| step(f64::from(w), f64::from(g), 2))
        .collect()
}

/// Within 1e-6: f32 rounding of two steps (the steps are 1e-2). Burn adds
/// epsilon after the square root where Keras's RMSprop adds it under it, a
/// difference below 1e-7 here.
fn assert_close(name: &str, actual: &[f64], expected: &[f64]) {
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-6, "{name}: {actual:?} vs {expected:?}");
    }
}

const ADAM: KerasAdam = KerasAdam {
    learning_rate: LR,
    beta_1: 0.9,
    beta_2: 0.999,
    epsilon: 1e-7,
};

/// Adam's step, bias-corrected: with a constant gradient `m̂ = g` and
/// `v̂ = g²` at every step.
fn adam_step(g: f64) -> f64 {
    LR * g / (g.abs() + ADAM.epsilon)
}

#[test]
fn adam_steps_as_keras_fused_or_not() {
    let expected = by_hand(|w, g, steps| w - steps as f64 * adam_step(g));
    for kernels in [Kernels::Fast, Kernels::Stock] {
        let actual = two_steps(KerasOptimizer::Adam(ADAM), kernels);
        assert_close(&format!("adam {kernels:?}"), &actual, &expected);
    }
}

/// Keras's AdamW: `w -= w * weight_decay * lr`, then Adam's step.
#[test]
fn adamw_decays_the_weights_then_steps() {
    let decay = 0.1;
    let expected =
        by_hand(|w, g, steps| (0..steps).fold(w, |w, _| w * (1.0 - LR * decay) - adam_step(g)));
    let optimizer = KerasOptimizer::AdamW {
        adam: ADAM,
        weight_decay: decay,
    };
    assert_close("adamw", &two_steps(optimizer, Kernels::Fast), &expected);
}

/// Keras's SGD: `m = momentum * m - lr * g`, then `w += m` (Nesterov:
/// `w += momentum * m - lr * g`); plain `w -= lr * g` without momentum.
#[test]
fn sgd_steps_with_and_without_momentum() {
    for (momentum, nesterov) in [(0.0, false), (0.9, false), (0.9, true)] {
        let expected = by_hand(|w, g, steps| {
            let (mut w, mut m) = (w, 0.0);
            for _ in 0..steps {
                m = momentum * m - LR * g;
                w += if nesterov { momentum * m - LR * g } else { m };
            }
            w
        });
        let optimizer = KerasOptimizer::Sgd { momentum, nesterov };
        let name = format!("sgd momentum {momentum} nesterov {nesterov}");
        assert_close(&name, &two_steps(optimizer, Kernels::Fast), &expected);
    }
}

/// Keras's RMSprop: `s = rho * s + (1 - rho) * g²`, step `lr * g /
/// sqrt(s + epsilon)`, accumulated with momentum when above 0.
#[test]
fn rmsprop_steps_with_and_without_momentum() {
    let (rho, epsilon) = (0.8, 1e-7);
    for momentum in [0.0, 0.5] {
        let expected = by_hand(|w, g, steps| {
            let (mut w, mut s, mut m) = (w, 0.0, 0.0);
            for _ in 0..steps {
                s = rho * s + (1.0 - rho) * g * g;
                m = momentum * m + LR * g / (s + epsilon).sqrt();
                w -= m;
            }
            w
        });
        let optimizer = KerasOptimizer::RmsProp {
            rho,
            momentum,
            epsilon,
        };
        let name = format!("rmsprop momentum {momentum}");
        assert_close(&name, &two_steps(optimizer, Kernels::Fast), &expected);
    }
}
