//! The convolution on host slices, optionally max-pooled in the same pass:
//! forward, and the gradients of its input, weights and bias.
//!
//! Each image is first laid out in [`Phases`]; every output phase of a filter
//! is then one run that each tap adds `weight * input run` to, in blocks kept
//! in registers while all taps are added. Per output value the sum runs over
//! channels, then kernel rows, then kernel columns, with the bias added last:
//! the order of burn-flex's direct convolution, so the forward outputs are
//! bit-identical to the stock op's (and pooling ties fall the same way).

use crate::images::{for_each_chunk, for_each_image};
use crate::phases::{BLOCK, Phases, SLACK};
use crate::shape::ConvShape;
use crate::simd::{LANES, add, axpy, sum, vectorized};

/// `out = conv(x, weight) + bias`, all NCHW: `x` is `[batch, channels,
/// height, width]`, `weight` `[filters, channels, kernel rows, kernel cols]`,
/// `bias` `[filters]`, `out` `[batch, filters, output rows, output cols]`.
pub fn conv2d(shape: &ConvShape, x: &[f32], weight: &[f32], bias: &[f32], out: &mut [f32]) {
    forward(shape, [1, 1], x, weight, bias, out, None);
}

/// Gradients of [`conv2d`] from `grad_out`, the gradient of its output:
/// `dw` (shape of the weights) and `db` (of the bias) always, `dx` (of the
/// input) when asked for.
pub fn conv2d_backward(
    shape: &ConvShape,
    x: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    let phases = Phases::new(shape, [1, 1]);
    let [rows, cols] = phases.pooled;
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
            let grad = &grad_out[(image * shape.filters + filter) * rows * cols..][..rows * cols];
            for (row, grad) in grad.chunks_exact(cols).enumerate() {
                runs[row * phases.cols..row * phases.cols + cols].copy_from_slice(grad);
            }
            sum(grad)
        },
    );
}

/// The forward pass: the convolution, max-pooled by `window` (`[1, 1]`: not
/// pooled), and where each maximum is in the filter's runs when `positions`
/// is given (what [`backward`] takes back).
pub(crate) fn forward(
    shape: &ConvShape,
    window: [usize; 2],
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    positions: Option<&mut [u32]>,
) {
    let phases = Phases::new(shape, window);
    let [rows, cols] = phases.pooled;
    let per_image = shape.filters * rows * cols;
    let image_input = shape.channels * shape.height * shape.width;
    let cost = shape.filters * shape.taps() * phases.runs();
    let starts = phases.tap_starts();
    let work = |image: usize, out: &mut [f32], positions: Option<&mut [u32]>| {
        pulp::Arch::new().dispatch(ImageForward {
            shape,
            phases: &phases,
            starts: &starts,
            image: &x[image * image_input..][..image_input],
            weight,
            bias,
            out,
            positions,
        })
    };
    match positions {
        Some(positions) => for_each_chunk(
            out,
            per_image,
            positions,
            per_image,
            cost,
            |image, out, at| work(image, out, Some(at)),
        ),
        None => for_each_image(out, per_image, cost, |image, out| work(image, out, None)),
    }
}

/// [`forward`] of one image, in the vectors of the CPU it runs on.
struct ImageForward<'a> {
    shape: &'a ConvShape,
    phases: &'a Phases,
    starts: &'a [usize],
    image: &'a [f32],
    weight: &'a [f32],
    bias: &'a [f32],
    out: &'a mut [f32],
    positions: Option<&'a mut [u32]>,
}

impl pulp::WithSimd for ImageForward<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self {
            shape,
            phases,
            starts,
            image,
            weight,
            bias,
            out,
            mut positions,
        } = self;
        let mut layout = vec![0.0; phases.image() + SLACK];
        phases.split(image, &mut layout[..phases.image()]);
        let mut runs = vec![0.0; phases.runs() + SLACK];
        let out_plane = phases.pooled[0] * phases.pooled[1];
        for filter in 0..shape.filters {
            let weights = &weight[filter * shape.taps()..][..shape.taps()];
            for (phase, starts) in starts.chunks_exact(shape.taps()).enumerate() {
                let run = &mut runs[phase * phases.stride..(phase + 1) * phases.stride];
                accumulate::<S>(weights, starts, &layout, bias[filter], run);
            }
            let start = filter * out_plane;
            let positions = positions.as_deref_mut().map(|p| &mut p[start..]);
            phases.pool_with(simd, &runs, phases.stride, &mut out[start..], positions);
        }
    }
}

