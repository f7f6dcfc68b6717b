//! Items to tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use data::{MnistBatcher, MnistItem, PixelScaling, one_hot};

#[allow(deprecated)] // burn 0.22 deprecates ndarray; it stays our default CPU backend
fn device() -> Device {
    Device::ndarray()
}

fn item(fill: u8, label: u8) -> MnistItem {
    let mut pixels = [fill; 784];
    pixels[0] = 255;
    MnistItem { pixels, label }
}

#[test]
fn a_batch_is_nchw_with_scaled_pixels_and_index_targets() {
    let items = vec![item(0, 5), item(51, 3)];
    for (scaling, zero, full) in [
        (PixelScaling::Raw, 0.0, 255.0),
        (PixelScaling::Unit, 0.0, 1.0),
        (
            PixelScaling::Standard,
            -0.1307 / 0.3081,
            (1.0 - 0.1307) / 0.3081,
        ),
    ] {
        let batch = MnistBatcher::new(scaling).batch(items.clone(), &device());
        assert_eq!(batch.images.dims(), [2, 1, 28, 28]);
        let values = batch.images.into_data().try_into_vec::<f32>().unwrap();
        assert!((values[0] - full).abs() < 1e-5, "{scaling:?}");
        assert!((values[1] - zero).abs() < 1e-5, "{scaling:?}");
        assert!((values[785] - scaling.apply(51)).abs() < 1e-5);
        let targets = batch
            .targets
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap();
        assert_eq!(targets, vec![5, 3]);
    }
}

#[test]
fn one_hot_rows_match_keras_to_categorical() {
    assert_eq!(one_hot(5), [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(one_hot(0), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let batch = MnistBatcher::default().batch(vec![item(0, 5), item(0, 9)], &device());
    let rows = batch
        .one_hot_targets()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let expected: Vec<f32> = [one_hot(5), one_hot(9)]
        .iter()
        .flatten()
        .map(|&x| f32::from(x))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn scaling_names_parse() {
    for scaling in [
        PixelScaling::Raw,
        PixelScaling::Unit,
        PixelScaling::Standard,
    ] {
        assert_eq!(scaling.name().parse::<PixelScaling>(), Ok(scaling));
    }
    assert!("log".parse::<PixelScaling>().is_err());
}
