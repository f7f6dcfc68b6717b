//! The IDX reader and the dataset on small files the tests write themselves.

use std::io::Write;
use std::path::{Path, PathBuf};

use data::{DataError, DataSource, MnistDataset, Split, read_idx_images, read_idx_labels};

fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

fn images_file(count: u32, rows: u32, cols: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(0x803, &[count, rows, cols]);
    bytes.extend_from_slice(payload);
    bytes
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut bytes = header(0x801, &[labels.len() as u32]);
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `count` images whose pixel `p` of image `i` is `(i + p) % 256`.
fn pixels(count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|i| (0..784).map(move |p| ((i + p) % 256) as u8))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A directory holding a complete small MNIST: 3 training and 2 test items.
fn small_mnist(gzipped: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let suffix = if gzipped { ".gz" } else { "" };
    let encode = |bytes: Vec<u8>| if gzipped { gzip(&bytes) } else { bytes };
    for (split, count, labels) in [
        (Split::Train, 3, &[5u8, 0, 4][..]),
        (Split::Test, 2, &[7, 2][..]),
    ] {
        let (images_name, labels_name) = split.file_names();
        write(
            dir.path(),
            &format!("{images_name}{suffix}"),
            &encode(images_file(count as u32, 28, 28, &pixels(count))),
        );
        write(
            dir.path(),
            &format!("{labels_name}{suffix}"),
            &encode(labels_file(labels)),
        );
    }
    dir
}

#[test]
fn raw_and_gzipped_files_read_the_same() {
    for gzipped in [false, true] {
        let dir = small_mnist(gzipped);
        let source = DataSource::Dir(dir.path().to_owned());
        let train = MnistDataset::load(&source, Split::Train).unwrap();
        let test = MnistDataset::load(&source, Split::Test).unwrap();
        assert_eq!(train.len(), 3);
        assert_eq!(train.labels(), &[5, 0, 4]);
        assert_eq!(test.labels(), &[7, 2]);
        assert_eq!(train.image(1).unwrap(), &pixels(2)[784..]);
        assert!(train.image(3).is_none());
        let item = train.item(2).unwrap();
        assert_eq!((item.pixels[0], item.label), (2, 4));
    }
}

fn expect_error(bytes: &[u8], images: bool) -> DataError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "file", bytes);
    let err = if images {
        read_idx_images(&path).unwrap_err()
    } else {
        read_idx_labels(&path).map(|_| ()).unwrap_err()
    };
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "the error names the file: {err}"
    );
    err
}

#[test]
fn malformed_files_are_typed_errors_naming_the_file() {
    let good = images_file(2, 28, 28, &pixels(2));
    assert!(matches!(expect_error(&[], true), DataError::Empty { .. }));
    assert!(matches!(
        expect_error(&labels_file(&[1, 2]), true),
        DataError::BadMagic {
            found: 0x801,
            expected: 0x803,
            ..
        }
    ));
    assert!(matches!(
        expect_error(&images_file(2, 27, 28, &pixels(2)), true),
        DataError::BadDimensions {
            rows: 27,
            cols: 28,
            ..
        }
    ));
    assert!(matches!(
        expect_error(&good[..good.len() - 1], true),
        DataError::Truncated {
            expected: 1568,
            found: 1567,
            ..
        }
    ));
    assert!(matches!(
        expect_error(&good[..10], true),
        DataError::Truncated { .. }
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        expect_error(&trailing, true),
        DataError::TrailingBytes { .. }
    ));
    assert!(matches!(
        expect_error(&labels_file(&[1, 10, 3]), false),
        DataError::LabelOutOfRange {
            index: 1,
            label: 10,
            ..
        }
    ));
}

#[test]
fn a_huge_count_is_refused_before_any_allocation() {
    let err = expect_error(&images_file(u32::MAX, 28, 28, &[]), true);
    assert!(
        matches!(
            err,
            DataError::TooManyItems {
                count: u32::MAX,
                ..
            }
        ),
        "{err}"
    );
    // Within the limit but with no data: truncated, found 0 bytes, nothing allocated.
    let err = expect_error(&gzip(&images_file(900_000, 28, 28, &[])), true);
    assert!(
        matches!(err, DataError::Truncated { found: 0, .. }),
        "{err}"
    );
}

#[test]
fn corrupt_and_truncated_gzip_are_reported() {
    let compressed = gzip(&images_file(2, 28, 28, &pixels(2)));
    let err = expect_error(&compressed[..compressed.len() / 2], true);
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err}");
    let mut corrupt = compressed.clone();
    for byte in &mut corrupt[12..30] {
        *byte ^= 0x5a;
    }
    let err = expect_error(&corrupt, true);
    assert!(
        matches!(
            err,
            DataError::CorruptGzip { .. } | DataError::BadMagic { .. }
        ),
        "{err}"
    );
}

#[test]
fn missing_things_are_named() {
    let dir = small_mnist(true);
    let missing = dir.path().join("nope");
    let err = MnistDataset::load(&DataSource::Dir(missing.clone()), Split::Train).unwrap_err();
    assert!(matches!(err, DataError::MissingDirectory { .. }), "{err}");

    let (images, _) = Split::Test.file_names();
    std::fs::remove_file(dir.path().join(format!("{images}.gz"))).unwrap();
    let err = MnistDataset::load(&DataSource::Dir(dir.path().to_owned()), Split::Test).unwrap_err();
    assert!(
        matches!(err, DataError::MissingFile { name, .. } if name == images),
        "{err}"
    );

    let err = read_idx_images(&missing).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    let err = read_idx_images(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::NotAFile { .. }), "{err}");
}

#[test]
fn images_and_labels_must_agree_in_number() {
    let dir = small_mnist(false);
    let (_, labels) = Split::Train.file_names();
    write(dir.path(), labels, &labels_file(&[1, 2]));
    let err =
        MnistDataset::load(&DataSource::Dir(dir.path().to_owned()), Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                image_count: 3,
                label_count: 2,
                ..
            }
        ),
        "{err}"
    );
}

/// Bug: a gzip of several members (`cat a.gz b.gz`, valid gzip) was read as
/// its first member only and reported "truncated".
#[test]
fn a_gzip_of_several_members_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let whole = images_file(2, 28, 28, &pixels(2));
    let (first, second) = whole.split_at(1000);
    let path = write(
        dir.path(),
        "images.gz",
        &[gzip(first), gzip(second)].concat(),
    );
    let images = read_idx_images(&path).unwrap();
    assert_eq!((images.count, images.pixels), (2, pixels(2)));
}

/// Bug: the file was read whole before its 16-byte header was checked, so a
/// file that never ends (`/dev/zero`) grew the process until it was killed.
#[cfg(target_os = "linux")]
#[test]
fn a_file_that_never_ends_is_refused_at_its_header() {
    let err = read_idx_images(Path::new("/dev/zero")).unwrap_err();
    assert!(matches!(err, DataError::BadMagic { found: 0, .. }), "{err}");
}
