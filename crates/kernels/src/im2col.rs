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

use std::ops::Range;

use crate::shape::ConvShape;

/// One tap of a filter as the loops walk it: its channel and kernel
/// offset, and the output rows and columns whose windows read it inside the
/// input (the others read padding).
struct Tap {
    channel: usize,
    offset: [usize; 2],
    rows: Range<usize>,
    cols: Range<usize>,
}

impl Tap {
    /// Tap `index` of `shape`'s filters (the order of a filter's weights:
    /// channel, kernel row, kernel column), for the first `output` rows and
    /// columns of the convolution's output.
    fn new(shape: &ConvShape, output: [usize; 2], index: usize) -> Self {
        let [kernel_rows, kernel_cols] = shape.kernel;
        let offset = [index / kernel_cols % kernel_rows, index % kernel_cols];
        let size = [shape.height, shape.width];
        // out * stride + offset - padding inside 0..size
        let [rows, cols] = [0, 1].map(|axis| {
            let start = shape.padding[axis]
                .saturating_sub(offset[axis])
                .div_ceil(shape.stride[axis]);
            let end = (shape.padding[axis] + size[axis])
                .saturating_sub(offset[axis])
                .div_ceil(shape.stride[axis])
                .min(output[axis]);
            start.min(end)..end
        });
        Self {
            channel: index / (kernel_rows * kernel_cols),
            offset,
            rows,
            cols,
        }
    }

    /// The input row that output row `row` (one of `rows`) reads.
    fn input_row(&self, shape: &ConvShape, row: usize) -> usize {
        row * shape.stride[0] + self.offset[0] - shape.padding[0]
    }

    /// The input column that the first of `cols` reads.
    fn first_input_col(&self, shape: &ConvShape) -> usize {
        self.cols.start * shape.stride[1] + self.offset[1] - shape.padding[1]
    }
}

/// The column matrix (`[taps, batch * positions]`, row-major) of `x`
/// (`[batch, channels, height, width]`) for the first `output` rows and
/// columns of the convolution's output (`shape.output()` for all of it; a
/// pool that drops the last row reads fewer), zeros where a window reaches
/// into the padding. Written in order, never zero-filled first.
pub fn im2col(shape: &ConvShape, output: [usize; 2], x: &[f32]) -> Vec<f32> {
    let [out_rows, out_cols] = output;
    let (plane_len, width) = (shape.height * shape.width, shape.width);
    let stride = shape.stride[1];
    let mut columns = Vec::with_capacity(shape.taps() * shape.batch * out_rows * out_cols);
    let zeros = |columns: &mut Vec<f32>, n: usize| columns.resize(columns.len() + n, 0.0);
    for index in 0..shape.taps() {
        let tap = Tap::new(shape, output, index);
        let count = tap.cols.len();
        // A tap that reads only padding (a same-padded kernel wider than its
        // input): every entry zero, and no input column to start from.
        if count == 0 || tap.rows.is_empty() {
            zeros(&mut columns, shape.batch * out_rows * out_cols);
            continue;
        }
        for b in 0..shape.batch {
            let plane = &x[(b * shape.channels + tap.channel) * plane_len..][..plane_len];
            zeros(&mut columns, tap.rows.start * out_cols);
            for out_row in tap.rows.clone() {
                let input = &plane[tap.input_row(shape, out_row) * width..][..width];
                let input = &input[tap.first_input_col(shape)..];
                zeros(&mut columns, tap.cols.start);
                if stride == 1 {
                    columns.extend_from_slice(&input[..count]);
                } else {
                    columns.extend(input.iter().step_by(stride).take(count));
                }
                zeros(&mut columns, out_cols - tap.cols.end);
            }
            zeros(&mut columns, (out_rows - tap.rows.end) * out_cols);
        }
    }
    columns
}

