//! The network's shape, outputs and initialisation, on every compiled backend.

use burn::module::Module;
use burn::prelude::*;
use model::{Activation, KerasNetConfig, Kernels, LayerConfig, LayerError, Padding, summary};

mod common;

backend_tests!(
    has_the_notebooks_13610_parameters,
    outputs_one_probability_row_per_image,
    starts_from_keras_initialisation,
    one_seed_is_one_starting_point,
    weights_move_between_networks,
);

fn has_the_notebooks_13610_parameters(device: &Device) {
    let net = KerasNetConfig::new().init(1, device).unwrap();
    assert_eq!(net.num_params(), 13_610);
    assert_eq!(KerasNetConfig::new().num_params(), Ok(13_610));
    let mut layers = LayerConfig::notebook();
    layers[0] = conv(16, 3, Activation::Linear);
    let wider = KerasNetConfig::new()
        .with_layers(layers)
        .init(1, device)
        .unwrap();
    assert_eq!(wider.num_params(), 16 * 10 + 16 * 169 * 10 + 10);
}

fn outputs_one_probability_row_per_image(device: &Device) {
    let net = KerasNetConfig::new().init(1, device).unwrap();
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
    let parameters = common::parameters(&KerasNetConfig::new().init(7, device).unwrap());
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
    let weights = |seed| common::parameters(&KerasNetConfig::new().init(seed, device).unwrap());
    let first = weights(5);
    device.seed(99);
    let _ = Tensor::<1>::random([100], burn::tensor::Distribution::Default, device);
    assert_eq!(weights(5), first, "seed 5 twice");
    assert_ne!(weights(6), first, "seeds 5 and 6");
}

fn conv(filters: usize, kernel_size: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Conv2d {
        filters,
        kernel_size,
        padding: Padding::Valid,
        strides: 1,
        activation,
    }
}

fn max_pool(pool_size: usize) -> LayerConfig {
    LayerConfig::MaxPool2d {
        pool_size,
        strides: None,
    }
}

fn dense(units: usize, activation: Activation) -> LayerConfig {
    LayerConfig::Dense { units, activation }
}

/// Keras's "Simple MNIST convnet", as `configs/keras-convnet.toml` writes it.
fn keras_convnet() -> Vec<LayerConfig> {
    vec![
        conv(32, 3, Activation::Relu),
        max_pool(2),
        conv(64, 3, Activation::Relu),
        max_pool(2),
        LayerConfig::Flatten,
        LayerConfig::Dropout { rate: 0.5 },
        dense(10, Activation::Softmax),
    ]
}

/// Every layer type once, and both paddings.
fn every_layer() -> Vec<LayerConfig> {
    vec![
        LayerConfig::Conv2d {
            filters: 4,
            kernel_size: 3,
            padding: Padding::Same,
            strides: 1,
            activation: Activation::Tanh,
        },
        LayerConfig::BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3,
        },
        LayerConfig::AvgPool2d {
            pool_size: 2,
            strides: None,
        },
        LayerConfig::Conv2d {
            filters: 6,
            kernel_size: 3,
            padding: Padding::Valid,
            strides: 2,
            activation: Activation::Sigmoid,
        },
        LayerConfig::MaxPool2d {
            pool_size: 3,
            strides: Some(1),
        },
        LayerConfig::Flatten,
        dense(12, Activation::Relu),
        LayerConfig::BatchNorm {
            momentum: 0.9,
            epsilon: 1e-3,
        },
        LayerConfig::Dropout { rate: 0.25 },
        dense(10, Activation::Softmax),
    ]
}

