//! The layout the kernels compute in: each (padded) input plane split by
//! column into as many *phases* as the pooling window is wide, phase `p`
//! holding columns `p, p + w, p + 2w, ...`.
//!
//! In this layout every convolution tap reads one contiguous run of a phase
//! plane for every output column of a given phase, and every element of a
//! pooling window is a contiguous run too: each step of the forward and
//! backward passes is a long element-wise loop over contiguous memory, which
//! the compiler vectorises. Without pooling (a window of 1) there is one phase
//! and this is the plain padded plane.
//!
//! Each output phase is computed as one *run*: output row `y`, column `j` of
//! the phase at `y * phase_cols + j`, so that a tap is a single multiply-add
//! over the whole run; the few columns between the rows' ends are computed
//! and never read.

use crate::shape::ConvShape;
use crate::simd::{LANES, load, store, store_u32};

/// The phase layout of a convolution whose output is max-pooled by `window`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    /// Channels of the input.
    pub channels: usize,
    /// Rows of the padded input.
    pub rows: usize,
    /// Columns of one phase plane: the padded columns divided by the window
    /// width, rounded up.
    pub cols: usize,
    /// Padding of the input's rows and columns.
    pub padding: [usize; 2],
    /// Rows and columns of the input, unpadded.
    pub input: [usize; 2],
    /// The pooling window (`[1, 1]`: no pooling).
    pub window: [usize; 2],
    /// Rows and columns of the pooled output.
    pub pooled: [usize; 2],
    /// Length of one output phase's run, rounded up to whole [`BLOCK`]s
    /// (what the passes compute: the values past the run are never read),
    /// and the distance between the runs of two phases in a filter's runs.
    pub stride: usize,
    /// Kernel rows and columns (`[1, 1]` for a max-pool alone).
    pub kernel: [usize; 2],
}

impl Phases {
    /// The layout of `shape`'s convolution, pooled by `window`.
    pub fn new(shape: &ConvShape, window: [usize; 2]) -> Self {
        let [rows, padded_cols] = shape.padded();
        let [out_rows, out_cols] = shape.output();
        let cols = padded_cols.div_ceil(window[1]);
        let pooled = [out_rows / window[0], out_cols / window[1]];
        Self {
            channels: shape.channels,
            rows,
            cols,
            padding: shape.padding,
            input: [shape.height, shape.width],
            window,
            pooled,
            stride: ((pooled[0] * window[0] - 1) * cols + pooled[1]).next_multiple_of(BLOCK),
            kernel: shape.kernel,
        }
    }

    /// The layout of a max-pool alone over `[rows, cols]` planes: a 1x1
    /// convolution of one channel, whose runs are its phase planes.
    pub fn max_pool(rows: usize, cols: usize, window: [usize; 2]) -> Self {
        let shape = ConvShape {
            batch: 1,
            channels: 1,
            height: rows,
            width: cols,
            filters: 1,
            kernel: [1, 1],
            padding: [0, 0],
            stride: [1, 1],
        };
        Self::new(&shape, window)
    }

    /// Phases per plane: the window's width.
    pub fn phases(&self) -> usize {
        self.window[1]
    }

    /// Elements of one phase plane.
    pub fn plane(&self) -> usize {
        self.rows * self.cols
    }

    /// Elements of one image in the phase layout (every channel and phase).
    pub fn image(&self) -> usize {
        self.channels * self.phases() * self.plane()
    }

    /// Elements of every output phase's run of one filter, `stride` apart.
    pub fn runs(&self) -> usize {
        self.phases() * self.stride
    }

    /// Where every tap starts in the phase layout, for each output phase:
    /// `[phase][tap]`, taps in the order of [`Phases::for_each_tap`].
    pub fn tap_starts(&self) -> Vec<usize> {
        let mut starts =
            Vec::with_capacity(self.phases() * self.channels * self.kernel[0] * self.kernel[1]);
        for phase in 0..self.phases() {
            self.for_each_tap(|_, channel, row, col| {
                starts.push(self.tap(phase, channel, row, col))
            });
        }
        starts
    }

    /// Where the run read by tap `(row, col)` of `channel` for output phase
    /// `phase` starts in the image's phase layout.
    #[inline(always)]
    pub fn tap(&self, phase: usize, channel: usize, row: usize, col: usize) -> usize {
        let column = phase + col;
        let (source, shift) = (column % self.phases(), column / self.phases());
        (channel * self.phases() + source) * self.plane() + row * self.cols + shift
    }