/// The adjoint of [`im2col`] (of the same `output`): `dx` (`[batch,
/// channels, height, width]`) is the sum, over the taps, of what each column
/// entry read (`dx` is overwritten). Each image's input gradient sums its
/// taps in tap order.
pub fn col2im(shape: &ConvShape, output: [usize; 2], columns: &[f32], dx: &mut [f32]) {
    let [out_rows, out_cols] = output;
    let positions = out_rows * out_cols;
    let total = shape.batch * positions;
    let (plane_len, width) = (shape.height * shape.width, shape.width);
    let stride = shape.stride[1];
    let taps: Vec<Tap> = (0..shape.taps())
        .map(|index| Tap::new(shape, output, index))
        .collect();
    for (b, image) in dx.chunks_exact_mut(shape.channels * plane_len).enumerate() {
        image.fill(0.0);
        for (index, tap) in taps.iter().enumerate() {
            if tap.cols.is_empty() {
                continue;
            }
            let row = &columns[index * total + b * positions..][..positions];
            let plane = &mut image[tap.channel * plane_len..][..plane_len];
            for out_row in tap.rows.clone() {
                let target = &mut plane[tap.input_row(shape, out_row) * width..][..width];
                let target = &mut target[tap.first_input_col(shape)..];
                let source = &row[out_row * out_cols..][tap.cols.clone()];
                if stride == 1 {
                    for (t, &v) in target.iter_mut().zip(source) {
                        *t += v;
                    }
                } else {
                    for (t, &v) in target.iter_mut().step_by(stride).zip(source) {
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

/// The max-pool, with a `window` that is also its stride (floor mode), of
/// `y + bias` where `y` is a position-major product (`[images * rows * cols,
/// filters]`: the product of the transposed column matrix with the
/// transposed weights), written NCHW: `out[b][f]` is the pooled plane of
/// filter `f` of image `b`, and `positions` where each maximum is in its
/// `[rows, cols]` plane (`row * cols + col`), what [`pooled_to_filters`]
/// takes. Ties and NaNs go as in the [`crate::pool`] module: within a window
/// scanned row by row the first maximum wins a tie, and a NaN always wins
/// (the last one). The bias is added before the comparison, as a stock
/// convolution followed by a stock pool would.
///
/// Position-major, every step is an element-wise loop over the filters of
/// one position, which the compiler vectorises; filter-major, it was a
/// chain of scalar compares whose branches mispredicted half the time.
pub fn positions_to_pooled_images(
    y: &[f32],
    bias: &[f32],
    [rows, cols]: [usize; 2],
    window: [usize; 2],
    out: &mut [f32],
    positions: &mut [u32],
) {
    let filters = bias.len();
    let plane_len = rows * cols;
    let pooled = [rows / window[0], cols / window[1]];
    let pooled_len = pooled[0] * pooled[1];
    let mut best = vec![0.0; filters];
    let mut at = vec![0u32; filters];
    let images = out
        .chunks_exact_mut(filters * pooled_len)
        .zip(positions.chunks_exact_mut(filters * pooled_len));
    for (b, (out, found)) in images.enumerate() {
        let image = &y[b * plane_len * filters..][..plane_len * filters];
        for cell in 0..pooled_len {
            let first = cell / pooled[1] * window[0] * cols + cell % pooled[1] * window[1];
            let row = |position: usize| &image[position * filters..][..filters];
            for ((best, &y), &bias) in best.iter_mut().zip(row(first)).zip(bias) {
                *best = y + bias;
            }
            at.fill(first as u32);
            for position in (0..window[0])
                .flat_map(|r| (0..window[1]).map(move |c| first + r * cols + c))
                .skip(1)
            {
                let cells = best.iter_mut().zip(at.iter_mut());
                for (((best, at), &y), &bias) in cells.zip(row(position)).zip(bias) {
                    let value = y + bias;
                    let wins = value > *best || value.is_nan();
                    *best = if wins { value } else { *best };
                    *at = if wins { position as u32 } else { *at };
                }
            }
            for (f, (&best, &at)) in best.iter().zip(&at).enumerate() {
                out[f * pooled_len + cell] = best;
                found[f * pooled_len + cell] = at;
            }
        }
    }
}

/// The adjoint of [`positions_to_pooled_images`] (without the bias): the
/// filter-major gradient `g[f][b]` of the unpooled planes (`plane_len`
/// values each), holding each pooled gradient at its maximum's position and
/// zeros elsewhere, and each filter's sum of the pooled gradients (the bias
/// gradient), summed image after image. `grad` and `positions` hold
/// `pooled_len` values per plane.
pub fn pooled_to_filters(
    grad: &[f32],
    positions: &[u32],
    filters: usize,
    [plane_len, pooled_len]: [usize; 2],
) -> (Vec<f32>, Vec<f32>) {
    let batch = grad.len() / (filters * pooled_len).max(1);
    let mut g = vec![0.0; filters * batch * plane_len];
    let mut sums = vec![0.0; filters];
    for f in 0..filters {
        for b in 0..batch {
            let at = (b * filters + f) * pooled_len;
            let target = &mut g[(f * batch + b) * plane_len..][..plane_len];
            let grad = &grad[at..][..pooled_len];
            crate::pool::scatter(grad, &positions[at..][..pooled_len], target);
            sums[f] += crate::simd::sum(grad);
        }
    }
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
        let tap = Tap::new(shape, shape.output(), tap_index);
        let (c, [ky, kx]) = (tap.channel, tap.offset);
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
            let columns = im2col(&shape, shape.output(), &x);
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
    fn a_cropped_output_is_the_top_left_of_the_whole() {
        for (stride, padding) in [([1, 1], [0, 0]), ([1, 1], [1, 2]), ([2, 3], [1, 1])] {
            let shape = shape(stride, padding);
            let x: Vec<f32> = (0..2 * 3 * 7 * 6).map(|i| i as f32 + 1.0).collect();
            let [rows, cols] = shape.output();
            let crop = [rows - 1, cols - 1];
            let whole = im2col(&shape, shape.output(), &x);
            let cropped = im2col(&shape, crop, &x);
            assert_eq!(cropped.len(), shape.taps() * 2 * crop[0] * crop[1]);
            let expected: Vec<f32> = whole
                .chunks_exact(cols)
                .enumerate()
                .filter(|(row, _)| row % rows < crop[0])
                .flat_map(|(_, row)| &row[..crop[1]])
                .copied()
                .collect();
            assert_eq!(cropped, expected, "{stride:?} {padding:?}");
        }
    }

    /// Bug (found by the random shapes of the kernel tests): a tap that
    /// reads only padding, as a same-padded 5x5 kernel on a 1x1 input has,
    /// indexed past its input row.
    #[test]
    fn taps_reading_only_padding_give_zeros() {
        let shape = ConvShape {
            batch: 2,
            channels: 1,
            height: 1,
            width: 1,
            filters: 1,
            kernel: [5, 5],
            padding: [2, 2],
            stride: [1, 1],
        };
        let x = [3.0, 4.0];
        let columns = im2col(&shape, shape.output(), &x);
        let centre = 2 * 5 + 2;
        for (t, pair) in columns.chunks_exact(2).enumerate() {
            let expected = if t == centre { [3.0, 4.0] } else { [0.0, 0.0] };
            assert_eq!(pair, expected, "tap {t}");
        }
        let mut dx = [f32::NAN; 2];
        col2im(&shape, shape.output(), &[1.0; 50], &mut dx);
        assert_eq!(dx, [1.0, 1.0], "only the centre tap reads the input");
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
            let columns = im2col(&shape, shape.output(), &x);
            let mut dx = vec![f32::NAN; len];
            col2im(&shape, shape.output(), &c, &mut dx);
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