/// Output shapes and parameter counts as Keras's `model.summary()` prints
/// them for the same layers (the convnet's figures are those of Keras's
/// example; a batch norm counts 4 per channel, 2 of them trainable).
#[test]
fn shapes_and_parameter_counts_are_keras_s() {
    let rows = KerasNetConfig::new()
        .with_layers(keras_convnet())
        .check()
        .unwrap();
    let shapes: Vec<String> = rows.iter().map(|row| row.output.keras()).collect();
    assert_eq!(
        shapes,
        [
            "(None, 26, 26, 32)",
            "(None, 13, 13, 32)",
            "(None, 11, 11, 64)",
            "(None, 5, 5, 64)",
            "(None, 1600)",
            "(None, 1600)",
            "(None, 10)"
        ]
    );
    let params: Vec<usize> = rows.iter().map(|row| row.params).collect();
    assert_eq!(params, [320, 0, 18_496, 0, 0, 0, 16_010]);
    let text = summary(&rows);
    assert!(text.contains("Total params: 34,826"), "{text}");

    let rows = KerasNetConfig::new()
        .with_layers(every_layer())
        .check()
        .unwrap();
    let shapes: Vec<String> = rows.iter().map(|row| row.output.keras()).collect();
    assert_eq!(
        shapes,
        [
            "(None, 28, 28, 4)",
            "(None, 28, 28, 4)",
            "(None, 14, 14, 4)",
            "(None, 6, 6, 6)",
            "(None, 4, 4, 6)",
            "(None, 96)",
            "(None, 12)",
            "(None, 12)",
            "(None, 12)",
            "(None, 10)"
        ]
    );
    let keras_counts: Vec<usize> = rows
        .iter()
        .map(|row| row.params + row.non_trainable)
        .collect();
    assert_eq!(keras_counts, [40, 16, 0, 222, 0, 0, 1164, 48, 0, 130]);
    let text = summary(&rows);
    assert!(text.contains("Total params: 1,620"), "{text}");
    assert!(text.contains("Non-trainable params: 32"), "{text}");
}

backend_tests!(
    every_layer_type_builds_and_trains,
    relu_convolutions_fuse_with_their_pool,
    every_layer_type_computes_what_the_stock_layers_compute,
    a_training_step_of_every_layer_type_is_the_stock_one,
);

/// A network of every layer type: Burn counts the parameters Keras's
/// summary does (a batch norm's moving statistics included), the logits have the right shape, and one backward pass
/// reaches every parameter (batch norm and dropout in training mode).
fn every_layer_type_builds_and_trains(device: &Device) {
    let config = KerasNetConfig::new().with_layers(every_layer());
    let keras_total: usize = config
        .check()
        .unwrap()
        .iter()
        .map(|row| row.params + row.non_trainable)
        .sum();
    let device = device.clone().autodiff();
    let net = config.init(3, &device).unwrap();
    assert_eq!(net.num_params(), keras_total);
    let images = Tensor::<4>::random(
        [4, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let logits = net.forward(images);
    assert_eq!(logits.dims(), [4, 10]);
    let grads = logits.powf_scalar(2.0).sum().backward();
    let mut missing = Vec::new();
    let mut tracked = 0;
    struct Check<'a>(
        &'a burn::tensor::Gradients,
        &'a mut Vec<String>,
        &'a mut usize,
    );
    impl burn::module::ModuleVisitor for Check<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            // A batch norm's moving statistics are visited too, untracked.
            let tensor = param.val();
            *self.2 += usize::from(tensor.is_require_grad());
            if tensor.is_require_grad() && tensor.grad(self.0).is_none() {
                self.1.push(format!("{:?}", param.shape()));
            }
        }
    }
    net.visit(&mut Check(&grads, &mut missing, &mut tracked));
    // Weights and biases of 2 convolutions and 2 dense layers, gamma and beta of 2 batch norms.
    assert_eq!(tracked, 12);
    assert!(
        missing.is_empty(),
        "no gradient for parameters of shapes {missing:?}"
    );
}

/// The fast path through every layer type (a `same` convolution by the
/// kernels, a strided one and a stride-1 pool by Burn's) gives the stock
/// layers' logits, batch norm and dropout in inference mode (1e-4 relative,
/// as below).
fn every_layer_type_computes_what_the_stock_layers_compute(device: &Device) {
    let net = KerasNetConfig::new()
        .with_layers(every_layer())
        .init(9, device)
        .unwrap();
    assert_fast_is_stock(net, device);
}

