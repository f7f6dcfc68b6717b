//! The kernels as backend operations: [`KernelOps`], Burn's backend
//! extension (the forward passes, dispatched to the backend a tensor lives
//! on), and [`KernelGrads`], what the autodiff implementation calls on the
//! inner backend for the backward passes.
//!
//! Implemented for burn-flex and burn-ndarray, whose tensors live in host
//! memory (`backends.rs`, through the host plumbing of `host.rs`);
//! [`crate::serves`] tells whether a tensor's backend is one of them.

// Burn 0.22 deprecates burn-ndarray; the extension's dispatch names it.
#![cfg_attr(feature = "ndarray", allow(deprecated))]
// Without a CPU backend feature the extension dispatches to no backend and
// its generated arms read none of the arguments.
#![cfg_attr(
    not(any(feature = "flex", feature = "ndarray")),
    allow(unused_variables)
)]

use std::sync::Arc;

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Shape, backend_extension};

use crate::adam::AdamStep;

/// The forward passes, one per kernel: the convolution (stride 1, zero
/// padding, with bias), the max-pool (stride = window, floor mode), the two
/// fused, the average pool (any stride, floor mode), batch normalisation with
/// the batch's statistics, the loss and Adam.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Autodiff
)]
pub trait KernelOps: Backend {
    /// `conv2d(x, weight) + bias` with `padding` zeros on each side.
    fn kernel_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self>;

    /// `conv2d(x, weight) + bias` with `stride` and `padding` zeros on each
    /// side, as matrix products (see [`im2col`]).
    fn kernel_conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;

    /// `max_pool2d(conv2d(x, weight) + bias)` with the convolution as in
    /// [`KernelOps::kernel_conv2d_gemm`] and the pool in the products'
    /// epilogue (a `window` that is also the stride).
    fn kernel_conv2d_gemm_max_pool2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        window: [usize; 2],
    ) -> FloatTensor<Self>;

    /// `max_pool2d(x)` with a `window` that is also the stride.
    fn kernel_max_pool2d(x: FloatTensor<Self>, window: [usize; 2]) -> FloatTensor<Self>;

    /// `avg_pool2d(x)`: the mean of each `window`, moved by `stride`, floor
    /// mode.
    fn kernel_avg_pool2d(
        x: FloatTensor<Self>,
        window: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// `max_pool2d(conv2d(x, weight) + bias)` in one pass.
    fn kernel_conv2d_max_pool2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
        window: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The mean softmax cross-entropy `[1]` of `logits` `[batch, classes]`
    /// against class indices `targets` `[batch]`.
    fn kernel_cross_entropy(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Batch normalisation of `x` (`[batch, channels, ...]`) with its own
    /// statistics: the output, and each channel's mean and biased variance.
    fn kernel_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// One Adam step: the parameters and the two moments after `step`.
    fn kernel_adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Where the maxima of a max-pool came from (offsets in their input
/// planes), kept by the forward pass for the backward pass.
#[derive(Debug, Clone)]
pub struct Positions(pub Arc<Vec<u32>>);

/// The gradients of a convolution's operands.
#[derive(Debug)]
pub struct ConvGrads<B: Backend> {
    /// Of the input, when it was asked for.
    pub x: Option<FloatTensor<B>>,
    /// Of the weights.
    pub weight: FloatTensor<B>,
    /// Of the bias.
    pub bias: FloatTensor<B>,
}

/// What the autodiff implementation of [`KernelOps`] needs from the backend
/// it wraps: the forward passes that also record the maxima, and the
/// backward passes.
pub trait KernelGrads: KernelOps {
    /// [`KernelOps::kernel_max_pool2d`], and where each maximum came from.
    fn kernel_max_pool2d_with_positions(
        x: FloatTensor<Self>,
        window: [usize; 2],
    ) -> (FloatTensor<Self>, Positions);

    /// The input gradient of a max-pool of an input of shape `x`.
    fn kernel_max_pool2d_backward(
        x: Shape,
        grad: FloatTensor<Self>,
        positions: &Positions,
        window: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The input gradient of [`KernelOps::kernel_avg_pool2d`] of an input
    /// of shape `x`.
    fn kernel_avg_pool2d_backward(
        x: Shape,
        grad: FloatTensor<Self>,
        window: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The gradients of [`KernelOps::kernel_batch_norm_train`] (of `x`,
    /// `gamma` and `beta`) from its output's, given the statistics it
    /// returned.
    fn kernel_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3];

    /// The gradients of [`KernelOps::kernel_conv2d`]; the input's only when
    /// `input_grad`.
    fn kernel_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        padding: [usize; 2],
        input_grad: bool,
    ) -> ConvGrads<Self>;

    /// The gradients of [`KernelOps::kernel_conv2d_gemm`]; the input's only
    /// when `input_grad`.
    fn kernel_conv2d_gemm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        input_grad: bool,
    ) -> ConvGrads<Self>;

    /// [`KernelOps::kernel_conv2d_gemm_max_pool2d`], and where each maximum
    /// came from.
    fn kernel_conv2d_gemm_max_pool2d_with_positions(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        window: [usize; 2],
    ) -> (FloatTensor<Self>, Positions);

    /// The gradients of [`KernelOps::kernel_conv2d_gemm_max_pool2d`]; the
    /// input's only when `input_grad`.
    #[allow(clippy::too_many_arguments)]
    fn kernel_conv2d_gemm_max_pool2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        positions: &Positions,
        stride: [usize; 2],
        padding: [usize; 2],
        window: [usize; 2],
        input_grad: bool,
    ) -> ConvGrads<Self>;

    /// [`KernelOps::kernel_conv2d_max_pool2d`], and where each maximum came from.
    fn kernel_conv2d_max_pool2d_with_positions(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
        window: [usize; 2],
    ) -> (FloatTensor<Self>, Positions);

    /// The gradient of [`KernelOps::kernel_cross_entropy`] with respect to
    /// the logits, given the loss's gradient `grad` `[1]`.
    fn kernel_cross_entropy_backward(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients of [`KernelOps::kernel_conv2d_max_pool2d`]; the input's
    /// only when `input_grad`.
    #[allow(clippy::too_many_arguments)]
    fn kernel_conv2d_max_pool2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        positions: &Positions,
        padding: [usize; 2],
        window: [usize; 2],
        input_grad: bool,
    ) -> ConvGrads<Self>;
}
