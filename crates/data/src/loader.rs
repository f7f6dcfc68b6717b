//! Batches of a split for Burn's Learner: a [`DataLoader`] whose order at
//! each epoch depends on the seed and the epoch's number alone.
//!
//! Burn's own loader shuffles with one random generator that advances from
//! epoch to epoch, so a training resumed after epoch `k` starts its generator
//! afresh and replays epoch 1's order. Here epoch `e` is always shuffled by
//! a generator seeded from `(seed, e)`: a run resumed at any epoch sees the
//! batches the uninterrupted run saw, which makes it the same run.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::{MnistBatch, MnistBatcher, MnistDataset};

/// The batches of (a range of) a split, in file order or shuffled per epoch.
#[derive(Clone)]
pub struct MnistLoader {
    dataset: Arc<MnistDataset>,
    items: Range<usize>,
    batcher: MnistBatcher,
    batch_size: usize,
    device: Device,
    shuffle: Option<Shuffle>,
}

/// The seed, and the epoch the next pass over the data belongs to, shared by
/// the copies the Learner makes of the loader (`to_device`).
#[derive(Clone)]
struct Shuffle {
    seed: u64,
    next_epoch: Arc<AtomicU64>,
}

impl MnistLoader {
    /// Batches of `batch_size` items in file order (validation, prediction).
    pub fn sequential(
        dataset: Arc<MnistDataset>,
        batcher: MnistBatcher,
        batch_size: usize,
        device: Device,
    ) -> Self {
        Self {
            items: 0..dataset.len(),
            dataset,
            batcher,
            batch_size: batch_size.max(1),
            device,
            shuffle: None,
        }
    }

    /// Batches of `batch_size` items in an order drawn from `seed` and the
    /// epoch's number, the first pass being epoch `first_epoch` (1 for a new
    /// training, `k + 1` for one resumed after epoch `k`).
    pub fn shuffled(
        dataset: Arc<MnistDataset>,
        batcher: MnistBatcher,
        batch_size: usize,
        device: Device,
        seed: u64,
        first_epoch: u64,
    ) -> Self {
        Self {
            shuffle: Some(Shuffle {
                seed,
                next_epoch: Arc::new(AtomicU64::new(first_epoch)),
            }),
            ..Self::sequential(dataset, batcher, batch_size, device)
        }
    }

    /// The order of the items in `epoch` (file order if not shuffled).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = self.items.clone().collect();
        if let Some(shuffle) = &self.shuffle {
            // A different, fixed stream per epoch: the epoch's number spread
            // over the seed's bits (the golden-ratio constant of SplitMix64).
            order.shuffle(&mut StdRng::seed_from_u64(stream(shuffle.seed, epoch)));
        }
        order
    }
}