/// `run = Σ over taps of weight * input run + bias`, the taps given as
/// weights and starts in the phase layout, a block at a time: each block
/// stays in registers while every tap adds to it. Eight vectors of sums in
/// flight hide the latency of the adds: blocks of 128 values with
/// AVX-512's 32 registers, of [`BLOCK`] with fewer or narrower ones.
#[inline(always)]
fn accumulate<S: pulp::Simd>(
    weights: &[f32],
    starts: &[usize],
    layout: &[f32],
    bias: f32,
    run: &mut [f32],
) {
    const WIDE: usize = 2 * BLOCK;
    let wide = if S::F32_LANES >= 16 {
        run.len() / WIDE * WIDE
    } else {
        0
    };
    let (head, tail) = run.split_at_mut(wide);
    accumulate_blocks::<WIDE>(weights, starts, layout, bias, head, 0);
    accumulate_blocks::<BLOCK>(weights, starts, layout, bias, tail, wide);
}

/// [`accumulate`] of `run`, which starts `first` values into the whole run,
/// in blocks of `N`.
#[inline(always)]
fn accumulate_blocks<const N: usize>(
    weights: &[f32],
    starts: &[usize],
    layout: &[f32],
    bias: f32,
    run: &mut [f32],
    first: usize,
) {
    for (index, block) in run.chunks_exact_mut(N).enumerate() {
        let offset = first + index * N;
        let mut sums = [0.0f32; N];
        for (&weight, &start) in weights.iter().zip(starts) {
            let input: &[f32; N] = layout[start + offset..start + offset + N]
                .try_into()
                .expect("the layout has slack for whole blocks");
            for (s, &x) in sums.iter_mut().zip(input) {
                *s += weight * x;
            }
        }
        for (b, &s) in block.iter_mut().zip(&sums) {
            *b = s + bias;
        }
    }
}

/// Images whose weight gradients one task sums: a constant, so that the
/// order of the sums, and the result, do not depend on the thread count.
const IMAGES_PER_TASK: usize = 8;

