//! The network's shape, outputs and initialisation, on every compiled backend.

use burn::module::Module;
use burn::prelude::*;
use model::{GeometryError, GeometryField, KerasNetConfig};

mod common;

backend_tests!(
    has_the_notebooks_13610_parameters,
    outputs_one_probability_row_per_image,
    starts_from_keras_initialisation,
    one_seed_is_one_starting_point,
);

fn has_the_notebooks_13610_parameters(device: &Device) {
    let net = KerasNetConfig::new().init(1, device);
    assert_eq!(net.num_params(), 13_610);
    assert_eq!(KerasNetConfig::new().num_params(), 13_610);
    let wider = KerasNetConfig::new().with_filters(16).init(1, device);
    assert_eq!(wider.num_params(), 16 * 10 + 16 * 169 * 10 + 10);
}

fn outputs_one_probability_row_per_image(device: &Device) {
    let net = KerasNetConfig::new().init(1, device);
    let images = Tensor::<4>::random(
        [5, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 255.0),
        device,
    );
    let logits = net.forward(images.clone());
    assert_eq!(logits.dims(), [5, 10]);
    let probabilities = net.probabilities(images);
    assert_eq!(probabilities.dims(), [5, 10]);
    let sums = probabilities
        .clone()
        .sum_dim(1)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    for sum in sums {
        assert!((sum - 1.0).abs() < 1e-5, "row sums to {sum}");
    }
    let values = probabilities.into_data().try_into_vec::<f32>().unwrap();
    assert!(values.iter().all(|p| (0.0..=1.0).contains(p)));
}

/// Glorot-uniform weights lie in ±sqrt(6 / (fan_in + fan_out)) and spread
/// over it (variance limit²/3); biases are zero.
fn starts_from_keras_initialisation(device: &Device) {
    let parameters = common::parameters(&KerasNetConfig::new().init(7, device));
    let (conv, rest) = parameters.split_at(72);
    let (conv_bias, rest) = rest.split_at(8);
    let (dense, dense_bias) = rest.split_at(13_520);

    let conv_limit = (6.0f32 / (9.0 + 72.0)).sqrt();
    let dense_limit = (6.0f32 / (1352.0 + 10.0)).sqrt();
    for (weights, limit) in [(conv, conv_limit), (dense, dense_limit)] {
        let len = weights.len();
        assert!(
            weights.iter().all(|w| w.abs() <= limit),
            "weights of {len} within ±{limit}"
        );
        let variance = weights.iter().map(|w| w * w).sum::<f32>() / len as f32;
        let expected = limit * limit / 3.0;
        assert!(
            (variance - expected).abs() < 0.35 * expected,
            "variance {variance} of {len} weights, expected about {expected}"
        );
    }
    assert!(conv_bias.iter().all(|&b| b == 0.0), "conv bias is zero");
    assert!(dense_bias.iter().all(|&b| b == 0.0), "dense bias is zero");
}

/// The seed alone decides the initial weights: not the backend's generator,
/// nor what it drew before.
fn one_seed_is_one_starting_point(device: &Device) {
    let weights = |seed| common::parameters(&KerasNetConfig::new().init(seed, device));
    let first = weights(5);
    device.seed(99);
    let _ = Tensor::<1>::random([100], burn::tensor::Distribution::Default, device);
    assert_eq!(weights(5), first, "seed 5 twice");
    assert_ne!(weights(6), first, "seeds 5 and 6");
}

#[test]
fn impossible_geometries_are_refused() {
    assert_eq!(KerasNetConfig::new().check(), Ok(()));
    assert_eq!(KerasNetConfig::new().flat_features(), 1352);
    assert_eq!(
        KerasNetConfig::new().with_kernel_size(29).check(),
        Err(GeometryError::KernelTooLarge {
            kernel: 29,
            image: 28
        })
    );
    assert_eq!(
        KerasNetConfig::new().with_pool_size(27).check(),
        Err(GeometryError::PoolTooLarge {
            pool: 27,
            feature_map: 26
        })
    );
    assert_eq!(
        KerasNetConfig::new().with_filters(0).check(),
        Err(GeometryError::Zero(GeometryField::Filters))
    );
}
