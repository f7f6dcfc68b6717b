//! Fast CPU kernels for the layers of small convolutional networks (the MNIST
//! kind): a 2-D convolution (direct loops for few channels, matrix products
//! over an im2col matrix for many: [`ConvPath`]), a max-pool, the two fused,
//! and the softmax cross-entropy loss, forward and backward, as Burn backend
//! extensions; and [`optimizer::FusedAdam`], Adam in one pass per parameter.
//!
//! [`conv2d`], [`max_pool2d`], [`conv2d_max_pool2d`] and [`cross_entropy`]
//! take Burn tensors.
//! On burn-flex and burn-ndarray tensors (cargo features `flex`, `ndarray`),
//! with or without autodiff, they run the kernels of this crate; on any other
//! backend they run Burn's own operations, so a model can call them
//! unconditionally. [`serves`] tells which path a tensor takes.
//!
//! The kernels are plain loops over slices in safe Rust (see [`simd`] for how
//! they vectorise), split over the batch with rayon when the batch is big
//! enough (or, while a [`PoolAwake`] keeps a worker spinning, in two halves
//! down to a training step's batch). Their results match Burn's stock operations: the same forward
//! sums in the same order, max-pool ties and NaNs routed as burn-flex routes
//! them; gradients differ from the stock ones only by rounding.

pub mod adam;
mod autodiff;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod backends;
pub mod conv;
pub mod dropout;
pub mod fused;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;
pub mod im2col;
mod images;
pub mod loss;
pub mod norm;
pub mod ops;
pub mod optimizer;
mod phases;
pub mod pool;
pub mod shape;
pub mod simd;

use burn::backend::{DType, Dispatch, DispatchDevice};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::module::{
    avg_pool2d as stock_avg_pool2d, batch_norm_train as stock_batch_norm_train,
    conv2d as stock_conv2d, max_pool2d as stock_max_pool2d,
};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Int, Tensor};

use crate::ops::KernelOps;

pub use images::PoolAwake;

/// Whether the kernels of this crate compute `tensor`'s layers: float32
/// tensors of a backend they are compiled for (burn-flex with the `flex`
/// feature, burn-ndarray with `ndarray`), with or without autodiff.
pub fn serves<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.dtype() == DType::F32 && serves_device(&tensor.device())
}

/// Whether the kernels run on tensors of `device` (see [`serves`]).
pub fn serves_device(device: &Device) -> bool {
    let device = match device.as_dispatch() {
        DispatchDevice::Autodiff(inner) => &**inner,
        device => device,
    };
    #[allow(unreachable_patterns)]
    match device {
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        _ => false,
    }
}

/// Which kernel computes a convolution (see [`ConvPath::choose`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPath {
    /// The direct loops of [`conv`] (and [`fused`] with a max-pool after it):
    /// every tap a multiply-add over an output run, fastest when a filter has
    /// few taps (one input channel), as the notebook's.
    Direct,
    /// Matrix products over a column matrix ([`im2col`]): fastest once a
    /// filter has many taps, and the only kernel for strides above 1.
    Gemm,
    /// Burn's own operation: a backend the kernels do not serve, or a shape
    /// they do not compute (reported by Burn).
    Stock,
}

/// Taps per filter (channels times kernel area) above which the matrix
/// products beat the direct loops, measured on the suite's layers
/// (criterion's `suite` group: the notebook's 9 taps and LeNet's first
/// 5x5 layer's 25 are faster direct, 1.2 ms against 1.9 ms for the latter;
/// LeNet's second layer's 150 and Keras's convnet's 288 by GEMM).
pub const GEMM_MIN_TAPS: usize = 32;

impl ConvPath {
    /// The kernel for a convolution of `channels` inputs with a `kernel`
    /// and `stride`.
    pub fn choose(channels: usize, kernel: [usize; 2], stride: [usize; 2]) -> Self {
        if stride != [1, 1] || channels * kernel[0] * kernel[1] > GEMM_MIN_TAPS {
            Self::Gemm
        } else {
            Self::Direct
        }
    }

    /// As `trainer info` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Gemm => "gemm",
            Self::Stock => "stock",
        }
    }
}

/// A convolution with `stride` and `padding` zeros on each side of the rows
/// and columns: `x` `[batch, channels, rows, cols]`, `weight` `[filters,
/// channels, kernel rows, kernel cols]`, `bias` `[filters]`; computed by the
/// kernel [`ConvPath::choose`] picks.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    let path = chosen(&x, &weight, stride);
    conv2d_on(path, x, weight, bias, stride, padding)
}

/// [`conv2d`] by the kernel `path` (the direct one for strides of 1 only:
/// else the GEMM one), or by Burn's where the kernels cannot compute it.
pub fn conv2d_on(
    path: ConvPath,
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    match resolve(path, &x, &weight, &bias, stride, padding) {
        ConvPath::Direct => Tensor::from_dispatch(<Dispatch as KernelOps>::kernel_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            padding,
        )),
        ConvPath::Gemm => Tensor::from_dispatch(<Dispatch as KernelOps>::kernel_conv2d_gemm(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            stride,
            padding,
        )),
        ConvPath::Stock => stock_conv2d(
            x,
            weight,
            Some(bias),
            ConvOptions::new(stride, padding, [1, 1], 1),
        ),
    }
}

