//! Max-pooling on host slices, and its gradient.
//!
//! Ties and NaNs are routed exactly as burn-flex's stock max-pool routes
//! them, so that outputs and gradients match it: within a window scanned row
//! by row, the first maximum wins a tie, and a NaN always wins (the last NaN
//! of the window, which makes the output NaN as in PyTorch).

use crate::images::{for_each_chunk, for_each_image};
use crate::phases::{Phases, SLACK};
use crate::shape::PoolShape;
use crate::simd::vectorized;

/// `out = max_pool(x)` over `[planes, height, width]`; with `positions`, also
/// where each maximum came from (in the layout of [`Phases`]): what
/// [`max_pool2d_backward`] takes.
pub fn max_pool2d(shape: &PoolShape, x: &[f32], out: &mut [f32], positions: Option<&mut [u32]>) {
    let phases = Phases::max_pool(shape.height, shape.width, shape.window);
    let [rows, cols] = shape.output();
    let out_plane = rows * cols;
    let in_plane = shape.height * shape.width;
    let pool = |plane: usize, values: &mut [f32], positions: Option<&mut [u32]>| {
        vectorized(
            #[inline(always)]
            || {
                let mut layout = vec![0.0; phases.image() + SLACK];
                phases.split(
                    &x[plane * in_plane..][..in_plane],
                    &mut layout[..phases.image()],
                );
                phases.pool(&layout, phases.plane(), values, positions);
            },
        )
    };
    match positions {
        Some(positions) => for_each_chunk(
            out,
            out_plane,
            positions,
            out_plane,
            in_plane,
            |plane, values, at| pool(plane, values, Some(at)),
        ),
        None => for_each_image(out, out_plane, in_plane, |plane, values| {
            pool(plane, values, None)
        }),
    }
}

/// The gradient of [`max_pool2d`]'s input: each output's gradient goes to the
/// position its maximum came from; every other input gets zero.
pub fn max_pool2d_backward(shape: &PoolShape, grad_out: &[f32], positions: &[u32], dx: &mut [f32]) {
    let phases = Phases::max_pool(shape.height, shape.width, shape.window);
    let [rows, cols] = shape.output();
    let out_plane = rows * cols;
    let in_plane = shape.height * shape.width;
    let mut layout = vec![0.0; phases.image()];
    for ((dx, grad), positions) in dx
        .chunks_exact_mut(in_plane)
        .zip(grad_out.chunks_exact(out_plane))
        .zip(positions.chunks_exact(out_plane))
    {
        layout.fill(0.0);
        scatter(grad, positions, &mut layout);
        phases.merge(&layout, dx);
    }
}

/// `target[positions[i]] = values[i]`: the windows of a max-pool do not
/// overlap, so no position comes twice and a store needs no load.
#[inline(always)]
pub(crate) fn scatter(values: &[f32], positions: &[u32], target: &mut [f32]) {
    for (&value, &position) in values.iter().zip(positions) {
        target[position as usize] = value;
    }
}
