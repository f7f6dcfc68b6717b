//! Data costs: loading and verifying the bundled MNIST (gunzip, SHA-256, IDX
//! parsing of both splits), and turning items into one training batch as the
//! dataloader does each step (on ndarray, where the batch lives in host memory).
//!
//! `cargo bench -p data`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use data::{DataSource, MnistBatcher, MnistDataset, PixelScaling, Split};

fn load_bundled(c: &mut Criterion) {
    c.bench_function("load_bundled_mnist_both_splits", |b| {
        b.iter(|| {
            let train = MnistDataset::load(&DataSource::Bundled, Split::Train).unwrap();
            let test = MnistDataset::load(&DataSource::Bundled, Split::Test).unwrap();
            train.len() + test.len()
        })
    });
}

fn batch_32(c: &mut Criterion) {
    let train = MnistDataset::load(&DataSource::Bundled, Split::Train).unwrap();
    #[allow(deprecated)] // burn 0.22 deprecates ndarray; it stays our default CPU backend
    let device = Device::ndarray();
    let batcher = MnistBatcher::new(PixelScaling::Raw);
    let mut group = c.benchmark_group("batch_32_items");
    group.throughput(Throughput::Elements(32));
    group.bench_function("get_and_batch", |b| {
        let mut start = 0;
        b.iter(|| {
            let items = (start..start + 32)
                .filter_map(|i| train.get(i).ok())
                .collect();
            start = (start + 32) % (train.len() - 32);
            batcher.batch(items, &device)
        })
    });
    group.finish();
}

criterion_group!(benches, load_bundled, batch_32);
criterion_main!(benches);
