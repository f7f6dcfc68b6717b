//! The loops around the matrix products of the GEMM convolution, on host
//! slices: every layer with many channels (or a stride) is three matrix
//! products over a *column matrix* that these loops build, read back and
//! rearrange.
//!
//! The column matrix of a batch has one row per tap (channel, kernel row,
//! kernel column: the order of a filter's weights) and one column per
//! output position of every image (image, output row, output column), so
//! `weights [filters, taps] x columns [taps, positions]` is the convolution
//! (Caffe's im2col). For a stride of 1 a row is, per output row, one
//! contiguous copy of an input row: the loops are memory copies, and all the
//! arithmetic is in the matrix products, whose kernels (the `gemm` crate's on
//! burn-flex) are far faster than a direct loop once the taps are many.
//!
//! The product's output is filter-major (`[filters, images, positions]`);
//! [`filters_to_images`] and [`images_to_filters`] turn it into NCHW and
//! back. The loops work on a few images at a time (a chunk whose column
//! matrix stays in the cache) and sum in a fixed order.

use crate::shape::ConvShape;

/// `(channel, kernel row, kernel column)` of tap `tap` (the order of a
/// filter's weights).
fn tap(shape: &ConvShape, tap: usize) -> (usize, usize, usize) {
    let [rows, cols] = shape.kernel;
    (tap / (rows * cols), tap / cols % rows, tap % cols)
}

/// For kernel offset `offset` along an axis of `size` input values padded
/// by `padding`, stepped by `stride`: the output indices `first..last`
/// whose input index `out * stride + offset - padding` is inside the input.
fn inside(outputs: usize, size: usize, offset: usize, padding: usize, stride: usize) -> [usize; 2] {
    // out * stride + offset >= padding  and  out * stride + offset < padding + size
    let first = padding.saturating_sub(offset).div_ceil(stride);
    let last = (padding + size)
        .saturating_sub(offset)
        .div_ceil(stride)
        .min(outputs);
    [first.min(last), last]
}

/// The column matrix (`[taps, batch * positions]`, row-major) of `x`
/// (`[batch, channels, height, width]`), zeros where a window reaches into
/// the padding. Written in order, never zero-filled first.
pub fn im2col(shape: &ConvShape, x: &[f32]) -> Vec<f32> {
    let [out_rows, out_cols] = shape.output();
    let (height, width) = (shape.height, shape.width);
    let image = shape.channels * height * width;
    let [stride_rows, stride_cols] = shape.stride;
    let mut columns = Vec::with_capacity(shape.taps() * shape.batch * out_rows * out_cols);
    for tap_index in 0..shape.taps() {
        let (channel, kernel_row, kernel_col) = tap(shape, tap_index);
        let [first_row, last_row] =
            inside(out_rows, height, kernel_row, shape.padding[0], stride_rows);
        let [first_col, last_col] =
            inside(out_cols, width, kernel_col, shape.padding[1], stride_cols);
        let zeros = |columns: &mut Vec<f32>, n: usize| columns.resize(columns.len() + n, 0.0);
        for b in 0..shape.batch {
            let plane = &x[b * image + channel * height * width..][..height * width];
            zeros(&mut columns, first_row * out_cols);
            for out_row in first_row..last_row {
                let in_row = out_row * stride_rows + kernel_row - shape.padding[0];
                let input = &plane[in_row * width..][..width];
                let first_in = first_col * stride_cols + kernel_col - shape.padding[1];
                zeros(&mut columns, first_col);
                let count = last_col - first_col;
                if stride_cols == 1 {
                    columns.extend_from_slice(&input[first_in..first_in + count]);
                } else {
                    columns.extend(input[first_in..].iter().step_by(stride_cols).take(count));
                }
                zeros(&mut columns, out_cols - last_col);
            }
            zeros(&mut columns, (out_rows - last_row) * out_cols);
        }
    }
    columns
}

/// The adjoint of [`im2col`]: `dx` (`[batch, channels, height, width]`) is
/// the sum, over the taps, of what each column entry read (`dx` is
/// overwritten). Each image's input gradient sums its taps in tap order.
pub fn col2im(shape: &ConvShape, columns: &[f32], dx: &mut [f32]) {
    let [out_rows, out_cols] = shape.output();
    let positions = out_rows * out_cols;
    let total = shape.batch * positions;
    let (height, width) = (shape.height, shape.width);
    let [stride_rows, stride_cols] = shape.stride;
    let image_len = shape.channels * height * width;
    for (b, image) in dx.chunks_exact_mut(image_len).enumerate() {
        image.fill(0.0);
        for tap_index in 0..shape.taps() {
            let (channel, kernel_row, kernel_col) = tap(shape, tap_index);
            let [first_row, last_row] =
                inside(out_rows, height, kernel_row, shape.padding[0], stride_rows);
            let [first_col, last_col] =
                inside(out_cols, width, kernel_col, shape.padding[1], stride_cols);
            let row = &columns[tap_index * total + b * positions..][..positions];
            let plane = &mut image[channel * height * width..][..height * width];
            for out_row in first_row..last_row {
                let in_row = out_row * stride_rows + kernel_row - shape.padding[0];
                let target = &mut plane[in_row * width..][..width];
                let source = &row[out_row * out_cols..][first_col..last_col];
                let first_in = first_col * stride_cols + kernel_col - shape.padding[1];
                if stride_cols == 1 {
                    for (t, &v) in target[first_in..].iter_mut().zip(source) {
                        *t += v;
                    }
                } else {
                    for (t, &v) in target[first_in..]
                        .iter_mut()
                        .step_by(stride_cols)
                        .zip(source)
                    {
                        *t += v;
                    }
                }
            }
        }
    }
}