/// A training step through every layer type but dropout (batch norm with
/// the batch's statistics): fast and stock agree on the logits, the
/// gradients and, after the step, the moving statistics, each within 1e-4 of its size (the norm of the difference over the norm
/// of the stock values: single gradients can be small sums of large terms,
/// which the kernels add in other orders).
fn a_training_step_of_every_layer_type_is_the_stock_one(device: &Device) {
    let device = device.clone().autodiff();
    let layers: Vec<LayerConfig> = every_layer()
        .into_iter()
        .filter(|layer| !matches!(layer, LayerConfig::Dropout { .. }))
        .collect();
    let images = Tensor::<4>::random(
        [6, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let step = |kernels| {
        // A network of its own each: clones share their moving statistics.
        let net = KerasNetConfig::new()
            .with_layers(layers.clone())
            .init(4, &device)
            .unwrap()
            .with_kernels(kernels);
        let logits = net.forward(images.clone());
        let grads = logits.clone().powf_scalar(2.0).sum().backward();
        struct Gradients<'a>(&'a burn::tensor::Gradients, Vec<f32>);
        impl burn::module::ModuleVisitor for Gradients<'_> {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                if let Some(grad) = param.val().grad(self.0) {
                    self.1.extend(grad.into_data().try_to_vec::<f32>().unwrap());
                }
            }
        }
        let mut gradients = Gradients(&grads, Vec::new());
        net.visit(&mut gradients);
        let moving = net.weights().into_iter().flat_map(|layer| match layer {
            model::LayerWeights::BatchNorm { mean, variance, .. } => {
                [mean.values, variance.values].concat()
            }
            _ => Vec::new(),
        });
        let logits = logits.into_data().try_to_vec::<f32>().unwrap();
        [logits, gradients.1, moving.collect()]
    };
    let (fast, stock) = (step(Kernels::Fast), step(Kernels::Stock));
    for (what, (f, s)) in ["logits", "gradients", "moving statistics"]
        .iter()
        .zip(fast.iter().zip(&stock))
    {
        assert_eq!(f.len(), s.len(), "{what}");
        let norm =
            |values: &mut dyn Iterator<Item = f32>| values.map(|v| v * v).sum::<f32>().sqrt();
        let difference = norm(&mut f.iter().zip(s).map(|(f, s)| f - s));
        let size = norm(&mut s.iter().copied());
        assert!(
            difference <= 1e-4 * size,
            "{what}: |fast - stock| {difference}, |stock| {size}"
        );
    }
}

/// `net`'s logits for random images, fast against stock.
fn assert_fast_is_stock(net: model::KerasNet, device: &Device) {
    let images = Tensor::<4>::random(
        [3, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        device,
    );
    let values = |kernels| {
        net.clone()
            .with_kernels(kernels)
            .forward(images.clone())
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let (fast, stock) = (values(Kernels::Fast), values(Kernels::Stock));
    for (f, s) in fast.iter().zip(&stock) {
        assert!(
            (f - s).abs() <= 1e-4 * s.abs().max(1.0),
            "fast {f} stock {s}"
        );
    }
}

/// A ReLU convolution followed by its max-pool runs as one fused kernel,
/// the activation after the pool: the logits are the stock layers' (1e-4
/// relative: the fused kernel sums the products in another order).
fn relu_convolutions_fuse_with_their_pool(device: &Device) {
    let net = KerasNetConfig::new()
        .with_layers(keras_convnet())
        .init(5, device)
        .unwrap();
    assert_fast_is_stock(net, device);
}

/// The notebook's network did not change when the network became a list
/// of layers: from seed 42 the same weights, to the bit (a digest of the
/// 13,610 values, taken before the change), and the same logits for fixed
/// images (1e-5 relative: the backends differ in the last bits).
#[test]
fn the_notebook_network_is_the_one_before_layer_lists() {
    let (_, device) = &common::backends()[0];
    let net = KerasNetConfig::new().init(42, device).unwrap();
    let parameters = common::parameters(&net);
    let digest = parameters
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, value| {
            (hash ^ u64::from(value.to_bits())).wrapping_mul(0x100_0000_01b3)
        });
    assert_eq!(parameters.len(), 13_610);
    assert_eq!(digest, 0x7e21_53f9_ed7c_fef4);
    let pixels: Vec<f32> = (0..2 * 784).map(|i| ((i * 37 + 11) % 256) as f32).collect();
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [2, 1, 28, 28]), device);
    let before = [
        95.6841,
        -25.284283,
        82.33999,
        -48.316647,
        214.22562,
        32.4712,
        82.05615,
        -187.36575,
        -235.86668,
        39.59191,
        198.95746,
        -37.116875,
        90.7353,
        -33.536926,
        149.69087,
        61.244244,
        135.85818,
        -157.9965,
        -103.705536,
        -19.66275,
    ];
    for kernels in [Kernels::Stock, Kernels::Fast] {
        let logits = net.clone().with_kernels(kernels).forward(images.clone());
        for (now, then) in logits
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
            .iter()
            .zip(before)
        {
            assert!(
                (now - then).abs() <= 1e-5 * then.abs(),
                "{kernels:?}: {now} vs {then}"
            );
        }
    }
}