/// A max-pool whose stride is its `window`; rows and columns that do not fill
/// a window are dropped (floor mode).
pub fn max_pool2d(x: Tensor<4>, window: [usize; 2]) -> Tensor<4> {
    let [_, _, rows, cols] = x.dims();
    if !(serves(&x) && window_fits(window, [rows, cols])) {
        return stock_max_pool2d(x, MaxPoolOptions::new(window).with_stride(window));
    }
    Tensor::from_dispatch(<Dispatch as KernelOps>::kernel_max_pool2d(
        x.into_dispatch(),
        window,
    ))
}

/// Batch normalisation of `x` (`[batch, channels, ...]`) with the batch's
/// own statistics, as Burn's `batch_norm_train`: the output, and each
/// channel's mean and biased variance (for the layer's running statistics).
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    if !serves(&x) {
        let result = stock_batch_norm_train(x, gamma, beta, epsilon);
        return (result.output, result.mean, result.variance);
    }
    let (out, mean, variance) = <Dispatch as KernelOps>::kernel_batch_norm_train(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    );
    (
        Tensor::from_dispatch(out),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
}

/// An average pool of `window` moved by `stride`; rows and columns that do
/// not fill a window are dropped (floor mode, no padding).
pub fn avg_pool2d(x: Tensor<4>, window: [usize; 2], stride: [usize; 2]) -> Tensor<4> {
    let [_, _, rows, cols] = x.dims();
    if !(serves(&x) && window_fits(window, [rows, cols]) && stride[0] > 0 && stride[1] > 0) {
        return stock_avg_pool2d(x, AvgPoolOptions::new(window).with_stride(stride));
    }
    Tensor::from_dispatch(<Dispatch as KernelOps>::kernel_avg_pool2d(
        x.into_dispatch(),
        window,
        stride,
    ))
}

/// `max_pool2d(conv2d(x, weight, bias, stride, padding), window)`: the pool
/// fused into the convolution's pass by either kernel (see
/// [`conv2d_max_pool2d_on`]).
pub fn conv2d_max_pool2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
    padding: [usize; 2],
    window: [usize; 2],
) -> Tensor<4> {
    let path = chosen(&x, &weight, stride);
    conv2d_max_pool2d_on(path, x, weight, bias, stride, padding, window)
}

/// [`conv2d_max_pool2d`] with the convolution by the kernel `path` (see
/// [`conv2d_on`]): the direct kernel pools each filter's output as it
/// computes it, the GEMM one each chunk's product as it becomes NCHW; either
/// way the convolution's whole output is never written. A window that does
/// not fit the convolution's output goes to Burn's pool, which reports it.
pub fn conv2d_max_pool2d_on(
    path: ConvPath,
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: [usize; 2],
    padding: [usize; 2],
    window: [usize; 2],
) -> Tensor<4> {
    let path = resolve(path, &x, &weight, &bias, stride, padding);
    let fits = path != ConvPath::Stock && {
        let [_, _, rows, cols] = x.dims();
        let [_, _, kernel_rows, kernel_cols] = weight.dims();
        let output = [
            (rows + 2 * padding[0] - kernel_rows) / stride[0] + 1,
            (cols + 2 * padding[1] - kernel_cols) / stride[1] + 1,
        ];
        window_fits(window, output)
    };
    if !fits {
        return max_pool2d(conv2d_on(path, x, weight, bias, stride, padding), window);
    }
    let (x, weight, bias) = (
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    Tensor::from_dispatch(match path {
        ConvPath::Direct => {
            <Dispatch as KernelOps>::kernel_conv2d_max_pool2d(x, weight, bias, padding, window)
        }
        _ => <Dispatch as KernelOps>::kernel_conv2d_gemm_max_pool2d(
            x, weight, bias, stride, padding, window,
        ),
    })
}

/// The mean softmax cross-entropy of `logits` `[batch, classes]` against
/// class indices `targets` `[batch]`: Burn's `CrossEntropyLoss` on logits,
/// except that its gradient flushes values below [`loss::TINY`] to zero
/// (see [`loss`] for why).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    if !(logits.dtype() == DType::F32 && serves_device(&logits.device())) {
        let device = logits.device();
        return CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, targets);
    }
    Tensor::from_dispatch(<Dispatch as KernelOps>::kernel_cross_entropy(
        logits.into_dispatch(),
        targets.into_dispatch(),
    ))
}

/// [`ConvPath::choose`] for these operands.
fn chosen(x: &Tensor<4>, weight: &Tensor<4>, stride: [usize; 2]) -> ConvPath {
    let [_, channels, _, _] = x.dims();
    let [_, _, rows, cols] = weight.dims();
    ConvPath::choose(channels, [rows, cols], stride)
}

/// The kernel that computes this convolution: `path` when the kernels serve
/// the tensors and the operands describe a convolution that kernel takes;
/// anything else goes to Burn's operation, which reports it.
fn resolve(
    path: ConvPath,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> ConvPath {
    let [batch, channels, rows, cols] = x.dims();
    let [filters, weight_channels, kernel_rows, kernel_cols] = weight.dims();
    let valid = channels == weight_channels
        && bias.dims() == [filters]
        && shape::ConvShape {
            batch,
            channels,
            height: rows,
            width: cols,
            filters,
            kernel: [kernel_rows, kernel_cols],
            padding,
            stride,
        }
        .is_valid();
    match path {
        _ if !(valid && serves(x)) => ConvPath::Stock,
        ConvPath::Direct if stride != [1, 1] => ConvPath::Gemm,
        path => path,
    }
}

fn window_fits(window: [usize; 2], [rows, cols]: [usize; 2]) -> bool {
    window[0] > 0 && window[1] > 0 && window[0] <= rows && window[1] <= cols
}
