//! The host plumbing of [`KernelOps`](crate::ops::KernelOps) and
//! [`KernelGrads`](crate::ops::KernelGrads) on backends whose tensors live in
//! host memory: tensors read as `f32` slices, the kernels' shapes from Burn's,
//! and each operation run over chunks of images on the CPU kernels.

use std::sync::Arc;

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Shape, TensorData, TensorMetadata, read_sync};

use crate::adam::{AdamStep, adam_step};
use crate::images::for_each_chunk;
use crate::norm::NormShape;
use crate::ops::{ConvGrads, Positions};
use crate::shape::{ConvShape, PoolShape};
use crate::{conv, fused, im2col, loss, norm, pool};

/// A backend whose float tensors can be read as host `f32` slices.
pub(crate) trait HostBackend: Backend {
    /// A tensor's values, contiguous, row-major.
    type Values: AsRef<[f32]> + Sync;

    /// The values of `tensor`, without a copy where the backend allows it.
    fn values(tensor: FloatTensor<Self>) -> Self::Values;

    /// The class indices of an int tensor.
    fn indices(tensor: IntTensor<Self>) -> Vec<i64> {
        read_sync(Self::int_into_data(tensor))
            .expect("host tensors read synchronously")
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("int64 values after conversion")
    }

    /// A tensor of `shape` on the device of `like`.
    fn tensor(values: Vec<f32>, shape: Shape, like: &FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_from_data(TensorData::new(values, shape), &like.device())
    }
}

fn conv_shape(x: &Shape, weight: &Shape, padding: [usize; 2]) -> ConvShape {
    strided_shape(x, weight, [1, 1], padding)
}

fn strided_shape(x: &Shape, weight: &Shape, stride: [usize; 2], padding: [usize; 2]) -> ConvShape {
    ConvShape {
        stride,
        batch: x[0],
        channels: x[1],
        height: x[2],
        width: x[3],
        filters: weight[0],
        kernel: [weight[2], weight[3]],
        padding,
    }
}

fn pool_shape(x: &Shape, window: [usize; 2], stride: [usize; 2]) -> PoolShape {
    PoolShape {
        planes: x[0] * x[1],
        height: x[2],
        width: x[3],
        window,
        stride,
    }
}

fn pooled(shape: &PoolShape, x: &Shape) -> Shape {
    let [rows, cols] = shape.output();
    Shape::new([x[0], x[1], rows, cols])
}

/// The shapes of a fused convolution + pooling: the convolution's, and the
/// pooling's over the convolution's output.
fn fused_shapes(
    x: &Shape,
    weight: &Shape,
    padding: [usize; 2],
    window: [usize; 2],
) -> (ConvShape, Shape) {
    let conv = conv_shape(x, weight, padding);
    let [rows, cols] = conv.output();
    let out = Shape::new([x[0], weight[0], rows / window[0], cols / window[1]]);
    (conv, out)
}

pub(crate) fn host_conv2d<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    padding: [usize; 2],
) -> FloatTensor<B> {
    let shape = conv_shape(&x.shape(), &weight.shape(), padding);
    let [rows, cols] = shape.output();
    let like = x.clone();
    let (x, weight, bias) = (B::values(x), B::values(weight), B::values(bias));
    let mut out = vec![0.0; shape.batch * shape.filters * rows * cols];
    conv::conv2d(&shape, x.as_ref(), weight.as_ref(), bias.as_ref(), &mut out);
    B::tensor(
        out,
        Shape::new([shape.batch, shape.filters, rows, cols]),
        &like,
    )
}

/// Multiply-adds of one of a chunk's matrix products below which burn-flex
/// runs it on one thread (its `PARALLEL_THRESHOLD`, 192^3): the chunks are
/// sized under it, since the split over chunks already uses every core.
const SERIAL_PRODUCT: usize = 192 * 192 * 192;

/// Images per chunk of the GEMM convolution: as many as keep each of its
/// three matrix products (every one `filters * taps * positions` per image)
/// a single-threaded one, at least one. A function of the shape alone, so
/// the sums, and the results, do not depend on the thread count.
fn gemm_chunk(shape: &ConvShape) -> usize {
    let per_image = shape.filters * shape.taps() * shape.positions();
    ((SERIAL_PRODUCT - 1) / per_image.max(1)).clamp(1, shape.batch.max(1))
}

