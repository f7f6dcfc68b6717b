//! Items to tensors: the [`Batcher`] the dataloaders use.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use burn::data::dataset::DatasetError;

use crate::dataset::{MnistDataset, MnistItem};
use crate::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

/// How pixel values 0..255 become the network's input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "a pixel scaling name")]
pub enum PixelScaling {
    /// Unchanged, 0..255: exactly what the notebook feeds Keras.
    #[default]
    Raw,
    /// Divided by 255, into 0..1.
    Unit,
    /// `(x / 255 - 0.1307) / 0.3081`: MNIST's mean and standard deviation.
    Standard,
}

impl PixelScaling {
    /// MNIST's mean pixel, in 0..1 (`standard` subtracts it).
    pub const MNIST_MEAN: f32 = 0.1307;
    /// MNIST's pixel standard deviation, in 0..1 (`standard` divides by it).
    pub const MNIST_STD: f32 = 0.3081;

    /// The input value of one pixel.
    #[inline(always)]
    pub fn apply(self, pixel: u8) -> f32 {
        let x = f32::from(pixel);
        match self {
            Self::Raw => x,
            Self::Unit => x / 255.0,
            Self::Standard => (x / 255.0 - Self::MNIST_MEAN) / Self::MNIST_STD,
        }
    }

    /// Appends `pixels`, scaled, to `out`. The scaling is chosen once, outside
    /// the loop, so that each arm is a loop the compiler vectorises (a match
    /// per pixel took a quarter of `trainer predict`).
    pub fn extend(self, out: &mut Vec<f32>, pixels: &[u8]) {
        match self {
            Self::Raw => out.extend(pixels.iter().map(|&pixel| Self::Raw.apply(pixel))),
            Self::Unit => out.extend(pixels.iter().map(|&pixel| Self::Unit.apply(pixel))),
            Self::Standard => out.extend(pixels.iter().map(|&pixel| Self::Standard.apply(pixel))),
        }
    }

    /// The name used in config files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Unit => "unit",
            Self::Standard => "standard",
        }
    }
}

impl std::str::FromStr for PixelScaling {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        [Self::Raw, Self::Unit, Self::Standard]
            .into_iter()
            .find(|scaling| scaling.name() == name)
            .ok_or_else(|| {
                format!("unknown pixel scaling `{name}` (expected raw, unit or standard)")
            })
    }
}

/// The one-hot row of a label: `5 -> [0 0 0 0 0 1 0 0 0 0]`.
pub fn one_hot(label: u8) -> [u8; NUM_CLASSES] {
    std::array::from_fn(|class| u8::from(class == usize::from(label)))
}

/// A batch ready for the network.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    /// Scaled pixels, `[B, 1, 28, 28]` (NCHW).
    pub images: Tensor<4>,
    /// Class indices, `[B]`.
    pub targets: Tensor<1, Int>,
    /// The key of the batch's random draws (dropout masks): a function of
    /// the seed, the epoch and the step in a shuffled loader, so a resumed
    /// training draws what the uninterrupted one drew; 0 elsewhere.
    pub noise: u64,
}

impl MnistBatch {
    /// The targets one-hot encoded, `[B, 10]`, as Keras's categorical labels.
    pub fn one_hot_targets(&self) -> Tensor<2> {
        self.targets.clone().one_hot(NUM_CLASSES).float()
    }
}

/// Turns [`MnistItem`]s into an [`MnistBatch`], scaling pixels as configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher {
    scaling: PixelScaling,
}

impl MnistBatcher {
    /// A batcher that scales pixels with `scaling`.
    pub fn new(scaling: PixelScaling) -> Self {
        Self { scaling }
    }

    /// Batches pixel buffers of whole images (`IMAGE_PIXELS` bytes each, one
    /// or several images per slice) into `[B, 1, 28, 28]`.
    pub fn images<'a>(
        &self,
        images: impl IntoIterator<Item = &'a [u8]>,
        device: &Device,
    ) -> Tensor<4> {
        // One pass over the u8 buffers into one f32 buffer: no per-item tensors.
        let images: Vec<&[u8]> = images.into_iter().collect();
        let mut values = Vec::with_capacity(images.iter().map(|image| image.len()).sum());
        for image in images {
            self.scaling.extend(&mut values, image);
        }
        let batch = values.len() / IMAGE_PIXELS;
        debug_assert_eq!(values.len(), batch * IMAGE_PIXELS, "whole images only");
        Tensor::from_data(
            TensorData::new(values, [batch, 1, IMAGE_SIDE, IMAGE_SIDE]),
            device,
        )
    }
}

impl MnistBatcher {
    /// The batch of the items of `dataset` at `indices`, in that order.
    pub fn batch_indices(
        &self,
        dataset: &MnistDataset,
        indices: &[usize],
        device: &Device,
    ) -> Result<MnistBatch, DatasetError> {
        let mut images = Vec::with_capacity(indices.len());
        let mut labels = Vec::with_capacity(indices.len());
        for &index in indices {
            let (Some(image), Some(&label)) = (dataset.image(index), dataset.labels().get(index))
            else {
                return Err(DatasetError::new(crate::DataError::IndexOutOfRange {
                    index,
                    len: dataset.len(),
                }));
            };
            images.push(image);
            labels.push(i64::from(label));
        }
        Ok(MnistBatch {
            images: self.images(images, device),
            targets: Tensor::from_data(TensorData::new(labels, [indices.len()]), device),
            noise: 0,
        })
    }
}

impl Batcher<MnistItem, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> MnistBatch {
        let images = self.images(items.iter().map(|item| item.pixels.as_slice()), device);
        let labels: Vec<i64> = items.iter().map(|item| i64::from(item.label)).collect();
        let targets = Tensor::from_data(TensorData::new(labels, [items.len()]), device);
        MnistBatch {
            images,
            targets,
            noise: 0,
        }
    }
}