/// Layer lists that describe no network: each error names the layer's
/// index and the key at fault.
#[test]
fn impossible_layer_lists_are_refused() {
    let error = |layers: Vec<LayerConfig>| {
        let err: LayerError = KerasNetConfig::new()
            .with_layers(layers)
            .check()
            .unwrap_err();
        (err.index, err.key, err.to_string())
    };
    let at = |layers| {
        let (index, key, _) = error(layers);
        (index, key)
    };
    let mut dense_first = LayerConfig::notebook();
    dense_first.insert(0, dense(16, Activation::Relu));
    assert_eq!(at(dense_first), (0, "type"));
    assert_eq!(at(vec![]), (0, "type"));
    let (index, key, text) = error(vec![
        conv(8, 29, Activation::Linear),
        LayerConfig::Flatten,
        dense(10, Activation::Softmax),
    ]);
    assert_eq!((index, key), (0, "kernel_size"));
    assert_eq!(
        text,
        "model.layers[0] (conv2d): kernel_size 29 is larger than its 28x28 input"
    );
    let mut big_pool = LayerConfig::notebook();
    big_pool[1] = max_pool(27);
    assert_eq!(at(big_pool), (1, "pool_size"));
    let mut nine = LayerConfig::notebook();
    nine[3] = dense(9, Activation::Softmax);
    assert_eq!(
        error(nine).2,
        "model.layers[3] (dense): units 9: the last layer must have 10, one per class"
    );
    let mut pool_last = LayerConfig::notebook();
    pool_last.truncate(2);
    assert_eq!(at(pool_last), (1, "type"));
    let mut early_softmax = keras_convnet();
    early_softmax.insert(5, dense(32, Activation::Softmax));
    assert_eq!(at(early_softmax), (5, "activation"));
    let mut conv_after_flatten = LayerConfig::notebook();
    conv_after_flatten.insert(3, conv(4, 3, Activation::Relu));
    assert_eq!(at(conv_after_flatten), (3, "type"));
    let mut even_same = LayerConfig::notebook();
    even_same[0] = LayerConfig::Conv2d {
        filters: 8,
        kernel_size: 2,
        padding: Padding::Same,
        strides: 1,
        activation: Activation::Linear,
    };
    assert_eq!(at(even_same), (0, "padding"));
    let mut all_dropped = keras_convnet();
    all_dropped[5] = LayerConfig::Dropout { rate: 1.0 };
    assert_eq!(at(all_dropped), (5, "rate"));
}

/// What one network learned, given to another of the same layers, makes it
/// compute the same thing; weights of another shape are refused by layer.
fn weights_move_between_networks(device: &Device) {
    let layers: Vec<LayerConfig> = serde_json::from_str(
        r#"[{"type":"conv2d","filters":4,"kernel_size":3,"activation":"relu"},
            {"type":"batch_norm"},{"type":"max_pool2d","pool_size":2},{"type":"flatten"},
            {"type":"dropout","rate":0.5},{"type":"dense","units":10,"activation":"softmax"}]"#,
    )
    .unwrap();
    let config = KerasNetConfig::new().with_layers(layers);
    let source = config.init(1, device).unwrap();
    let target = config.init(2, device).unwrap();
    assert_ne!(source.weights(), target.weights());
    // Running statistics as a training leaves them, not as initialised.
    let mut weights = source.weights();
    for layer in &mut weights {
        if let model::LayerWeights::BatchNorm { mean, variance, .. } = layer {
            mean.values.iter_mut().for_each(|v| *v += 0.5);
            variance.values.iter_mut().for_each(|v| *v *= 2.0);
        }
    }
    let source = source.with_weights(&weights).unwrap();
    assert_eq!(source.weights(), weights);
    let moved = target.with_weights(&source.weights()).unwrap();
    assert_eq!(moved.weights(), source.weights());
    let images = Tensor::<4>::random(
        [3, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        device,
    );
    let (a, b) = (
        source.probabilities(images.clone()),
        moved.probabilities(images),
    );
    a.into_data().assert_eq(&b.into_data(), true);

    let notebook = KerasNetConfig::new().init(1, device).unwrap();
    let err = notebook.with_weights(&source.weights()).unwrap_err();
    assert_eq!((err.index, err.kind, err.key), (0, "", "weights"), "{err}");
}
