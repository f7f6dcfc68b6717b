//! Batch normalisation with the batch's own statistics (a training step),
//! forward and backward, on host slices, as Burn's `batch_norm_train`
//! computes it: per channel the mean and the biased variance over the batch
//! and every position, then `(x - mean) / sqrt(variance + epsilon) * gamma +
//! beta`. Statistics take one pass per channel each; the output and the
//! input's gradient one pass per plane, split over the batch like the other
//! kernels.

use crate::images::for_each_image;
use crate::simd::{LANES, sum, vectorized};

/// The layout of a batch-normalised tensor: `[batch, channels, plane]`,
/// `plane` the positions of one channel of one image (rows times columns of
/// a feature map, 1 after a dense layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    /// Images.
    pub batch: usize,
    /// Channels, each with its own statistics, gamma and beta.
    pub channels: usize,
    /// Values of one channel of one image.
    pub plane: usize,
}

impl NormShape {
    /// The values each channel's statistics are taken over.
    fn count(&self) -> usize {
        self.batch * self.plane
    }

    /// The planes of `channel` in `values`, one per image.
    fn planes<'a>(&self, values: &'a [f32], channel: usize) -> impl Iterator<Item = &'a [f32]> {
        values
            .chunks_exact(self.plane)
            .skip(channel)
            .step_by(self.channels)
    }
}

/// `Σ f(a[i], b[i])` in [`LANES`] partial sums (an order no vector width
/// changes).
#[inline(always)]
fn sum_of(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut partial = [0.0f32; LANES];
    for (a, b) in a.chunks(LANES).zip(b.chunks(LANES)) {
        for ((p, &a), &b) in partial.iter_mut().zip(a).zip(b) {
            *p += f(a, b);
        }
    }
    partial.iter().sum()
}

/// `Σ f(x[i])` over every plane of `channel`.
#[inline(always)]
fn channel_sum(shape: &NormShape, x: &[f32], channel: usize, f: impl Fn(f32) -> f32) -> f32 {
    shape
        .planes(x, channel)
        .map(|plane| sum_of(plane, plane, |v, _| f(v)))
        .sum()
}

/// The forward pass: `out`, and each channel's `mean` and biased `variance`
/// (what Burn's layer feeds its running statistics).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    shape: &NormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    out: &mut [f32],
    mean: &mut [f32],
    variance: &mut [f32],
) {
    let count = shape.count() as f32;
    vectorized(
        #[inline(always)]
        || {
            for channel in 0..shape.channels {
                let m = shape.planes(x, channel).map(sum).sum::<f32>() / count;
                mean[channel] = m;
                variance[channel] = channel_sum(shape, x, channel, |v| (v - m) * (v - m)) / count;
            }
        },
    );
    let std: Vec<f32> = variance.iter().map(|v| (v + epsilon).sqrt()).collect();
    let (mean, channels) = (&*mean, shape.channels);
    for_each_image(out, shape.plane, shape.plane, |plane, out| {
        let channel = plane % channels;
        let (m, s, g, b) = (mean[channel], std[channel], gamma[channel], beta[channel]);
        vectorized(
            #[inline(always)]
            || {
                let x = &x[plane * out.len()..][..out.len()];
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = (v - m) / s * g + b;
                }
            },
        )
    });
}

/// The gradients of [`batch_norm_train`] from `grad` (its output's):
/// `dx`, `dgamma` and `dbeta`; `mean` and `variance` are what the forward
/// pass returned.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_backward(
    shape: &NormShape,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f32,
    grad: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|v| 1.0 / (v + epsilon).sqrt())
        .collect();
    vectorized(
        #[inline(always)]
        || {
            for channel in 0..shape.channels {
                let (m, inv) = (mean[channel], inv_std[channel]);
                dbeta[channel] = shape.planes(grad, channel).map(sum).sum();
                dgamma[channel] = shape
                    .planes(grad, channel)
                    .zip(shape.planes(x, channel))
                    .map(|(g, x)| sum_of(g, x, |g, v| g * ((v - m) * inv)))
                    .sum();
            }
        },
    );
    let count = shape.count() as f32;
    let (dgamma, dbeta, channels) = (&*dgamma, &*dbeta, shape.channels);
    for_each_image(dx, shape.plane, 2 * shape.plane, |plane, dx| {
        let channel = plane % channels;
        let (m, inv) = (mean[channel], inv_std[channel]);
        let scale = gamma[channel] * inv;
        let (mean_grad, mean_projection) = (dbeta[channel] / count, dgamma[channel] / count);
        vectorized(
            #[inline(always)]
            || {
                let at = plane * dx.len();
                let (x, grad) = (&x[at..][..dx.len()], &grad[at..][..dx.len()]);
                for ((d, &v), &g) in dx.iter_mut().zip(x).zip(grad) {
                    let normalized = (v - m) * inv;
                    *d = scale * (g - mean_grad - normalized * mean_projection);
                }
            },
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_normalised_over_the_batch_and_its_positions() {
        // Two images, two channels of two positions: channel 0 holds 1, 2
        // and 3, 4 (mean 2.5, variance 1.25), channel 1 is constant.
        let shape = NormShape {
            batch: 2,
            channels: 2,
            plane: 2,
        };
        let x = [1.0, 2.0, 7.0, 7.0, 3.0, 4.0, 7.0, 7.0];
        let (mut out, mut mean, mut variance) = ([0.0; 8], [0.0; 2], [0.0; 2]);
        batch_norm_train(
            &shape,
            &x,
            &[2.0, 1.0],
            &[0.5, -1.0],
            0.0,
            &mut out,
            &mut mean,
            &mut variance,
        );
        assert_eq!(mean, [2.5, 7.0]);
        assert_eq!(variance, [1.25, 0.0]);
        let s = 1.25f32.sqrt();
        assert_eq!(out[0], (1.0 - 2.5) / s * 2.0 + 0.5);
        assert_eq!(out[5], (4.0 - 2.5) / s * 2.0 + 0.5);
        assert!(out[2].is_nan(), "0 / 0 without epsilon, as in Burn");
    }
}
