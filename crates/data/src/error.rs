use std::path::PathBuf;

/// Everything that can go wrong while reading MNIST. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory (or a FIFO, a device) stands where a file should be.
    #[error("{path}: is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The data directory does not exist or is not a directory.
    #[error("{path}: data directory not found (it must hold the four MNIST IDX files)")]
    MissingDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// None of the accepted names of a split's file exists in the directory.
    #[error("{dir}: no {name} (nor {name}.gz) in this directory")]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The standard file name.
        name: &'static str,
    },
    /// The file is empty.
    #[error("{path}: file is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The gzip stream is corrupt or ends early.
    #[error("{path}: corrupt gzip data")]
    CorruptGzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The magic number is not the one expected for this kind of file.
    #[error("{path}: bad magic number 0x{found:08x}, expected 0x{expected:08x} ({kind})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic found.
        found: u32,
        /// The magic expected.
        expected: u32,
        /// What the file should have been.
        kind: &'static str,
    },
    /// Images are not 28x28.
    #[error("{path}: images are {rows}x{cols}, expected 28x28")]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Rows in the header.
        rows: u32,
        /// Columns in the header.
        cols: u32,
    },
    /// The header announces more items than any MNIST-format set holds.
    #[error("{path}: header announces {count} items, more than the {max} allowed")]
    TooManyItems {
        /// The file.
        path: PathBuf,
        /// The count in the header.
        count: u32,
        /// The limit.
        max: usize,
    },
    /// The payload is shorter than the header announces.
    #[error("{path}: truncated: {expected} bytes expected, {found} found")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes announced.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The payload is longer than the header announces.
    #[error("{path}: trailing bytes after the {expected} bytes of data the header announces")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes announced.
        expected: usize,
    },
    /// A label is not a digit.
    #[error("{path}: label {label} at index {index} is not a digit 0..9")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Position of the bad label.
        index: usize,
        /// The value found.
        label: u8,
    },
    /// The image and label files of a split disagree on the number of items.
    #[error("{images}: {image_count} images but {labels} has {label_count} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Number of images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Number of labels.
        label_count: usize,
    },
    /// A split of no items: nothing to train on, validate or evaluate.
    #[error("{path}: holds 0 images; a split needs at least one")]
    NoItems {
        /// The image file.
        path: PathBuf,
    },
    /// A bundled file does not have the SHA-256 it was committed with.
    #[error(
        "bundled {name}: SHA-256 mismatch (expected {expected}, found {found}); the checkout is damaged"
    )]
    ChecksumMismatch {
        /// The bundled file.
        name: &'static str,
        /// The expected digest.
        expected: &'static str,
        /// The digest found.
        found: String,
    },
    /// A picture given for prediction cannot be used.
    #[error("{path}: {reason}")]
    BadImage {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An item index past the end of a dataset.
    #[error("item {index} is out of range for a dataset of {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// No data directory was given and the bundled data is not compiled in.
    #[error("no MNIST data: pass --data-dir DIR or set {env} (this build has no bundled data)")]
    NoData {
        /// The environment variable consulted.
        env: &'static str,
    },
}
