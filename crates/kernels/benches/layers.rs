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
    kernels::conv2d_max_pool2d(x, w, b, [0, 0], [2, 2])
}

fn separate(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    kernels::max_pool2d(kernels::conv2d(x, w, b, [0, 0]), [2, 2])
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
    };
    let x: Vec<f32> = (0..32 * 784).map(|i| (i * 37 % 256) as f32).collect();
    let w: Vec<f32> = (0..72).map(|i| (i as f32 - 36.0) / 100.0).collect();
    let b = vec![0.01; 8];
    let mut out = vec![0.0; 32 * 8 * 169];
    let mut positions = vec![0u32; out.len()];
    group.bench_function("forward", |bench| {
        bench.iter(|| conv2d_max_pool2d(&shape, [2, 2], &x, &w, &b, &mut out, Some(&mut positions)))
    });
    let grad = vec![0.5; out.len()];
    let (mut dw, mut db) = (vec![0.0; 72], vec![0.0; 8]);
    group.bench_function("backward", |bench| {
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
    group.finish();
}

criterion_group!(benches, slices, forward_backward, forward);
criterion_main!(benches);
