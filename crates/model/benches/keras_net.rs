//! The network's costs per backend of the build (ndarray always; `--features
//! flex,wgpu,tch` add theirs): one training step (batch 32: forward, loss,
//! backward, the trainer's Keras Adam) and its parts, one validation batch (500 images) and a
//! prediction of 10,000 images, on synthetic raw-pixel images (the
//! notebook's inputs). Each iteration reads its result back, so asynchronous backends
//! are timed to completion.
//!
//! `cargo bench -p model --features flex,wgpu,tch`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::{Distribution, Int};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use model::{KerasAdam, KerasNet, KerasNetConfig, Kernels};

#[path = "../tests/common/mod.rs"]
mod common;

/// The trainer's allocator: with glibc's, a flex step here took 6.0 ms against
/// 2.2 ms in the trainer (large tensors freed back to the kernel every step).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every backend of the build with each kernel choice that differs there:
/// `flex/fast`, `flex/stock`, ..., `wgpu/stock`.
fn variants() -> Vec<(String, Device, Kernels)> {
    common::backends()
        .into_iter()
        .flat_map(|(name, device)| {
            [Kernels::Fast, Kernels::Stock]
                .into_iter()
                .filter(|kernels| kernels.on(&device) == *kernels)
                .map(|kernels| {
                    (
                        format!("{name}/{}", kernels.name()),
                        device.clone(),
                        kernels,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The notebook's network with `kernels`.
fn net(kernels: Kernels, device: &Device) -> KerasNet {
    KerasNetConfig::new()
        .init(42, device)
        .expect("the notebook's layers fit")
        .with_kernels(kernels)
}

/// `n` raw-pixel images and their classes.
fn batch(n: usize, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let images = Tensor::random([n, 1, 28, 28], Distribution::Uniform(0.0, 255.0), device);
    let classes = Tensor::from_data(
        TensorData::new((0..n).map(|i| (i % 10) as i64).collect::<Vec<_>>(), [n]),
        device,
    );
    (images, classes)
}

fn loss(net: &KerasNet, images: Tensor<4>, classes: Tensor<1, Int>) -> Tensor<1> {
    net.loss(net.forward(images), classes)
}

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step_batch_32");
    group.throughput(Throughput::Elements(32));
    for (name, device, kernels) in variants() {
        let device = device.autodiff();
        let (images, classes) = batch(32, &device);
        let recipe = KerasAdam::default();
        let mut adam = recipe.optimizer(kernels);
        let mut net = Some(net(kernels, &device));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let current = net.take().expect("the network is put back");
                let loss = loss(&current, images.clone(), classes.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &current);
                let stepped = adam.step(recipe.learning_rate, current, grads);
                let value = loss.into_scalar::<f32>();
                net = Some(stepped);
                value
            })
        });
    }
    group.finish();
}

/// The parts of a training step, to see where its time goes: the forward
/// pass with the loss, then forward and backward without the optimiser.
fn step_parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_parts_batch_32");
    group.throughput(Throughput::Elements(32));
    for (name, device, kernels) in variants() {
        let device = device.autodiff();
        let (images, classes) = batch(32, &device);
        let net = net(kernels, &device);
        group.bench_function(BenchmarkId::new("forward", &name), |b| {
            b.iter(|| loss(&net, images.clone(), classes.clone()).into_scalar::<f32>())
        });
        group.bench_function(BenchmarkId::new("forward_backward", name), |b| {
            b.iter(|| {
                let loss = loss(&net, images.clone(), classes.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                (grads.len(), loss.into_scalar::<f32>())
            })
        });
    }
    group.finish();
}

fn validation_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("validation_batch_500");
    group.throughput(Throughput::Elements(500));
    for (name, device, kernels) in variants() {
        let net = net(kernels, &device.clone().autodiff()).valid();
        let (images, classes) = batch(500, &device);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| loss(&net, images.clone(), classes.clone()).into_scalar::<f32>())
        });
    }
    group.finish();
}

fn predict_test_split(c: &mut Criterion) {
    let mut group = c.benchmark_group("predict_10000");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    for (name, device, kernels) in variants() {
        let net = net(kernels, &device);
        let batches: Vec<Tensor<4>> = (0..20).map(|_| batch(500, &device).0).collect();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                batches
                    .iter()
                    .map(|images| net.probabilities(images.clone()).into_data())
                    .collect::<Vec<_>>()
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    train_step,
    step_parts,
    validation_batch,
    predict_test_split
);
criterion_main!(benches);