/// The shape of the images `first..` of a chunk of `len` images.
fn chunk_of(shape: &ConvShape, len: usize) -> ConvShape {
    ConvShape {
        batch: len,
        ..*shape
    }
}

/// The GEMM convolution, a chunk of images at a time (in parallel): the
/// chunk's column matrix, one product with the weights, the bias added while
/// the filter-major product becomes NCHW. Each chunk's column matrix stays
/// in the cache, and nothing of the batch's size is allocated but the output.
pub(crate) fn host_conv2d_gemm<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> FloatTensor<B> {
    let shape = strided_shape(&x.shape(), &weight.shape(), stride, padding);
    let [rows, cols] = shape.output();
    let like = x.clone();
    let bias = B::values(bias);
    let mut out = vec![0.0; shape.batch * shape.filters * rows * cols];
    let mut none = vec![(); shape.batch.div_ceil(gemm_chunk(&shape))];
    let weight = B::float_reshape(weight, Shape::new([shape.filters, shape.taps()]));
    let product = |columns: FloatTensor<B>| B::values(B::float_matmul(weight.clone(), columns));
    let output = shape.output();
    gemm_forward::<B, _>(
        &shape,
        output,
        x,
        product,
        &mut out,
        &mut none,
        |product, out, _| {
            im2col::filters_to_images(product, bias.as_ref(), rows * cols, out);
        },
    );
    B::tensor(
        out,
        Shape::new([shape.batch, shape.filters, rows, cols]),
        &like,
    )
}

/// `max_pool2d(host_conv2d_gemm(..))` with the pool in each chunk's
/// epilogue: the convolution's output is never written whole, only each
/// chunk's product, pooled as it becomes NCHW. With `positions`, also where
/// each maximum is in its plane (see [`im2col::filters_to_pooled_images`]).
pub(crate) fn host_conv2d_gemm_max_pool2d<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    [stride, padding, window]: [[usize; 2]; 3],
    positions: bool,
) -> (FloatTensor<B>, Option<Positions>) {
    let shape = strided_shape(&x.shape(), &weight.shape(), stride, padding);
    let plane = pooled_extent(&shape, window);
    let out_shape = Shape::new([
        shape.batch,
        shape.filters,
        plane[0] / window[0],
        plane[1] / window[1],
    ]);
    let like = x.clone();
    let bias = B::values(bias);
    let mut out = vec![0.0; out_shape.num_elements()];
    let mut found = vec![0; out.len()];
    let weight = B::float_reshape(weight, Shape::new([shape.filters, shape.taps()]));
    let weight_t = B::float_swap_dims(weight, 0, 1);
    // Position-major (`columns^T x weights^T`), for the pool's sake.
    let product = |columns: FloatTensor<B>| {
        let columns_t = B::float_swap_dims(columns, 0, 1);
        B::values(B::float_matmul(columns_t, weight_t.clone()))
    };
    gemm_forward::<B, _>(
        &shape,
        plane,
        x,
        product,
        &mut out,
        &mut found,
        |product, out, found| {
            im2col::positions_to_pooled_images(product, bias.as_ref(), plane, window, out, found);
        },
    );
    (
        B::tensor(out, out_shape, &like),
        positions.then(|| Positions(Arc::new(found))),
    )
}

/// The rows and columns of a convolution's output that a max-pool with
/// `window` reads: whole windows only (floor mode), so the last row or
/// column of an odd output is never computed (the convnet's 11x11 maps:
/// 100 of 121 positions).
fn pooled_extent(shape: &ConvShape, window: [usize; 2]) -> [usize; 2] {
    let [rows, cols] = shape.output();
    [rows / window[0] * window[0], cols / window[1] * window[1]]
}

