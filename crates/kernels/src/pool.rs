//! Max- and average pooling on host slices, and their gradients.
//!
//! Ties and NaNs are routed exactly as burn-flex's stock max-pool routes
//! them, so that outputs and gradients match it: within a window scanned row
//! by row, the first maximum wins a tie, and a NaN always wins (the last NaN
//! of the window, which makes the output NaN as in PyTorch).

use crate::images::{for_each_chunk, for_each_image};
use crate::phases::{Phases, SLACK};
use crate::shape::PoolShape;
use crate::simd::{add, vectorized};

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

/// `out = avg_pool(x)` over `[planes, height, width]`: the mean of each
/// window, as Burn's `avg_pool2d` without padding (every window counts all
/// its values). Each output row first sums its window's input rows, a
/// vector loop over whole rows, then each output the columns of its window.
pub fn avg_pool2d(shape: &PoolShape, x: &[f32], out: &mut [f32]) {
    let [rows, cols] = shape.output();
    let ([window_rows, window_cols], [row_stride, col_stride]) = (shape.window, shape.stride);
    let (width, in_plane) = (shape.width, shape.height * shape.width);
    let count = (window_rows * window_cols) as f32;
    for_each_image(out, rows * cols, in_plane, |plane, out| {
        vectorized(
            #[inline(always)]
            || {
                let x = &x[plane * in_plane..][..in_plane];
                let mut sums = vec![0.0; width];
                for (row, out) in out.chunks_exact_mut(cols).enumerate() {
                    let first = row * row_stride;
                    sums.copy_from_slice(&x[first * width..][..width]);
                    for input in x[(first + 1) * width..]
                        .chunks_exact(width)
                        .take(window_rows - 1)
                    {
                        add(&mut sums, input);
                    }
                    for (col, out) in out.iter_mut().enumerate() {
                        let window = &sums[col * col_stride..][..window_cols];
                        *out = window.iter().sum::<f32>() / count;
                    }
                }
            },
        )
    });
}

/// The gradient of [`avg_pool2d`]'s input: each output's gradient, divided
/// by the window's size, added to every input of its window (windows
/// overlap when the stride is smaller than the window).
pub fn avg_pool2d_backward(shape: &PoolShape, grad_out: &[f32], dx: &mut [f32]) {
    let [rows, cols] = shape.output();
    let ([window_rows, window_cols], [row_stride, col_stride]) = (shape.window, shape.stride);
    let (width, in_plane) = (shape.width, shape.height * shape.width);
    let count = (window_rows * window_cols) as f32;
    for_each_image(dx, in_plane, in_plane, |plane, dx| {
        vectorized(
            #[inline(always)]
            || {
                dx.fill(0.0);
                let grad = &grad_out[plane * rows * cols..][..rows * cols];
                // One output row's gradient spread over an input row, added
                // to each row of its windows.
                let mut spread = vec![0.0; width];
                for (row, grad) in grad.chunks_exact(cols).enumerate() {
                    spread.fill(0.0);
                    for (col, &grad) in grad.iter().enumerate() {
                        let share = grad / count;
                        for s in &mut spread[col * col_stride..][..window_cols] {
                            *s += share;
                        }
                    }
                    for dx in dx[row * row_stride * width..]
                        .chunks_exact_mut(width)
                        .take(window_rows)
                    {
                        add(dx, &spread);
                    }
                }
            },
        )
    });
}
