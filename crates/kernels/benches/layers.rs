//! The notebook's convolution and max-pool (`[32, 1, 28, 28]` images, 8
//! filters of 3x3, a 2x2 pool), by the kernels and by Burn's stock operations,
//! on each backend the kernels serve: the forward pass alone (prediction), and
//! forward + backward (a training step's share), both read back to completion.
//!
//! `cargo bench -p kernels`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Layers = fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>;

fn stock(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    let conv = conv2d(x, w, Some(b), ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    max_pool2d(conv, MaxPoolOptions::new([2, 2]).with_stride([2, 2]))
}

fn fused(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    kernels::conv2d_max_pool2d(x, w, b, [1, 1], [0, 0], [2, 2])
}

fn separate(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    kernels::max_pool2d(kernels::conv2d(x, w, b, [1, 1], [0, 0]), [2, 2])
}

const VARIANTS: [(&str, Layers); 3] = [("stock", stock), ("kernels", separate), ("fused", fused)];

fn devices() -> Vec<(&'static str, Device)> {
    #[allow(deprecated)]
    let devices = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    devices
}

fn operands(batch: usize, device: &Device) -> (Tensor<4>, Tensor<4>, Tensor<1>) {
    let x = Tensor::random(
        [batch, 1, 28, 28],
        Distribution::Uniform(0.0, 255.0),
        device,
    );
    let w = Tensor::random([8, 1, 3, 3], Distribution::Uniform(-0.3, 0.3), device);
    let b = Tensor::random([8], Distribution::Uniform(-0.1, 0.1), device);
    (x, w, b)
}

fn forward_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_pool_forward_backward_batch_32");
    for (name, device) in devices() {
        let device = device.autodiff();
        let (x, w, b) = operands(32, &device);
        let (w, b) = (w.require_grad(), b.require_grad());
        for (variant, layers) in VARIANTS {
            group.bench_function(BenchmarkId::new(variant, name), |bench| {
                bench.iter(|| {
                    let grads = layers(x.clone(), w.clone(), b.clone()).sum().backward();
                    w.grad(&grads).map(|g| g.into_data())
                })
            });
        }
    }
    group.finish();
}

fn forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_pool_forward_batch_500");
    for (name, device) in devices() {
        let (x, w, b) = operands(500, &device);
        for (variant, layers) in VARIANTS {
            group.bench_function(BenchmarkId::new(variant, name), |bench| {
                bench.iter(|| layers(x.clone(), w.clone(), b.clone()).into_data())
            });
        }
    }
    group.finish();
}

/// The fused kernel alone on host slices, without Burn: what the framework
/// around it adds is the difference to `conv_pool_*`.
fn slices(c: &mut Criterion) {
    use kernels::fused::{conv2d_max_pool2d, conv2d_max_pool2d_backward};
    use kernels::shape::ConvShape;
    let mut group = c.benchmark_group("fused_slices_batch_32");
    let shape = ConvShape {
        batch: 32,
        channels: 1,
        height: 28,
        width: 28,
        filters: 8,
        kernel: [3, 3],
        padding: [0, 0],
        stride: [1, 1],
    };
    let x: Vec<f32> = (0..32 * 784).map(|i| (i * 37 % 256) as f32).collect();
    let w: Vec<f32> = (0..72).map(|i| (i as f32 - 36.0) / 100.0).collect();
    let b = vec![0.01; 8];
    let mut out = vec![0.0; 32 * 8 * 169];
    let mut positions = vec![0u32; out.len()];
    let grad = vec![0.5; out.len()];
    let (mut dw, mut db) = (vec![0.0; 72], vec![0.0; 8]);
    // Each pass alone, then with a helper thread kept awake (as in training).
    for awake in [false, true] {
        let _helper = awake.then(kernels::PoolAwake::new);
        let suffix = if awake { "_awake" } else { "" };
        group.bench_function(format!("forward{suffix}"), |bench| {
            bench.iter(|| {
                conv2d_max_pool2d(&shape, [2, 2], &x, &w, &b, &mut out, Some(&mut positions))
            })
        });
        group.bench_function(format!("backward{suffix}"), |bench| {
            bench.iter(|| {
                conv2d_max_pool2d_backward(
                    &shape,
                    [2, 2],
                    &x,
                    &w,
                    &grad,
                    &positions,
                    None,
                    &mut dw,
                    &mut db,
                )
            })
        });
    }
    group.finish();
}

/// The convolutions of the suite's networks at their training batch, forward
/// and backward (the input's gradient too, but for the first layer of a
/// network, whose input is not tracked), by each path and by burn-flex's
/// stock operation, alone and, where
/// the network max-pools after it, with that pool (`PATH+pool`: fused by the
/// kernels, two stock operations); the figures are per batch, so GFLOP/s =
/// 6 (4 for a first layer) * multiply-adds of the forward convolution / time.
fn suite(c: &mut Criterion) {
    use kernels::ConvPath;
    // (name, batch, channels, side, filters, kernel, padding, max-pool after it)
    let layers = [
        ("convnet_conv1", 128, 1, 28, 32, 3, 0, true),
        ("convnet_conv2", 128, 32, 13, 64, 3, 0, true),
        ("lenet_conv1", 64, 1, 28, 6, 5, 2, false),
        ("lenet_conv2", 64, 6, 14, 16, 5, 0, false),
    ];
    let first_layer = |name: &str| name.ends_with("conv1");
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("suite_conv_forward_backward");
    for (name, batch, channels, side, filters, kernel, padding, pooled) in layers {
        let x = Tensor::<4>::random(
            [batch, channels, side, side],
            Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let x = if first_layer(name) {
            x
        } else {
            x.require_grad()
        };
        let w = Tensor::<4>::random(
            [filters, channels, kernel, kernel],
            Distribution::Uniform(-0.3, 0.3),
            &device,
        )
        .require_grad();
        let b = Tensor::<1>::zeros([filters], &device).require_grad();
        let paths = [ConvPath::Direct, ConvPath::Gemm, ConvPath::Stock];
        let pools: &[bool] = if pooled { &[false, true] } else { &[false] };
        for (path, &pool) in paths
            .iter()
            .flat_map(|path| pools.iter().map(move |p| (*path, p)))
        {
            let id = format!("{}{}", path.name(), if pool { "+pool" } else { "" });
            group.bench_function(BenchmarkId::new(name, id), |bench| {
                bench.iter(|| {
                    let (input, weight, bias) = (x.clone(), w.clone(), b.clone());
                    let options = ConvOptions::new([1, 1], [padding; 2], [1, 1], 1);
                    let y = match (path, pool) {
                        (ConvPath::Stock, false) => conv2d(input, weight, Some(bias), options),
                        (ConvPath::Stock, true) => max_pool2d(
                            conv2d(input, weight, Some(bias), options),
                            MaxPoolOptions::new([2, 2]).with_stride([2, 2]),
                        ),
                        (path, false) => {
                            kernels::conv2d_on(path, input, weight, bias, [1, 1], [padding; 2])
                        }
                        (path, true) => kernels::conv2d_max_pool2d_on(
                            path,
                            input,
                            weight,
                            bias,
                            [1, 1],
                            [padding; 2],
                            [2, 2],
                        ),
                    };
                    let grads = y.sum().backward();
                    (
                        w.grad(&grads).map(|g| g.into_data()),
                        x.grad(&grads).map(|g| g.into_data()),
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, slices, forward_backward, forward, suite);
criterion_main!(benches);