/// Runs the GEMM convolution for the first `output` rows and columns of its
/// output, chunk by chunk (in parallel): each chunk's column matrix goes
/// to `product` (its product with the weights), which goes to
/// `epilogue(product, out, side)` with the chunk's share of `out` and of
/// `side` (each as many values per image as they hold for the batch).
fn gemm_forward<B: HostBackend, T: Send>(
    shape: &ConvShape,
    output: [usize; 2],
    x: FloatTensor<B>,
    product: impl Fn(FloatTensor<B>) -> B::Values + Sync,
    out: &mut [f32],
    side: &mut [T],
    epilogue: impl Fn(&[f32], &mut [f32], &mut [T]) + Sync,
) {
    let like = x.clone();
    let x = B::values(x);
    let images = gemm_chunk(shape);
    let image_input = shape.channels * shape.height * shape.width;
    let (out_len, side_len) = (out.len() / shape.batch, side.len() / shape.batch);
    let (out_chunk, side_chunk) = (images * out_len, (images * side_len).max(1));
    let cost = images * shape.filters * shape.positions() * shape.taps();
    for_each_chunk(
        out,
        out_chunk,
        side,
        side_chunk,
        cost,
        |chunk, out, side| {
            let part = chunk_of(shape, out.len() / out_len);
            let first = chunk * images;
            let x = &x.as_ref()[first * image_input..][..part.batch * image_input];
            let product = product(columns::<B>(&part, output, x, &like));
            epilogue(product.as_ref(), out, side);
        },
    );
}

/// The column matrix `[taps, images * positions]` of the images `x` of
/// `shape`, for the first `output` rows and columns of its output.
fn columns<B: HostBackend>(
    shape: &ConvShape,
    output: [usize; 2],
    x: &[f32],
    like: &FloatTensor<B>,
) -> FloatTensor<B> {
    let total = shape.batch * output[0] * output[1];
    B::tensor(
        im2col::im2col(shape, output, x),
        Shape::new([shape.taps(), total]),
        like,
    )
}

/// The GEMM convolution's gradients, a chunk of images at a time (in
/// parallel, the chunks of [`host_conv2d_gemm`]): the chunk's column matrix
/// again (cheaper than keeping the batch's), the bias's gradient as sums of
/// the output's, the weights' as its product with the column matrix, the
/// input's (when asked for) as its product with the weights, folded back
/// into images. The chunks' shares of the weight and bias gradients are
/// added in chunk order.
pub(crate) fn host_conv2d_gemm_backward<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    stride: [usize; 2],
    padding: [usize; 2],
    input_grad: bool,
) -> ConvGrads<B> {
    let shape = strided_shape(&x.shape(), &weight.shape(), stride, padding);
    let per_image = shape.filters * shape.positions();
    let like = grad.clone();
    let grad = B::values(grad);
    let output = shape.output();
    gemm_backward(
        &shape,
        output,
        x,
        weight,
        input_grad,
        &like,
        |first, images| {
            let grad = &grad.as_ref()[first * per_image..][..images * per_image];
            im2col::images_to_filters(grad, shape.filters, shape.positions())
        },
    )
}

/// The gradients of [`host_conv2d_gemm_max_pool2d`]: those of
/// [`host_conv2d_gemm_backward`] for an output gradient that is the pooled
/// one at the maxima's positions and zero elsewhere.
pub(crate) fn host_conv2d_gemm_max_pool2d_backward<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    positions: &Positions,
    [stride, padding, window]: [[usize; 2]; 3],
    input_grad: bool,
) -> ConvGrads<B> {
    let shape = strided_shape(&x.shape(), &weight.shape(), stride, padding);
    let plane = pooled_extent(&shape, window);
    let [rows, cols] = plane;
    let lengths = [rows * cols, (rows / window[0]) * (cols / window[1])];
    let per_image = shape.filters * lengths[1];
    let like = grad.clone();
    let grad = B::values(grad);
    gemm_backward(
        &shape,
        plane,
        x,
        weight,
        input_grad,
        &like,
        |first, images| {
            let at = first * per_image..(first + images) * per_image;
            let (grad, found) = (&grad.as_ref()[at.clone()], &positions.0[at]);
            im2col::pooled_to_filters(grad, found, shape.filters, lengths)
        },
    )
}

