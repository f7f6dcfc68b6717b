//! The real MNIST bundled with the repository.
#![cfg(feature = "bundled")]

use data::{DataSource, MnistDataset, Split};

#[test]
fn the_bundled_splits_are_mnist() {
    let train = MnistDataset::load(&DataSource::Bundled, Split::Train).unwrap();
    let test = MnistDataset::load(&DataSource::Bundled, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.labels()[0], 5, "the notebook's first image is a 5");
    assert_eq!(&test.labels()[..4], &[7, 2, 1, 0]);
    assert_eq!(
        test.label_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(
        train.label_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // The 5 has ink: MNIST is white (255) on black (0), centred.
    let five = train.image(0).unwrap();
    assert_eq!(five[0], 0);
    assert!(five.iter().filter(|&&p| p > 128).count() > 50);
}

#[test]
fn a_directory_copy_reads_the_same_as_the_bundle() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let from_dir = MnistDataset::load(&DataSource::Dir(dir), Split::Test).unwrap();
    let bundled = MnistDataset::load(&DataSource::Bundled, Split::Test).unwrap();
    assert_eq!(from_dir.labels(), bundled.labels());
    assert_eq!(from_dir.image(9_999), bundled.image(9_999));
}