    /// Calls `visit(weight index, channel, kernel row, kernel col)` for every
    /// tap of a filter, in the order channels, rows, columns: the order of
    /// burn-flex's sums.
    #[inline(always)]
    pub fn for_each_tap(&self, mut visit: impl FnMut(usize, usize, usize, usize)) {
        let [rows, cols] = self.kernel;
        for channel in 0..self.channels {
            for row in 0..rows {
                for col in 0..cols {
                    visit((channel * rows + row) * cols + col, channel, row, col);
                }
            }
        }
    }

    /// Writes `image` (`[channels, rows, cols]`, unpadded) into `phases` in the
    /// phase layout, zero-padded.
    #[inline(always)]
    pub fn split(&self, image: &[f32], phases: &mut [f32]) {
        phases.fill(0.0);
        let [height, width] = self.input;
        let mut row_buffer = vec![0.0; self.cols * self.phases()];
        for (channel, input) in image.chunks_exact(height * width).enumerate() {
            for (row, input) in input.chunks_exact(width).enumerate() {
                row_buffer[self.padding[1]..self.padding[1] + width].copy_from_slice(input);
                let start = (row + self.padding[0]) * self.cols;
                let first_plane = channel * self.phases() * self.plane();
                let planes = &mut phases[first_plane..first_plane + self.phases() * self.plane()];
                if self.phases() == 2 {
                    // The common 2-wide window as one loop over pairs, which
                    // the compiler vectorises (a stride it cannot).
                    let (even, odd) = planes.split_at_mut(self.plane());
                    for ((e, o), pair) in even[start..start + self.cols]
                        .iter_mut()
                        .zip(&mut odd[start..start + self.cols])
                        .zip(row_buffer.chunks_exact(2))
                    {
                        *e = pair[0];
                        *o = pair[1];
                    }
                    continue;
                }
                for (phase, plane) in planes.chunks_exact_mut(self.plane()).enumerate() {
                    for (o, &v) in plane[start..start + self.cols]
                        .iter_mut()
                        .zip(row_buffer[phase..].iter().step_by(self.phases()))
                    {
                        *o = v;
                    }
                }
            }
        }
    }

    /// The inverse of [`Phases::split`]: the unpadded image of `phases`.
    #[inline(always)]
    pub fn merge(&self, phases: &[f32], image: &mut [f32]) {
        let [height, width] = self.input;
        let mut row_buffer = vec![0.0; self.cols * self.phases()];
        for (channel, output) in image.chunks_exact_mut(height * width).enumerate() {
            for (row, output) in output.chunks_exact_mut(width).enumerate() {
                let start = (row + self.padding[0]) * self.cols;
                for phase in 0..self.phases() {
                    let plane = (channel * self.phases() + phase) * self.plane();
                    let input = &phases[plane + start..plane + start + self.cols];
                    for (o, &v) in row_buffer[phase..]
                        .iter_mut()
                        .step_by(self.phases())
                        .zip(input)
                    {
                        *o = v;
                    }
                }
                output.copy_from_slice(&row_buffer[self.padding[1]..self.padding[1] + width]);
            }
        }
    }

    /// Max-pools one filter's output `runs` (each phase's run, `stride` values
    /// after the previous one) into `out` (`pooled` rows and columns); with
    /// `positions`, also where each maximum is in `runs`. `runs` must have
    /// [`SLACK`] readable values after the last run.
    pub fn pool(
        &self,
        runs: &[f32],
        stride: usize,
        out: &mut [f32],
        positions: Option<&mut [u32]>,
    ) {
        pulp::Arch::new().dispatch(Pool {
            phases: self,
            runs,
            stride,
            out,
            positions,
        });
    }

    /// [`Phases::pool`] in vectors of `simd`, for callers already compiled
    /// for it.
    ///
    /// The window's elements are visited in row-major order, each a vector
    /// over [`LANES`] windows of an output row, and a later element replaces
    /// the maximum only when greater or NaN: the tie and NaN rule of
    /// burn-flex's max-pool, which this matches exactly.
    #[inline(always)]
    pub fn pool_with<S: pulp::Simd>(
        &self,
        simd: S,
        runs: &[f32],
        stride: usize,
        out: &mut [f32],
        positions: Option<&mut [u32]>,
    ) {
        // The common 2x2 window with its loops unrolled: their control cost
        // as much as the comparisons.
        match self.window {
            [2, 2] => self.pool_window::<S, 2, 2>(simd, runs, stride, out, positions),
            _ => self.pool_window::<S, 0, 0>(simd, runs, stride, out, positions),
        }
    }