/// The GEMM convolution's gradients given, for the chunk of `images` images
/// from `first`, `output_grad(first, images)`: the filter-major gradient of
/// the first `output` rows and columns of the convolution's output
/// (`[filters, images * positions]`; the rest has none) and its sums per
/// filter.
fn gemm_backward<B: HostBackend>(
    shape: &ConvShape,
    output: [usize; 2],
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    input_grad: bool,
    like: &FloatTensor<B>,
    output_grad: impl Fn(usize, usize) -> (Vec<f32>, Vec<f32>) + Sync,
) -> ConvGrads<B> {
    let (x_shape, w_shape) = (x.shape(), weight.shape());
    let x = B::values(x);
    let weight = B::float_reshape(weight, Shape::new([shape.filters, shape.taps()]));
    let weight_t = B::float_swap_dims(weight, 0, 1);
    let images = gemm_chunk(shape);
    let chunks = shape.batch.div_ceil(images);
    let image_input = shape.channels * shape.height * shape.width;
    let positions = output[0] * output[1];
    let per_image = shape.filters * positions;
    let gradients = shape.filters * (shape.taps() + 1);
    // Per chunk: [dw share | db share].
    let mut shares = vec![0.0; chunks * gradients];
    let mut no_dx = vec![0.0; chunks];
    let (dx_chunks, dx_len) = match input_grad {
        true => (vec![0.0; x_shape.num_elements()], images * image_input),
        false => (Vec::new(), 1),
    };
    let mut dx = dx_chunks;
    let dx_target = if input_grad {
        &mut dx[..]
    } else {
        &mut no_dx[..]
    };
    let cost = images * per_image * shape.taps() * (2 + usize::from(input_grad));
    for_each_chunk(
        &mut shares,
        gradients,
        dx_target,
        dx_len,
        cost,
        |chunk, share, dx| {
            let first = chunk * images;
            let part = chunk_of(shape, images.min(shape.batch - first));
            let x = &x.as_ref()[first * image_input..][..part.batch * image_input];
            let columns = columns::<B>(&part, output, x, like);
            let (dw_share, db_share) = share.split_at_mut(shape.filters * shape.taps());
            let (rows, sums) = output_grad(first, part.batch);
            db_share.copy_from_slice(&sums);
            let rows = B::tensor(
                rows,
                Shape::new([shape.filters, part.batch * positions]),
                like,
            );
            let dw = B::float_matmul(rows.clone(), B::float_swap_dims(columns, 0, 1));
            dw_share.copy_from_slice(B::values(dw).as_ref());
            if input_grad {
                let d_columns = B::values(B::float_matmul(weight_t.clone(), rows));
                im2col::col2im(&part, output, d_columns.as_ref(), dx);
            }
        },
    );
    let mut dw = vec![0.0; shape.filters * shape.taps()];
    let mut db = vec![0.0; shape.filters];
    conv::add_shares(&shares, &mut dw, &mut db);
    ConvGrads {
        x: input_grad.then(|| B::tensor(dx, x_shape, like)),
        weight: B::tensor(dw, w_shape, like),
        bias: B::tensor(db, Shape::new([shape.filters]), like),
    }
}

pub(crate) fn host_max_pool2d<B: HostBackend>(
    x: FloatTensor<B>,
    window: [usize; 2],
    positions: bool,
) -> (FloatTensor<B>, Option<Positions>) {
    let x_shape = x.shape();
    let shape = pool_shape(&x_shape, window, window);
    let out_shape = pooled(&shape, &x_shape);
    let like = x.clone();
    let values = B::values(x);
    let mut out = vec![0.0; out_shape.num_elements()];
    let mut found = positions.then(|| vec![0; out.len()]);
    pool::max_pool2d(&shape, values.as_ref(), &mut out, found.as_deref_mut());
    (
        B::tensor(out, out_shape, &like),
        found.map(|found| Positions(Arc::new(found))),
    )
}

