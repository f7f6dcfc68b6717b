//! The IDX format of the MNIST files: a big-endian header (magic, then one
//! `u32` per dimension) followed by the `u8` payload, optionally gzipped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::DataError;
use crate::{IMAGE_SIDE, NUM_CLASSES};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most items one file may announce. Bounds what a forged header can make us
/// allocate (7.8e8 bytes of images); EMNIST, the largest MNIST-format set, has 814k.
pub const MAX_ITEMS: usize = 1_000_000;

/// Images of an idx3 file, pixels row-major in one contiguous buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// All pixels, `count * 28 * 28` bytes, image after image.
    pub pixels: Vec<u8>,
}

/// Reads an idx3 image file (gzipped or not) whose images must be 28x28.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    parse_images(path, open(path)?)
}

/// Reads an idx1 label file (gzipped or not) whose labels must be digits 0..9.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_labels(path, open(path)?)
}

/// Parses an idx3 image file from `source`; `path` only names it in errors.
pub(crate) fn parse_images(path: &Path, source: impl BufRead) -> Result<IdxImages, DataError> {
    let mut reader = IdxReader::new(path, source)?;
    let [count, rows, cols] = reader.header::<3>(IMAGES_MAGIC, "idx3 images")?;
    if (rows, cols) != (IMAGE_SIDE as u32, IMAGE_SIDE as u32) {
        return Err(DataError::BadDimensions {
            path: path.to_owned(),
            rows,
            cols,
        });
    }
    let count = reader.item_count(count)?;
    let pixels = reader.payload(count * IMAGE_SIDE * IMAGE_SIDE)?;
    Ok(IdxImages { count, pixels })
}

/// Parses an idx1 label file from `source`; `path` only names it in errors.
pub(crate) fn parse_labels(path: &Path, source: impl BufRead) -> Result<Vec<u8>, DataError> {
    let mut reader = IdxReader::new(path, source)?;
    let [count] = reader.header::<1>(LABELS_MAGIC, "idx1 labels")?;
    let count = reader.item_count(count)?;
    let labels = reader.payload(count)?;
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= NUM_CLASSES)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_owned(),
            index,
            label,
        });
    }
    Ok(labels)
}

/// The file at `path`, to be read as a stream: its header is checked before
/// its payload is read, and no more than the header announces is read (a
/// file that never ends, such as `/dev/zero`, included).
fn open(path: &Path) -> Result<BufReader<File>, DataError> {
    if path.is_dir() {
        return Err(DataError::NotAFile {
            path: path.to_owned(),
        });
    }
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Reads the header and then the payload of one IDX file, decompressing on the fly.
struct IdxReader<'a> {
    path: PathBuf,
    stream: Box<dyn Read + 'a>,
    gzipped: bool,
}

impl<'a> IdxReader<'a> {
    fn new(path: &Path, mut source: impl BufRead + 'a) -> Result<Self, DataError> {
        let start = source.fill_buf().map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })?;
        if start.is_empty() {
            return Err(DataError::Empty {
                path: path.to_owned(),
            });
        }
        let gzipped = start.starts_with(&GZIP_MAGIC);
        // `gzip` of several files, or `cat a.gz b.gz`, makes several members.
        let stream: Box<dyn Read + 'a> = if gzipped {
            Box::new(MultiGzDecoder::new(source))
        } else {
            Box::new(source)
        };
        Ok(Self {
            path: path.to_owned(),
            stream,
            gzipped,
        })
    }

    /// Reads the magic and `N` dimension fields.
    fn header<const N: usize>(
        &mut self,
        expected: u32,
        kind: &'static str,
    ) -> Result<[u32; N], DataError> {
        let fields = self.read_up_to(4 * (N + 1))?;
        let word = |i: usize| {
            fields
                .get(4 * i..4 * i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let magic = word(0).ok_or_else(|| self.truncated(4, fields.len()))?;
        if magic != expected {
            return Err(DataError::BadMagic {
                path: self.path.clone(),
                found: magic,
                expected,
                kind,
            });
        }
        let mut dims = [0u32; N];
        for (i, dim) in dims.iter_mut().enumerate() {
            *dim = word(i + 1).ok_or_else(|| self.truncated(4 * (N + 1), fields.len()))?;
        }
        Ok(dims)
    }

    fn item_count(&self, count: u32) -> Result<usize, DataError> {
        let items = count as usize;
        if items > MAX_ITEMS {
            return Err(DataError::TooManyItems {
                path: self.path.clone(),
                count,
                max: MAX_ITEMS,
            });
        }
        Ok(items)
    }

    /// Reads exactly `len` payload bytes and checks that nothing follows them.
    fn payload(&mut self, len: usize) -> Result<Vec<u8>, DataError> {
        // Reading at most one byte more than announced keeps a forged header or a
        // gzip bomb from making us allocate more than the data really holds.
        let data = self.read_up_to(len + 1)?;
        match data.len().cmp(&len) {
            std::cmp::Ordering::Less => Err(self.truncated(len, data.len())),
            std::cmp::Ordering::Greater => Err(DataError::TrailingBytes {
                path: self.path.clone(),
                expected: len,
            }),
            std::cmp::Ordering::Equal => Ok(data),
        }
    }

    fn read_up_to(&mut self, limit: usize) -> Result<Vec<u8>, DataError> {
        let mut data = Vec::new();
        (&mut self.stream)
            .take(limit as u64)
            .read_to_end(&mut data)
            .map_err(|source| {
                if self.gzipped {
                    DataError::CorruptGzip {
                        path: self.path.clone(),
                        source,
                    }
                } else {
                    DataError::Io {
                        path: self.path.clone(),
                        source,
                    }
                }
            })?;
        Ok(data)
    }

    fn truncated(&self, expected: usize, found: usize) -> DataError {
        DataError::Truncated {
            path: self.path.clone(),
            expected,
            found,
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
        std::iter::once(magic)
            .chain(dims.iter().copied())
            .flat_map(u32::to_be_bytes)
            .collect()
    }

    proptest! {
        /// Whatever the bytes, the reader answers with data or a typed error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let path = Path::new("fuzz");
            let _ = parse_images(path, &bytes[..]);
            let _ = parse_labels(path, &bytes[..]);
        }

        /// Plausible headers with arbitrary dimensions and payloads, raw and gzipped.
        #[test]
        fn forged_headers_never_panic(
            count in any::<u32>(),
            rows in prop_oneof![Just(28u32), any::<u32>()],
            cols in prop_oneof![Just(28u32), any::<u32>()],
            payload in proptest::collection::vec(any::<u8>(), 0..3000),
            gzipped in any::<bool>(),
        ) {
            let path = Path::new("fuzz");
            let mut images = header(IMAGES_MAGIC, &[count, rows, cols]);
            images.extend_from_slice(&payload);
            let mut labels = header(LABELS_MAGIC, &[count]);
            labels.extend_from_slice(&payload);
            for bytes in [images, labels] {
                let bytes = if gzipped {
                    use std::io::Write;
                    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    encoder.write_all(&bytes).unwrap();
                    encoder.finish().unwrap()
                } else {
                    bytes
                };
                if let Ok(parsed) = parse_images(path, &bytes[..]) {
                    prop_assert_eq!(parsed.pixels.len(), parsed.count * 784);
                }
                if let Ok(parsed) = parse_labels(path, &bytes[..]) {
                    prop_assert!(parsed.iter().all(|&l| l < 10));
                }
            }
        }
    }
}