/// NCHW from the product's filter-major output: `out[b][f] = y[f][b] +
/// bias[f]`, with `positions` values per plane.
pub fn filters_to_images(y: &[f32], bias: &[f32], positions: usize, out: &mut [f32]) {
    let filters = bias.len();
    let batch = y.len() / (filters * positions).max(1);
    for (b, image) in out.chunks_exact_mut(filters * positions).enumerate() {
        for ((plane, &bias), f) in image.chunks_exact_mut(positions).zip(bias).zip(0..) {
            let source = &y[(f * batch + b) * positions..][..positions];
            for (o, &v) in plane.iter_mut().zip(source) {
                *o = v + bias;
            }
        }
    }
}

/// The inverse rearrangement of [`filters_to_images`] (without the bias):
/// `g[f][b] = grad[b][f]`, with each filter's sum (the bias gradient)
/// summed image after image.
pub fn images_to_filters(grad: &[f32], filters: usize, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let batch = grad.len() / (filters * positions).max(1);
    let mut g = Vec::with_capacity(grad.len());
    for f in 0..filters {
        for b in 0..batch {
            g.extend_from_slice(&grad[(b * filters + f) * positions..][..positions]);
        }
    }
    let sums = g
        .chunks_exact(batch * positions)
        .map(crate::simd::sum)
        .collect();
    (g, sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(stride: [usize; 2], padding: [usize; 2]) -> ConvShape {
        ConvShape {
            batch: 2,
            channels: 3,
            height: 7,
            width: 6,
            filters: 4,
            kernel: [3, 2],
            padding,
            stride,
        }
    }

    /// The column entry of (tap, image, output row, output column), by the
    /// definition: the input value the window reads, zero in the padding.
    fn expected(
        shape: &ConvShape,
        x: &[f32],
        tap_index: usize,
        b: usize,
        oy: usize,
        ox: usize,
    ) -> f32 {
        let (c, ky, kx) = tap(shape, tap_index);
        let iy = (oy * shape.stride[0] + ky) as isize - shape.padding[0] as isize;
        let ix = (ox * shape.stride[1] + kx) as isize - shape.padding[1] as isize;
        if iy < 0 || ix < 0 || iy >= shape.height as isize || ix >= shape.width as isize {
            return 0.0;
        }
        x[((b * shape.channels + c) * shape.height + iy as usize) * shape.width + ix as usize]
    }

    #[test]
    fn columns_hold_what_each_window_reads() {
        for (stride, padding) in [
            ([1, 1], [0, 0]),
            ([1, 1], [1, 2]),
            ([2, 3], [1, 1]),
            ([3, 1], [0, 1]),
        ] {
            let shape = shape(stride, padding);
            let x: Vec<f32> = (0..2 * 3 * 7 * 6).map(|i| i as f32 + 1.0).collect();
            let [rows, cols] = shape.output();
            let total = shape.batch * rows * cols;
            let columns = im2col(&shape, &x);
            assert_eq!(columns.len(), shape.taps() * total);
            for t in 0..shape.taps() {
                for b in 0..2 {
                    for oy in 0..rows {
                        for ox in 0..cols {
                            let at = t * total + (b * rows + oy) * cols + ox;
                            assert_eq!(
                                columns[at],
                                expected(&shape, &x, t, b, oy, ox),
                                "{stride:?} {padding:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for any x and c.
        for (stride, padding) in [([1, 1], [0, 0]), ([2, 3], [1, 1]), ([1, 2], [2, 0])] {
            let shape = shape(stride, padding);
            let len = 2 * 3 * 7 * 6;
            let x: Vec<f32> = (0..len).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let total = shape.taps() * shape.batch * shape.positions();
            let c: Vec<f32> = (0..total).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
            let columns = im2col(&shape, &x);
            let mut dx = vec![f32::NAN; len];
            col2im(&shape, &c, &mut dx);
            let left: f32 = columns.iter().zip(&c).map(|(a, b)| a * b).sum();
            let right: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert_eq!(left, right, "{stride:?} {padding:?}");
        }
    }

    #[test]
    fn the_rearrangements_invert_each_other() {
        let (filters, positions, batch) = (3, 5, 4);
        let y: Vec<f32> = (0..filters * batch * positions).map(|i| i as f32).collect();
        let bias = [0.0; 3];
        let mut images = vec![0.0; y.len()];
        filters_to_images(&y, &bias, positions, &mut images);
        assert_eq!(images[positions], y[batch * positions], "image 0, filter 1");
        let (back, sums) = images_to_filters(&images, filters, positions);
        assert_eq!(back, y);
        let first: f32 = y[..batch * positions].iter().sum();
        assert_eq!(sums[0], first);
    }
}