pub(crate) fn host_max_pool2d_backward<B: HostBackend>(
    x: Shape,
    grad: FloatTensor<B>,
    positions: &Positions,
    window: [usize; 2],
) -> FloatTensor<B> {
    let shape = pool_shape(&x, window, window);
    let like = grad.clone();
    let grad = B::values(grad);
    let mut dx = vec![0.0; x.num_elements()];
    pool::max_pool2d_backward(&shape, grad.as_ref(), &positions.0, &mut dx);
    B::tensor(dx, x, &like)
}

pub(crate) fn host_avg_pool2d<B: HostBackend>(
    x: FloatTensor<B>,
    window: [usize; 2],
    stride: [usize; 2],
) -> FloatTensor<B> {
    let x_shape = x.shape();
    let shape = pool_shape(&x_shape, window, stride);
    let out_shape = pooled(&shape, &x_shape);
    let like = x.clone();
    let values = B::values(x);
    let mut out = vec![0.0; out_shape.num_elements()];
    pool::avg_pool2d(&shape, values.as_ref(), &mut out);
    B::tensor(out, out_shape, &like)
}

pub(crate) fn host_avg_pool2d_backward<B: HostBackend>(
    x: Shape,
    grad: FloatTensor<B>,
    window: [usize; 2],
    stride: [usize; 2],
) -> FloatTensor<B> {
    let shape = pool_shape(&x, window, stride);
    let like = grad.clone();
    let grad = B::values(grad);
    let mut dx = vec![0.0; x.num_elements()];
    pool::avg_pool2d_backward(&shape, grad.as_ref(), &mut dx);
    B::tensor(dx, x, &like)
}

/// [`NormShape`] of a batch-normalised tensor of shape `x`.
fn norm_shape(x: &Shape) -> NormShape {
    let (batch, channels) = (x[0], x[1]);
    NormShape {
        batch,
        channels,
        plane: x.num_elements() / (batch * channels).max(1),
    }
}

pub(crate) fn host_batch_norm_train<B: HostBackend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let x_shape = x.shape();
    let shape = norm_shape(&x_shape);
    let like = x.clone();
    let (x, gamma, beta) = (B::values(x), B::values(gamma), B::values(beta));
    let mut out = vec![0.0; x_shape.num_elements()];
    let (mut mean, mut variance) = (vec![0.0; shape.channels], vec![0.0; shape.channels]);
    norm::batch_norm_train(
        &shape,
        x.as_ref(),
        gamma.as_ref(),
        beta.as_ref(),
        epsilon as f32,
        &mut out,
        &mut mean,
        &mut variance,
    );
    let channels = Shape::new([shape.channels]);
    (
        B::tensor(out, x_shape, &like),
        B::tensor(mean, channels.clone(), &like),
        B::tensor(variance, channels, &like),
    )
}

pub(crate) fn host_batch_norm_train_backward<B: HostBackend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    epsilon: f64,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 3] {
    let x_shape = x.shape();
    let shape = norm_shape(&x_shape);
    let like = x.clone();
    let [x, gamma, mean, variance, grad] = [x, gamma, mean, variance, grad].map(B::values);
    let mut dx = vec![0.0; x_shape.num_elements()];
    let (mut dgamma, mut dbeta) = (vec![0.0; shape.channels], vec![0.0; shape.channels]);
    norm::batch_norm_train_backward(
        &shape,
        x.as_ref(),
        gamma.as_ref(),
        mean.as_ref(),
        variance.as_ref(),
        epsilon as f32,
        grad.as_ref(),
        &mut dx,
        &mut dgamma,
        &mut dbeta,
    );
    let channels = Shape::new([shape.channels]);
    [
        B::tensor(dx, x_shape, &like),
        B::tensor(dgamma, channels.clone(), &like),
        B::tensor(dbeta, channels, &like),
    ]
}

pub(crate) fn host_conv2d_backward<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    padding: [usize; 2],
    input_grad: bool,
) -> ConvGrads<B> {
    let (x_shape, w_shape) = (x.shape(), weight.shape());
    let shape = conv_shape(&x_shape, &w_shape, padding);
    host_backward(x, weight, input_grad, |x, weight, dx, dw, db| {
        conv::conv2d_backward(&shape, x, weight, B::values(grad).as_ref(), dx, dw, db)
    })
}

