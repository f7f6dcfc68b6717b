//! Softmax cross-entropy on host slices: the loss of a batch of logits
//! against class indices, and its gradient.
//!
//! The gradient flushes values smaller than [`TINY`] to zero. The notebook
//! trains on raw 0..255 pixels, whose logits differ by hundreds, so most
//! softmax probabilities underflow into float32's subnormal range; every
//! multiplication by a subnormal then costs a microcode assist of about a
//! hundred cycles, which made the dense layer's backward pass ten times
//! slower than its arithmetic (TensorFlow avoids this by running with the
//! CPU's flush-to-zero mode, which safe Rust cannot set). Nothing is lost:
//! with Adam's epsilon of 1e-7 a gradient below [`TINY`] moves a weight by
//! less than 1e-14 of the learning rate.

/// Gradients smaller than this (2^-60, about 8.7e-19) become zero, so that
/// they, their products with weights and inputs, and their squares in Adam's
/// second moment all stay normal float32 numbers.
pub const TINY: f32 = 8.673_617e-19;

/// `x` if at least [`TINY`] in magnitude, else zero.
#[inline(always)]
pub fn flush(x: f32) -> f32 {
    if x.abs() < TINY { 0.0 } else { x }
}

/// The mean over the batch of `-log softmax(logits)[target]`, for `logits`
/// `[batch, classes]` and class indices `targets` `[batch]`. A target outside
/// `0..classes` makes the loss NaN.
pub fn cross_entropy(logits: &[f32], classes: usize, targets: &[i64]) -> f32 {
    let mut total = 0.0f64;
    for (row, &target) in logits.chunks_exact(classes).zip(targets) {
        let Some(&picked) = usize::try_from(target).ok().and_then(|t| row.get(t)) else {
            return f32::NAN;
        };
        // (max - picked) + log Σ exp(z - max): no cancellation between two
        // numbers of the logits' scale when the target is the largest logit.
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|&z| (z - max).exp()).sum();
        total += f64::from((max - picked) + sum.ln());
    }
    (total / targets.len().max(1) as f64) as f32
}

/// The gradient of [`cross_entropy`] times `grad` (the gradient of the loss),
/// into `out` `[batch, classes]`: `grad * (softmax(row) - one_hot(target)) /
/// batch`, flushed (see [`TINY`]).
pub fn cross_entropy_backward(
    logits: &[f32],
    classes: usize,
    targets: &[i64],
    grad: f32,
    out: &mut [f32],
) {
    let scale = grad / targets.len().max(1) as f32;
    for ((row, out), &target) in logits
        .chunks_exact(classes)
        .zip(out.chunks_exact_mut(classes))
        .zip(targets)
    {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for (o, &z) in out.iter_mut().zip(row) {
            *o = (z - max).exp();
            total += *o;
        }
        for (class, o) in out.iter_mut().enumerate() {
            let hit = usize::try_from(target).is_ok_and(|t| t == class);
            *o = flush((*o / total - if hit { 1.0 } else { 0.0 }) * scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_is_minus_the_log_probability_of_the_target() {
        let logits = [1.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        let loss = cross_entropy(&logits, 3, &[2, 0]);
        let first = -(3.0f32.exp() / (1.0f32.exp() + 2.0f32.exp() + 3.0f32.exp())).ln();
        let second = 3.0f32.ln();
        assert!((loss - (first + second) / 2.0).abs() < 1e-6);
        assert!(
            cross_entropy(&logits, 3, &[3, 0]).is_nan(),
            "target out of range"
        );
    }

    #[test]
    fn the_gradient_is_softmax_minus_one_hot_over_the_batch_with_tiny_values_flushed() {
        let logits = [0.0, 0.0, 500.0, 0.0, 0.0, 0.0];
        let mut out = [9.0; 6];
        cross_entropy_backward(&logits, 3, &[2, 1], 1.0, &mut out);
        // exp(-500) underflows: flushed to exactly zero, not subnormal.
        assert_eq!(out[..3], [0.0, 0.0, 0.0]);
        let third = 1.0 / 3.0 / 2.0;
        assert!((out[3] - third).abs() < 1e-7);
        assert!((out[4] - (third - 0.5)).abs() < 1e-7);
        assert_eq!(flush(1e-20), 0.0);
        assert_eq!(flush(-1e-18), -1e-18);
    }
}
