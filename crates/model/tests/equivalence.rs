//! Backends agree: the same seed gives the same initial weights; the same
//! saved weights and batch give the same logits and the same gradient for
//! every parameter; one step of the trainer's Adam from the same state gives
//! the same weights. Every backend of the build is compared with ndarray
//! (always compiled in), within the tolerances below.
//!
//! With ndarray alone, the fast kernels are still compared with Burn's own
//! operations; `cargo test -p model --features flex,wgpu,tch` adds backends.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::{Distribution, Int};
use model::{KerasAdam, KerasNet, KerasNetConfig, Kernels};

mod common;

/// What weights and logits must agree to, absolute, in float32.
const TOLERANCE: f32 = 1e-4;

/// What gradients must agree to, relative to the parameter's largest
/// gradient. Each is a sum over the batch (and, for the convolution, over
/// the 13x13 pooled positions: up to 5408 products) that the backends add
/// in different orders; float32 rounds each addition by 6e-8 relative to the
/// running sum, so orders alone move a sum by about sqrt(5408) * 6e-8 =
/// 4.4e-6 of its scale, and by at most 5408 * 6e-8 = 3.2e-4 in the worst
/// case. 1e-4 sits between the two, and far below any real error: a
/// gradient scaled by 1.001 or a dropped batch item fails.
const GRADIENT_TOLERANCE: f32 = 1e-4;

/// One batch of the notebook's size, with its classes, drawn once on ndarray
/// and handed to every backend as data: pixels in 0..255 like the notebook's
/// inputs, times `scale`.
fn batch(scale: f32) -> (TensorData, TensorData) {
    let (_, reference) = &common::backends()[0];
    reference.seed(3);
    let images = Tensor::<4>::random(
        [32, 1, 28, 28],
        Distribution::Uniform(0.0, 255.0),
        reference,
    )
    .mul_scalar(scale);
    let classes = TensorData::new((0..32).map(|i| i * 7 % 10).collect::<Vec<i64>>(), [32]);
    (images.into_data(), classes)
}

/// The network with Keras's initialisation, saved once to a `.bpk` record.
fn saved_weights(dir: &std::path::Path) -> std::path::PathBuf {
    let (_, reference) = &common::backends()[0];
    let path = dir.join("net.bpk");
    KerasNetConfig::new()
        .init(11, reference)
        .expect("the notebook's layers fit")
        .save_file(&path)
        .expect("the record saves");
    path
}

fn load(weights: &std::path::Path, device: &Device) -> KerasNet {
    KerasNetConfig::new()
        .init(0, device)
        .expect("the notebook's layers fit")
        .try_load_file(weights)
        .expect("the record loads")
}

fn values(tensor: Tensor<2>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("float32 values")
}

/// The largest absolute difference between `actual` and `expected`, if it
/// exceeds `tolerance`, with its index.
fn disagreement(actual: &[f32], expected: &[f32], tolerance: f32) -> Option<(usize, f32)> {
    assert_eq!(actual.len(), expected.len(), "same number of values");
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|&(_, difference)| difference.is_nan() || difference > tolerance)
}

/// Computes `outputs` on every backend and checks each against ndarray's.
fn assert_backends_agree(what: &str, outputs: impl Fn(&Device) -> Vec<f32>) {
    let mut backends = common::backends().into_iter();
    let (reference_name, reference) = backends.next().expect("ndarray is always compiled in");
    let expected = outputs(&reference);
    assert!(
        expected.iter().all(|v| v.is_finite()),
        "{what} on {reference_name} is finite"
    );
    for (name, device) in backends {
        let actual = outputs(&device);
        if let Some((index, difference)) = disagreement(&actual, &expected, TOLERANCE) {
            panic!(
                "{what}: {name} differs from {reference_name} by {difference} at {index} ({} vs {})",
                actual[index], expected[index]
            );
        }
    }
}

/// On pixels scaled to 0..1 (`configs/normalized.toml`), where the logits are
/// of order 1. With raw 0..255 pixels they reach about 180, where float32's
/// own spacing is 1.5e-5 and the backends' different summation orders alone
/// move them by 1.5e-4 (measured: flex vs ndarray), so an absolute 1e-4
/// would test rounding, not equivalence; the Adam step below uses raw pixels.
/// A seed is one starting point, whichever backend trains from it.
#[test]
fn the_same_seed_gives_the_same_initial_weights() {
    assert_backends_agree("initial weights", |device| {
        common::parameters(&KerasNetConfig::new().init(42, device).unwrap())
    });
}

#[test]
fn the_same_weights_and_batch_give_the_same_logits() {
    let dir = tempfile::tempdir().unwrap();
    let weights = saved_weights(dir.path());
    let (images, _) = batch(1.0 / 255.0);
    assert_backends_agree("logits", |device| {
        let net = load(&weights, device);
        values(net.forward(Tensor::from_data(images.clone(), device)))
    });
}

