//! MNIST for Burn: the IDX file format, the train and test splits as a Burn
//! [`Dataset`](burn::data::dataset::Dataset), and a [`Batcher`](burn::data::dataloader::batcher::Batcher)
//! that turns items into `[B, 1, 28, 28]` tensors.
//!
//! This crate knows files and tensors, nothing about models or training.

mod batcher;
mod dataset;
mod digit_image;
mod error;
mod idx;
mod loader;
mod source;

pub use batcher::{MnistBatch, MnistBatcher, PixelScaling, one_hot};
pub use dataset::{MnistDataset, MnistItem};
pub use digit_image::{
    INK_THRESHOLD, MAX_SIDE, digit_from_image_bytes, digit_from_image_file, digit_from_picture,
};
pub use error::DataError;
pub use idx::{IdxImages, read_idx_images, read_idx_labels};
pub use loader::MnistLoader;
pub use source::{DATA_DIR_ENV, DataSource, Split};

/// Side of an MNIST image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of digit classes.
pub const NUM_CLASSES: usize = 10;