impl DataLoader<MnistBatch> for MnistLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<MnistBatch> + 'a> {
        let epoch = self.shuffle.as_ref().map_or(0, |shuffle| {
            shuffle.next_epoch.fetch_add(1, Ordering::SeqCst)
        });
        Box::new(Batches {
            loader: self,
            order: self.order(epoch),
            epoch,
            done: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.items.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<MnistBatch>> {
        Arc::new(Self {
            device: device.clone(),
            ..self.clone()
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<MnistBatch>> {
        let first = self.items.start;
        Arc::new(Self {
            items: (first + start).min(self.items.end)..(first + end).min(self.items.end),
            ..self.clone()
        })
    }
}

/// `seed` and `value` (an epoch, a step) as one seed: `value` spread over
/// the seed's bits by the golden-ratio constant of SplitMix64, a different
/// fixed stream for every value.
fn stream(seed: u64, value: u64) -> u64 {
    seed.wrapping_add(value.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One pass over a loader's items.
struct Batches<'a> {
    loader: &'a MnistLoader,
    order: Vec<usize>,
    epoch: u64,
    done: usize,
}

impl Iterator for Batches<'_> {
    type Item = Result<MnistBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let end = (self.done + self.loader.batch_size).min(self.order.len());
        if self.done >= end {
            return None;
        }
        let indices = &self.order[self.done..end];
        let step = (self.done / self.loader.batch_size) as u64;
        self.done = end;
        // Dropout's key: the epoch's stream, moved on by the step; the
        // sequential loaders (validation, prediction) draw nothing.
        let noise = self.loader.shuffle.as_ref().map_or(0, |shuffle| {
            stream(stream(shuffle.seed, self.epoch), step.wrapping_add(1))
        });
        Some(
            self.loader
                .batcher
                .batch_indices(&self.loader.dataset, indices, &self.loader.device)
                .map(|batch| MnistBatch { noise, ..batch }),
        )
    }
}

impl DataLoaderIterator<MnistBatch> for Batches<'_> {
    fn progress(&self) -> Progress {
        Progress::new(self.done, self.order.len(), Some("items".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MnistItem;

    fn dataset(len: usize) -> Arc<MnistDataset> {
        let items: Vec<MnistItem> = (0..len)
            .map(|i| MnistItem {
                pixels: [i as u8; crate::IMAGE_PIXELS],
                label: (i % 10) as u8,
            })
            .collect();
        Arc::new(MnistDataset::from_items(&items))
    }

    #[allow(deprecated)]
    fn device() -> Device {
        Device::ndarray()
    }

    #[test]
    fn the_order_of_an_epoch_depends_on_the_seed_and_the_epoch_only() {
        let loader =
            MnistLoader::shuffled(dataset(50), MnistBatcher::default(), 8, device(), 42, 1);
        let epoch_2 = loader.order(2);
        assert_ne!(loader.order(1), epoch_2, "epochs differ");
        let resumed =
            MnistLoader::shuffled(dataset(50), MnistBatcher::default(), 8, device(), 42, 2);
        assert_eq!(
            resumed.order(2),
            epoch_2,
            "a resumed loader sees the same order"
        );
        let mut sorted = epoch_2.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>(), "a permutation");
        let other_seed =
            MnistLoader::shuffled(dataset(50), MnistBatcher::default(), 8, device(), 7, 1);
        assert_ne!(other_seed.order(2), epoch_2);
    }

    #[test]
    fn each_pass_is_the_next_epoch_also_through_a_copy_on_another_device() {
        let loader = MnistLoader::shuffled(dataset(20), MnistBatcher::default(), 6, device(), 3, 4);
        let labels = |loader: &dyn DataLoader<MnistBatch>| -> Vec<i64> {
            loader
                .iter()
                .flat_map(|batch| {
                    batch
                        .unwrap()
                        .targets
                        .into_data()
                        .convert::<i64>()
                        .try_into_vec::<i64>()
                        .unwrap()
                })
                .collect()
        };
        let expected = |epoch| -> Vec<i64> {
            loader
                .order(epoch)
                .iter()
                .map(|&i| (i % 10) as i64)
                .collect()
        };
        let copy = loader.to_device(&device());
        assert_eq!(labels(copy.as_ref()), expected(4));
        assert_eq!(
            labels(&loader),
            expected(5),
            "the copy advanced the shared epoch"
        );
        let batches: Vec<usize> = loader
            .iter()
            .map(|b| b.unwrap().targets.dims()[0])
            .collect();
        assert_eq!(batches, [6, 6, 6, 2], "the last batch is partial");
    }

    #[test]
    fn each_training_batch_has_its_own_noise_key_replayed_on_resume() {
        let keys = |first_epoch, seed| -> Vec<u64> {
            let loader = MnistLoader::shuffled(
                dataset(20),
                MnistBatcher::default(),
                6,
                device(),
                seed,
                first_epoch,
            );
            loader.iter().map(|batch| batch.unwrap().noise).collect()
        };
        let epoch_2 = keys(2, 5);
        assert_eq!(epoch_2.len(), 4);
        let mut distinct = epoch_2.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "one key per step: {epoch_2:?}");
        assert_eq!(keys(2, 5), epoch_2, "a resumed loader draws the same keys");
        assert_ne!(keys(3, 5), epoch_2, "another epoch, other keys");
        assert_ne!(keys(2, 6), epoch_2, "another seed, other keys");
        let sequential = MnistLoader::sequential(dataset(10), MnistBatcher::default(), 4, device());
        assert!(sequential.iter().all(|batch| batch.unwrap().noise == 0));
    }

    #[test]
    fn a_sequential_loader_keeps_file_order_and_slices() {
        let loader = MnistLoader::sequential(dataset(10), MnistBatcher::default(), 4, device());
        assert_eq!(loader.order(9), (0..10).collect::<Vec<_>>());
        let slice = loader.slice(3, 7);
        assert_eq!(slice.num_items(), 4);
        let mut iter = slice.iter();
        let first = iter.next().unwrap().unwrap();
        assert_eq!(
            first
                .targets
                .into_data()
                .convert::<i64>()
                .try_into_vec::<i64>()
                .unwrap(),
            [3, 4, 5, 6]
        );
        assert!(iter.progress().is_completed());
    }
}
