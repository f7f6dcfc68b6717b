//! Where the MNIST files come from: a directory, or the copy bundled in the binary.

use std::path::{Path, PathBuf};

use crate::error::DataError;

/// One of the two MNIST splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60,000 training digits.
    Train,
    /// The 10,000 test digits (the notebook's validation set).
    Test,
}

impl Split {
    /// The standard (ungzipped) names of the split's image and label files.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            Self::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

/// Environment variable naming a data directory when none is given explicitly.
pub const DATA_DIR_ENV: &str = "BURNIST_DATA";

/// A place holding the four MNIST IDX files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A directory with the four standard file names, each gzipped (`.gz`) or not.
    Dir(PathBuf),
    /// The repository's `data/mnist/`, embedded at compile time and checked by SHA-256.
    #[cfg(feature = "bundled")]
    Bundled,
}

impl DataSource {
    /// Resolves the data location: `explicit` if given, else the directory in
    /// [`DATA_DIR_ENV`], else the bundled copy.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, DataError> {
        if let Some(dir) = explicit {
            return Ok(Self::Dir(dir.to_owned()));
        }
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|dir| !dir.is_empty()) {
            return Ok(Self::Dir(dir.into()));
        }
        Self::default_source()
    }

    #[cfg(feature = "bundled")]
    fn default_source() -> Result<Self, DataError> {
        Ok(Self::Bundled)
    }

    #[cfg(not(feature = "bundled"))]
    fn default_source() -> Result<Self, DataError> {
        Err(DataError::NoData { env: DATA_DIR_ENV })
    }

    /// Reads and checks one split's images and labels.
    pub(crate) fn load(&self, split: Split) -> Result<(Vec<u8>, Vec<u8>), DataError> {
        let (images_name, labels_name) = split.file_names();
        let (images, labels, images_path, labels_path) = match self {
            Self::Dir(dir) => {
                if !dir.is_dir() {
                    return Err(DataError::MissingDirectory { path: dir.clone() });
                }
                let images_path = find_file(dir, images_name)?;
                let labels_path = find_file(dir, labels_name)?;
                let images = crate::idx::read_idx_images(&images_path)?;
                let labels = crate::idx::read_idx_labels(&labels_path)?;
                (images, labels, images_path, labels_path)
            }
            #[cfg(feature = "bundled")]
            Self::Bundled => {
                let images = bundled::file(images_name)?;
                let labels = bundled::file(labels_name)?;
                let images_path = bundled::path(images_name);
                let labels_path = bundled::path(labels_name);
                (
                    crate::idx::parse_images(&images_path, images)?,
                    crate::idx::parse_labels(&labels_path, labels)?,
                    images_path,
                    labels_path,
                )
            }
        };
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images: images_path,
                image_count: images.count,
                labels: labels_path,
                label_count: labels.len(),
            });
        }
        // A valid IDX file may hold 0 items; no split can be used with none.
        if images.count == 0 {
            return Err(DataError::NoItems { path: images_path });
        }
        Ok((images.pixels, labels))
    }
}

impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            #[cfg(feature = "bundled")]
            Self::Bundled => f.write_str("bundled data/mnist"),
        }
    }
}

/// `dir/name`, else `dir/name.gz`.
fn find_file(dir: &Path, name: &'static str) -> Result<PathBuf, DataError> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    [raw, gz]
        .into_iter()
        .find(|path| path.exists())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_owned(),
            name,
        })
}

#[cfg(feature = "bundled")]
mod bundled {
    use std::path::PathBuf;

    use sha2::{Digest, Sha256};

    use crate::error::DataError;

    macro_rules! bundled_file {
        ($name:literal, $sha256:literal) => {
            (
                $name,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../data/mnist/",
                    $name,
                    ".gz"
                ))
                .as_slice(),
                $sha256,
            )
        };
    }

    /// The four gzipped files of `data/mnist/` with their SHA-256.
    const FILES: [(&str, &[u8], &str); 4] = [
        bundled_file!(
            "train-images-idx3-ubyte",
            "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971"
        ),
        bundled_file!(
            "train-labels-idx1-ubyte",
            "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203"
        ),
        bundled_file!(
            "t10k-images-idx3-ubyte",
            "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be"
        ),
        bundled_file!(
            "t10k-labels-idx1-ubyte",
            "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b"
        ),
    ];

    /// The bundled bytes of `name`, after checking their SHA-256.
    pub(super) fn file(name: &'static str) -> Result<&'static [u8], DataError> {
        let (name, bytes, expected) = FILES
            .into_iter()
            .find(|(file, _, _)| *file == name)
            .expect("every split names one of the four bundled files");
        verify(name, bytes, expected)?;
        Ok(bytes)
    }

    /// The name the bundled file goes by in error messages.
    pub(super) fn path(name: &str) -> PathBuf {
        PathBuf::from(format!("bundled data/mnist/{name}.gz"))
    }

    pub(super) fn verify(
        name: &'static str,
        bytes: &[u8],
        expected: &'static str,
    ) -> Result<(), DataError> {
        let found: String = Sha256::digest(bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        if found == expected {
            Ok(())
        } else {
            Err(DataError::ChecksumMismatch {
                name,
                expected,
                found,
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_damaged_bundled_file_is_refused() {
            let (name, bytes, expected) = FILES[3];
            let mut damaged = bytes.to_vec();
            damaged[100] ^= 1;
            assert!(verify(name, bytes, expected).is_ok());
            let err = verify(name, &damaged, expected).unwrap_err();
            assert!(err.to_string().contains("SHA-256 mismatch"), "{err}");
        }
    }
}
