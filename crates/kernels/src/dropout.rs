//! Dropout whose mask is a function of a key and each value's index alone:
//! one key gives one mask on every backend, thread count and machine, so a
//! training's dropout is drawn from its seed (and a resumed training draws
//! what the uninterrupted one drew).

use burn::prelude::*;
use burn::tensor::TensorData;

/// SplitMix64's finaliser: a bijection of 64-bit values whose outputs for
/// consecutive inputs pass as independent uniform draws.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The mask of `len` values for `key`: `1 / (1 - rate)` where a value is
/// kept (with probability `1 - rate`), 0 where it is dropped.
pub fn mask(len: usize, rate: f64, key: u64) -> Vec<f32> {
    let scale = (1.0 / (1.0 - rate)) as f32;
    let stream = mix(key);
    // A draw below `rate` of the 64-bit range drops its value (a uniform
    // draw in [0, 1) compared in integers).
    let threshold = (rate * 2f64.powi(64)) as u64;
    (0..len as u64)
        .map(|index| {
            if mix(stream ^ index) < threshold {
                0.0
            } else {
                scale
            }
        })
        .collect()
}

/// Keras's `Dropout(rate)` while training: `x` times [`mask`] of its size
/// for `key`, a single multiplication (its gradient is the same mask).
pub fn dropout<const D: usize>(x: Tensor<D>, rate: f64, key: u64) -> Tensor<D> {
    let shape = x.shape();
    let values = mask(shape.num_elements(), rate, key);
    let mask = Tensor::<D>::from_data(TensorData::new(values, shape), &x.device());
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gives_one_mask_and_keeps_about_one_minus_the_rate() {
        let a = mask(100_000, 0.25, 7);
        assert_eq!(a, mask(100_000, 0.25, 7));
        assert_ne!(a, mask(100_000, 0.25, 8), "another key, another mask");
        let kept = a.iter().filter(|&&v| v > 0.0).count() as f64 / a.len() as f64;
        assert!((kept - 0.75).abs() < 0.01, "kept {kept}");
        assert!(a.iter().all(|&v| v == 0.0 || v == (1.0f64 / 0.75) as f32));
        assert!(mask(1000, 0.0, 1).iter().all(|&v| v == 1.0));
    }
}
