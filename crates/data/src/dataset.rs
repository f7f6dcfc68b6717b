//! The MNIST splits as a Burn [`Dataset`].

use burn::data::dataset::{Dataset, DatasetError};

use crate::error::DataError;
use crate::source::{DataSource, Split};
use crate::{IMAGE_PIXELS, NUM_CLASSES};

/// One digit: its 28x28 pixels (0..255, row-major) and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistItem {
    /// Greyscale pixels, row-major, white ink (255) on black (0).
    pub pixels: [u8; IMAGE_PIXELS],
    /// The digit, 0..9.
    pub label: u8,
}

/// An MNIST split held as one contiguous `u8` pixel buffer and its labels.
#[derive(Debug, Clone)]
pub struct MnistDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl MnistDataset {
    /// Loads and checks `split` from `source`.
    pub fn load(source: &DataSource, split: Split) -> Result<Self, DataError> {
        let (pixels, labels) = source.load(split)?;
        Ok(Self { pixels, labels })
    }

    /// Builds a dataset from items already in memory (pictures, tests).
    pub fn from_items(items: &[MnistItem]) -> Self {
        Self {
            pixels: items.iter().flat_map(|item| item.pixels).collect(),
            labels: items.iter().map(|item| item.label).collect(),
        }
    }

    /// Keeps only the first `len` items (all of them if there are fewer).
    pub fn truncate(mut self, len: usize) -> Self {
        self.labels.truncate(len);
        self.pixels.truncate(self.labels.len() * IMAGE_PIXELS);
        self
    }

    /// The first `at` items and the rest (Keras's `validation_split` holds
    /// out the rest).
    pub fn split_at(mut self, at: usize) -> (Self, Self) {
        let at = at.min(self.labels.len());
        let rest = Self {
            pixels: self.pixels.split_off(at * IMAGE_PIXELS),
            labels: self.labels.split_off(at),
        };
        (self, rest)
    }

    /// The pixels of items `start..end` as one contiguous buffer, or `None` past the end.
    pub fn images(&self, range: std::ops::Range<usize>) -> Option<&[u8]> {
        self.pixels
            .get(range.start * IMAGE_PIXELS..range.end * IMAGE_PIXELS)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no item.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All labels, in file order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The pixels of item `index`, or `None` past the end.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        self.pixels
            .get(index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS)
    }

    /// How many items of each digit the split holds.
    pub fn label_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Item `index`, or `None` past the end.
    pub fn item(&self, index: usize) -> Option<MnistItem> {
        let pixels = self.image(index)?.try_into().ok()?;
        Some(MnistItem {
            pixels,
            label: self.labels[index],
        })
    }
}

impl Dataset<MnistItem> for MnistDataset {
    fn get(&self, index: usize) -> Result<MnistItem, DatasetError> {
        self.item(index).ok_or_else(|| {
            DatasetError::new(DataError::IndexOutOfRange {
                index,
                len: self.len(),
            })
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}