/// The loss's gradient for every parameter, by name, with the notebook's
/// raw 0..255 pixels (where the kernels' denormal guards matter).
fn gradients(
    weights: &std::path::Path,
    device: &Device,
    kernels: Kernels,
) -> Vec<(String, Vec<f32>)> {
    struct Collect<'a>(&'a GradientsParams, Vec<(String, Vec<f32>)>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let gradient = self
                .0
                .get::<D>(param.id)
                .expect("every parameter has a gradient");
            let name = ["conv.weight", "conv.bias", "dense.weight", "dense.bias"][self.1.len()];
            self.1.push((
                name.to_string(),
                gradient
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec()
                    .expect("float32 values"),
            ));
        }
    }
    let (images, classes) = batch(1.0);
    let device = device.clone().autodiff();
    let net = load(weights, &device).with_kernels(kernels);
    let logits = net.forward(Tensor::from_data(images, &device));
    let loss = net.loss(logits, Tensor::<1, Int>::from_data(classes, &device));
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let mut collect = Collect(&grads, Vec::new());
    net.visit(&mut collect);
    collect.1
}

/// Where a parameter's gradient differs from the reference by more than
/// [`GRADIENT_TOLERANCE`] times the reference's largest magnitude.
fn gradient_disagreement(actual: &[f32], expected: &[f32]) -> Option<(usize, f32)> {
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
    disagreement(actual, expected, GRADIENT_TOLERANCE * scale)
}

/// The gradients themselves agree, parameter by parameter: a backend with a
/// wrong or scaled gradient fails here, where one Adam step (which divides
/// the gradient by its own root mean square) would hide it. The reference is
/// Burn's own operations on ndarray, so the fast kernels are checked too.
#[test]
fn the_same_weights_and_batch_give_the_same_gradients() {
    let dir = tempfile::tempdir().unwrap();
    let weights = saved_weights(dir.path());
    let (_, reference) = &common::backends()[0];
    let expected = gradients(&weights, reference, Kernels::Stock);
    for (name, device) in common::backends() {
        for kernels in [Kernels::Fast, Kernels::Stock] {
            let kernels = kernels.on(&device);
            for ((parameter, actual), (_, expected)) in
                gradients(&weights, &device, kernels).iter().zip(&expected)
            {
                assert!(
                    expected.iter().any(|v| *v != 0.0),
                    "{parameter} has a gradient"
                );
                if let Some((index, difference)) = gradient_disagreement(actual, expected) {
                    panic!(
                        "{parameter}'s gradient: {name} with the {} kernels differs from \
                         ndarray's stock operations by {difference} at {index} ({} vs {})",
                        kernels.name(),
                        actual[index],
                        expected[index]
                    );
                }
            }
        }
    }
}

/// One step of the trainer's optimizer (Keras's Adam, fused on the backends
/// the kernels serve) from the same weights and batch.
#[test]
fn one_adam_step_gives_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let weights = saved_weights(dir.path());
    let (images, classes) = batch(1.0);
    assert_backends_agree("weights after one Adam step", |device| {
        let device = device.clone().autodiff();
        let net = load(&weights, &device);
        let logits = net.forward(Tensor::from_data(images.clone(), &device));
        let loss = net.loss(
            logits,
            Tensor::<1, Int>::from_data(classes.clone(), &device),
        );
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let recipe = KerasAdam::default();
        let mut adam = recipe.optimizer(net.kernels().on(&device));
        let stepped = adam.step(recipe.learning_rate, net, grads);
        common::parameters(&stepped)
    });
}

/// The comparisons themselves catch a backend that is off by more than the
/// tolerance, and only then.
#[test]
fn a_perturbed_output_is_caught() {
    let expected = vec![1.0f32, -2.0, 30.0];
    let mut perturbed = expected.clone();
    perturbed[2] += 3.0 * TOLERANCE;
    assert_eq!(
        disagreement(&perturbed, &expected, TOLERANCE).map(|(i, _)| i),
        Some(2)
    );
    perturbed[2] = expected[2] + TOLERANCE / 2.0;
    assert_eq!(disagreement(&perturbed, &expected, TOLERANCE), None);
    perturbed[0] = f32::NAN;
    assert_eq!(
        disagreement(&perturbed, &expected, TOLERANCE).map(|(i, _)| i),
        Some(0)
    );
}

/// A gradient scaled by 1.001 fails, a gradient moved by rounding passes.
#[test]
fn a_scaled_gradient_is_caught() {
    let expected: Vec<f32> = (0..100).map(|i| (i as f32 - 50.0) * 0.37).collect();
    let scaled: Vec<f32> = expected.iter().map(|v| v * 1.001).collect();
    assert!(gradient_disagreement(&scaled, &expected).is_some());
    let rounded: Vec<f32> = expected
        .iter()
        .map(|v| v * (1.0 + 4.0 * f32::EPSILON))
        .collect();
    assert_eq!(gradient_disagreement(&rounded, &expected), None);
}
