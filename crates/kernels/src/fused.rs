//! Convolution then max-pooling in one pass: each filter's output is
//! computed into buffers that stay in the cache, pooled there, and never
//! written out. Its backward pass goes straight from the pooled gradient to
//! the convolution's gradients, without the full-size gradient of the
//! convolution's output.
//!
//! The results are those of [`conv2d`](crate::conv::conv2d) followed by
//! [`max_pool2d`](crate::pool::max_pool2d): the same sums in the same order,
//! the same tie routing.

use crate::conv::{backward, forward};
use crate::phases::Phases;
use crate::pool::scatter;
use crate::shape::ConvShape;
use crate::simd::sum;

/// `out = max_pool(conv(x, weight) + bias)` with a `window` that is also the
/// stride; with `positions`, where each maximum came from (in the layout of
/// [`Phases`]): what [`conv2d_max_pool2d_backward`] takes.
pub fn conv2d_max_pool2d(
    shape: &ConvShape,
    window: [usize; 2],
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    positions: Option<&mut [u32]>,
) {
    forward(shape, window, x, weight, bias, out, positions);
}

/// Gradients of [`conv2d_max_pool2d`] from `grad_pooled`, the gradient of its
/// output, and the `positions` its forward pass found: `dw`, `db` always,
/// `dx` when asked for.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_max_pool2d_backward(
    shape: &ConvShape,
    window: [usize; 2],
    x: &[f32],
    weight: &[f32],
    grad_pooled: &[f32],
    positions: &[u32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    let phases = Phases::new(shape, window);
    let out_plane = phases.pooled[0] * phases.pooled[1];
    backward(
        shape,
        &phases,
        x,
        weight,
        dx,
        dw,
        db,
        #[inline(always)]
        |image, filter, runs| {
            let start = (image * shape.filters + filter) * out_plane;
            let grad = &grad_pooled[start..start + out_plane];
            scatter(grad, &positions[start..start + out_plane], runs);
            sum(grad)
        },
    );
}