pub(crate) fn host_conv2d_max_pool2d<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    padding: [usize; 2],
    window: [usize; 2],
    positions: bool,
) -> (FloatTensor<B>, Option<Positions>) {
    let (shape, out_shape) = fused_shapes(&x.shape(), &weight.shape(), padding, window);
    let like = x.clone();
    let (x, weight, bias) = (B::values(x), B::values(weight), B::values(bias));
    let mut out = vec![0.0; out_shape.num_elements()];
    let mut found = positions.then(|| vec![0; out.len()]);
    fused::conv2d_max_pool2d(
        &shape,
        window,
        x.as_ref(),
        weight.as_ref(),
        bias.as_ref(),
        &mut out,
        found.as_deref_mut(),
    );
    (
        B::tensor(out, out_shape, &like),
        found.map(|found| Positions(Arc::new(found))),
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn host_conv2d_max_pool2d_backward<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    positions: &Positions,
    padding: [usize; 2],
    window: [usize; 2],
    input_grad: bool,
) -> ConvGrads<B> {
    let (shape, _) = fused_shapes(&x.shape(), &weight.shape(), padding, window);
    host_backward(x, weight, input_grad, |x, weight, dx, dw, db| {
        fused::conv2d_max_pool2d_backward(
            &shape,
            window,
            x,
            weight,
            B::values(grad).as_ref(),
            &positions.0,
            dx,
            dw,
            db,
        )
    })
}

/// Allocates a convolution's gradients, lets `compute(x, weight, dx, dw, db)`
/// fill them, and makes them tensors.
fn host_backward<B: HostBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    input_grad: bool,
    compute: impl FnOnce(&[f32], &[f32], Option<&mut [f32]>, &mut [f32], &mut [f32]),
) -> ConvGrads<B> {
    let (x_shape, w_shape) = (x.shape(), weight.shape());
    let like = x.clone();
    let (x, weight) = (B::values(x), B::values(weight));
    let mut dx = input_grad.then(|| vec![0.0; x_shape.num_elements()]);
    let mut dw = vec![0.0; w_shape.num_elements()];
    let mut db = vec![0.0; w_shape[0]];
    compute(
        x.as_ref(),
        weight.as_ref(),
        dx.as_deref_mut(),
        &mut dw,
        &mut db,
    );
    ConvGrads {
        x: dx.map(|dx| B::tensor(dx, x_shape, &like)),
        weight: B::tensor(dw, w_shape.clone(), &like),
        bias: B::tensor(db, Shape::new([w_shape[0]]), &like),
    }
}

pub(crate) fn host_cross_entropy<B: HostBackend>(
    logits: FloatTensor<B>,
    targets: IntTensor<B>,
) -> FloatTensor<B> {
    let classes = logits.shape()[1];
    let like = logits.clone();
    let loss = loss::cross_entropy(B::values(logits).as_ref(), classes, &B::indices(targets));
    B::tensor(vec![loss], Shape::new([1]), &like)
}

pub(crate) fn host_cross_entropy_backward<B: HostBackend>(
    logits: FloatTensor<B>,
    targets: IntTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = logits.shape();
    let like = logits.clone();
    let grad = B::values(grad).as_ref()[0];
    let mut out = vec![0.0; shape.num_elements()];
    loss::cross_entropy_backward(
        B::values(logits).as_ref(),
        shape[1],
        &B::indices(targets),
        grad,
        &mut out,
    );
    B::tensor(out, shape, &like)
}

pub(crate) fn host_adam_step<B: HostBackend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moment_1: FloatTensor<B>,
    moment_2: FloatTensor<B>,
    step: AdamStep,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let shape = param.shape();
    let like = param.clone();
    let owned = |tensor: FloatTensor<B>| B::values(tensor).as_ref().to_vec();
    let (mut param, mut m, mut v) = (owned(param), owned(moment_1), owned(moment_2));
    adam_step(&step, &mut param, B::values(grad).as_ref(), &mut m, &mut v);
    (
        B::tensor(param, shape.clone(), &like),
        B::tensor(m, shape.clone(), &like),
        B::tensor(v, shape, &like),
    )
}