    /// [`Phases::pool_with`] for a window of `R` rows and `C` columns known
    /// when compiled, or of the layout's window where they are 0.
    #[inline(always)]
    fn pool_window<S: pulp::Simd, const R: usize, const C: usize>(
        &self,
        simd: S,
        runs: &[f32],
        stride: usize,
        out: &mut [f32],
        mut positions: Option<&mut [u32]>,
    ) {
        let lanes = S::F32_LANES;
        let offsets = simd.partial_load_u32s(&LANE);
        let track = positions.is_some();
        // Locals, not fields: the stores to `out` could alias `self` as far
        // as the compiler knows, which reloads every field in the loop.
        let ([rows, cols], phase_cols) = (self.pooled, self.cols);
        let window_rows = if R > 0 { R } else { self.window[0] };
        let phase_count = if C > 0 { C } else { self.window[1] };
        for row in 0..rows {
            for first_col in (0..cols).step_by(lanes) {
                let (mut best, mut at) = (simd.splat_f32s(0.0), simd.splat_u32s(0));
                for dy in 0..window_rows {
                    let row_start = (row * window_rows + dy) * phase_cols + first_col;
                    for phase in 0..phase_count {
                        let start = phase * stride + row_start;
                        let value = load(simd, &runs[start..]);
                        // 32-bit positions: as many lanes as the values; only
                        // computed when asked for (prediction does not).
                        let here = || simd.add_u32s(simd.splat_u32s(start as u32), offsets);
                        if dy == 0 && phase == 0 {
                            best = value;
                            if track {
                                at = here();
                            }
                            continue;
                        }
                        let nan = simd.not_m32s(simd.equal_f32s(value, value));
                        let take = simd.or_m32s(simd.greater_than_f32s(value, best), nan);
                        best = simd.select_f32s(take, value, best);
                        if track {
                            at = simd.select_u32s(take, here(), at);
                        }
                    }
                }
                // A whole vector spills past the row's end into values
                // that later rows overwrite; only the last one is cut.
                let index = row * cols + first_col;
                store(simd, &mut out[index..], best);
                if let Some(positions) = positions.as_deref_mut() {
                    store_u32(simd, &mut positions[index..], at);
                }
            }
        }
    }
}

/// [`Phases::pool`] in the vectors of the CPU it runs on.
struct Pool<'a> {
    phases: &'a Phases,
    runs: &'a [f32],
    stride: usize,
    out: &'a mut [f32],
    positions: Option<&'a mut [u32]>,
}

impl pulp::WithSimd for Pool<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        self.phases
            .pool_with(simd, self.runs, self.stride, self.out, self.positions);
    }
}

/// `0, 1, ..., LANES - 1`: each lane's offset in its vector (as many as the
/// widest vector of float32, AVX-512's).
const LANE: [u32; LANES] = {
    let mut lanes = [0; LANES];
    let mut lane = 0;
    while lane < LANES {
        lanes[lane] = lane as u32;
        lane += 1;
    }
    lanes
};

/// Outputs of a run computed at once, in registers: four AVX-512 vectors.
pub(crate) const BLOCK: usize = 64;

/// Values readable after the last run of a phase layout or of a filter's
/// runs, for the last block of [`BLOCK`] and the last vector of [`LANES`].
pub(crate) const SLACK: usize = BLOCK;

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(height: usize, width: usize, padding: [usize; 2]) -> ConvShape {
        ConvShape {
            batch: 1,
            channels: 2,
            height,
            width,
            filters: 1,
            kernel: [3, 3],
            padding,
            stride: [1, 1],
        }
    }

    #[test]
    fn split_then_merge_gives_the_image_back() {
        for (window, padding) in [([2, 2], [0, 0]), ([3, 2], [1, 2]), ([1, 1], [1, 0])] {
            let shape = shape(7, 9, padding);
            let phases = Phases::new(&shape, window);
            let image: Vec<f32> = (0..2 * 7 * 9).map(|i| i as f32).collect();
            let mut layout = vec![f32::NAN; phases.image()];
            phases.split(&image, &mut layout);
            let mut back = vec![0.0; image.len()];
            phases.merge(&layout, &mut back);
            assert_eq!(back, image, "{window:?} {padding:?}");
        }
    }

    #[test]
    fn a_tap_reads_the_column_it_names() {
        let shape = shape(6, 8, [0, 0]);
        let phases = Phases::new(&shape, [2, 2]);
        let image: Vec<f32> = (0..2 * 6 * 8).map(|i| i as f32).collect();
        let mut layout = vec![0.0; phases.image()];
        phases.split(&image, &mut layout);
        // Output column 2j + 1, tap column 2, channel 1, tap row 1: input
        // row 1 + y, column 2j + 3.
        let start = phases.tap(1, 1, 1, 2);
        let (y, j) = (2, 1);
        assert_eq!(
            layout[start + y * phases.cols + j],
            image[48 + (1 + y) * 8 + 2 * j + 3]
        );
        assert_eq!(phases.pooled, [2, 3]);
    }
}