/// The backward pass of [`forward`]: `spread(image, filter, runs)` writes
/// the gradient of one filter's output into its zeroed `runs` (at the
/// positions the forward pass read its outputs from) and returns its sum,
/// the bias gradient's share. `dw`, `db` always, `dx` when asked for.
///
/// The weight gradient of a tap is `Σ gradient[i] * input run[i]` over the
/// runs and the images. A [`BLOCK`] of the gradient stays in registers while
/// every tap multiplies it with its input; each tap keeps [`LANES`] running
/// sums, lane `l` summing the positions `l`, `l + LANES`, ... of every
/// block: an order that no vector width changes, so neither do the results.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    shape: &ConvShape,
    phases: &Phases,
    x: &[f32],
    weight: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
    spread: impl Fn(usize, usize, &mut [f32]) -> f32 + Sync,
) {
    let taps = shape.taps();
    // Whole runs, padded to `stride`: the padding's gradient is zero, and
    // loops without a remainder vectorise entirely.
    let run = phases.stride;
    let gradients = shape.filters * (taps + 1);
    let image_input = shape.channels * shape.height * shape.width;
    let tasks = shape.batch.div_ceil(IMAGES_PER_TASK);
    let starts = phases.tap_starts();
    // Per task: [dw share | db share].
    let mut shares = vec![0.0; tasks * gradients];
    let mut no_dx = vec![0.0; tasks];
    let (dx_chunks, dx_len) = match dx {
        Some(dx) => (dx, IMAGES_PER_TASK * image_input),
        None => (no_dx.as_mut_slice(), 1),
    };
    let input_grad = dx_len > 1;
    let cost =
        IMAGES_PER_TASK * shape.filters * taps * phases.runs() * (1 + usize::from(input_grad));
    for_each_chunk(
        &mut shares,
        gradients,
        dx_chunks,
        dx_len,
        cost,
        |task, share, dx| {
            vectorized(
                #[inline(always)]
                || {
                    let (dw_share, db_share) = share.split_at_mut(shape.filters * taps);
                    let first = task * IMAGES_PER_TASK;
                    let images = first..(first + IMAGES_PER_TASK).min(shape.batch);
                    let size = phases.image() + SLACK;
                    let mut layouts = vec![0.0; images.len() * size];
                    for (layout, image) in layouts.chunks_exact_mut(size).zip(images.clone()) {
                        phases.split(
                            &x[image * image_input..][..image_input],
                            &mut layout[..phases.image()],
                        );
                    }
                    let dx_size = if input_grad { layouts.len() } else { 0 };
                    let mut dx_layouts = vec![0.0; dx_size];
                    let mut runs = vec![0.0; phases.runs()];
                    let mut sums = vec![0.0; taps * LANES];
                    for filter in 0..shape.filters {
                        let weights = &weight[filter * taps..][..taps];
                        sums.fill(0.0);
                        for (index, (image, layout)) in
                            images.clone().zip(layouts.chunks_exact(size)).enumerate()
                        {
                            runs.fill(0.0);
                            db_share[filter] += spread(image, filter, &mut runs);
                            for (grad, starts) in
                                runs.chunks_exact(run).zip(starts.chunks_exact(taps))
                            {
                                for (block, grad) in grad.chunks_exact(BLOCK).enumerate() {
                                    let grad: &[f32; BLOCK] =
                                        grad.try_into().expect("runs are whole blocks");
                                    let offset = block * BLOCK;
                                    for ((sums, &start), &weight) in
                                        sums.chunks_exact_mut(LANES).zip(starts).zip(weights)
                                    {
                                        let at = start + offset;
                                        let input: &[f32; BLOCK] = layout[at..at + BLOCK]
                                            .try_into()
                                            .expect("the layout has slack for whole blocks");
                                        dot_block(sums, grad, input);
                                        if input_grad {
                                            let dx = &mut dx_layouts[index * size + at..][..BLOCK];
                                            axpy(dx, weight, grad);
                                        }
                                    }
                                }
                            }
                        }
                        let dw_filter = &mut dw_share[filter * taps..(filter + 1) * taps];
                        for (d, sums) in dw_filter.iter_mut().zip(sums.chunks_exact(LANES)) {
                            *d = sums.iter().sum();
                        }
                    }
                    if input_grad {
                        for (index, layout) in dx_layouts.chunks_exact(size).enumerate() {
                            phases.merge(
                                &layout[..phases.image()],
                                &mut dx[index * image_input..(index + 1) * image_input],
                            );
                        }
                    }
                },
            )
        },
    );
    add_shares(&shares, dw, db);
}

/// `dw` and `db` as the sums, in order, of the tasks' `[dw share | db
/// share]` in `shares`: a fixed order, so the result does not depend on
/// which thread computed which share.
pub(crate) fn add_shares(shares: &[f32], dw: &mut [f32], db: &mut [f32]) {
    dw.fill(0.0);
    db.fill(0.0);
    for share in shares.chunks_exact(dw.len() + db.len()) {
        add(dw, &share[..dw.len()]);
        add(db, &share[dw.len()..]);
    }
}

/// `sums[l] += Σ_k grad[k * LANES + l] * input[k * LANES + l]`: one block's
/// products added into the [`LANES`] running sums of a tap.
#[inline(always)]
fn dot_block(sums: &mut [f32], grad: &[f32; BLOCK], input: &[f32; BLOCK]) {
    let mut block = [0.0f32; LANES];
    for (grad, input) in grad.chunks_exact(LANES).zip(input.chunks_exact(LANES)) {
        for ((b, &g), &x) in block.iter_mut().zip(grad).zip(input) {
            *b += g * x;
        }
    }
    for (s, &b) in sums.iter_mut().zip(&block) {
        *s += b;
    }
}
