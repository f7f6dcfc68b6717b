//! [`KernelOps`] and [`KernelGrads`] for the CPU backends whose tensors live
//! in host memory: burn-flex (read in place) and burn-ndarray (read through
//! a copy).

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{DType, Shape};

use crate::adam::AdamStep;
use crate::host::{
    HostBackend, host_adam_step, host_avg_pool2d, host_avg_pool2d_backward, host_batch_norm_train,
    host_batch_norm_train_backward, host_conv2d, host_conv2d_backward, host_conv2d_gemm,
    host_conv2d_gemm_backward, host_conv2d_gemm_max_pool2d, host_conv2d_gemm_max_pool2d_backward,
    host_conv2d_max_pool2d, host_conv2d_max_pool2d_backward, host_cross_entropy,
    host_cross_entropy_backward, host_max_pool2d, host_max_pool2d_backward,
};
use crate::ops::{ConvGrads, KernelGrads, KernelOps, Positions};

/// Implements both traits for a [`HostBackend`] by the host kernels.
macro_rules! host_kernels {
    ($backend:ty) => {
        impl KernelOps for $backend {
            fn kernel_conv2d(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                padding: [usize; 2],
            ) -> FloatTensor<Self> {
                host_conv2d::<Self>(x, weight, bias, padding)
            }

            fn kernel_conv2d_gemm(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                stride: [usize; 2],
                padding: [usize; 2],
            ) -> FloatTensor<Self> {
                host_conv2d_gemm::<Self>(x, weight, bias, stride, padding)
            }

            fn kernel_conv2d_gemm_max_pool2d(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                stride: [usize; 2],
                padding: [usize; 2],
                window: [usize; 2],
            ) -> FloatTensor<Self> {
                let geometry = [stride, padding, window];
                host_conv2d_gemm_max_pool2d::<Self>(x, weight, bias, geometry, false).0
            }

            fn kernel_max_pool2d(x: FloatTensor<Self>, window: [usize; 2]) -> FloatTensor<Self> {
                host_max_pool2d::<Self>(x, window, false).0
            }

            fn kernel_batch_norm_train(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                beta: FloatTensor<Self>,
                epsilon: f64,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
                host_batch_norm_train::<Self>(x, gamma, beta, epsilon)
            }

            fn kernel_avg_pool2d(
                x: FloatTensor<Self>,
                window: [usize; 2],
                stride: [usize; 2],
            ) -> FloatTensor<Self> {
                host_avg_pool2d::<Self>(x, window, stride)
            }

            fn kernel_conv2d_max_pool2d(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                padding: [usize; 2],
                window: [usize; 2],
            ) -> FloatTensor<Self> {
                host_conv2d_max_pool2d::<Self>(x, weight, bias, padding, window, false).0
            }

            fn kernel_cross_entropy(
                logits: FloatTensor<Self>,
                targets: IntTensor<Self>,
            ) -> FloatTensor<Self> {
                host_cross_entropy::<Self>(logits, targets)
            }

            fn kernel_adam_step(
                param: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                moment_1: FloatTensor<Self>,
                moment_2: FloatTensor<Self>,
                step: AdamStep,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
                host_adam_step::<Self>(param, grad, moment_1, moment_2, step)
            }
        }

        impl KernelGrads for $backend {
            fn kernel_max_pool2d_with_positions(
                x: FloatTensor<Self>,
                window: [usize; 2],
            ) -> (FloatTensor<Self>, Positions) {
                let (out, positions) = host_max_pool2d::<Self>(x, window, true);
                (out, positions.expect("positions were asked for"))
            }

            fn kernel_max_pool2d_backward(
                x: Shape,
                grad: FloatTensor<Self>,
                positions: &Positions,
                window: [usize; 2],
            ) -> FloatTensor<Self> {
                host_max_pool2d_backward::<Self>(x, grad, positions, window)
            }

            fn kernel_batch_norm_train_backward(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                variance: FloatTensor<Self>,
                epsilon: f64,
                grad: FloatTensor<Self>,
            ) -> [FloatTensor<Self>; 3] {
                host_batch_norm_train_backward::<Self>(x, gamma, mean, variance, epsilon, grad)
            }

            fn kernel_avg_pool2d_backward(
                x: Shape,
                grad: FloatTensor<Self>,
                window: [usize; 2],
                stride: [usize; 2],
            ) -> FloatTensor<Self> {
                host_avg_pool2d_backward::<Self>(x, grad, window, stride)
            }

            fn kernel_conv2d_backward(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                padding: [usize; 2],
                input_grad: bool,
            ) -> ConvGrads<Self> {
                host_conv2d_backward::<Self>(x, weight, grad, padding, input_grad)
            }

            fn kernel_conv2d_gemm_backward(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                stride: [usize; 2],
                padding: [usize; 2],
                input_grad: bool,
            ) -> ConvGrads<Self> {
                host_conv2d_gemm_backward::<Self>(x, weight, grad, stride, padding, input_grad)
            }

            fn kernel_cross_entropy_backward(
                logits: FloatTensor<Self>,
                targets: IntTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host_cross_entropy_backward::<Self>(logits, targets, grad)
            }

            fn kernel_conv2d_gemm_max_pool2d_with_positions(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                stride: [usize; 2],
                padding: [usize; 2],
                window: [usize; 2],
            ) -> (FloatTensor<Self>, Positions) {
                let geometry = [stride, padding, window];
                let (out, positions) =
                    host_conv2d_gemm_max_pool2d::<Self>(x, weight, bias, geometry, true);
                (out, positions.expect("positions were asked for"))
            }

            fn kernel_conv2d_gemm_max_pool2d_backward(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                positions: &Positions,
                stride: [usize; 2],
                padding: [usize; 2],
                window: [usize; 2],
                input_grad: bool,
            ) -> ConvGrads<Self> {
                let geometry = [stride, padding, window];
                host_conv2d_gemm_max_pool2d_backward::<Self>(
                    x, weight, grad, positions, geometry, input_grad,
                )
            }

            fn kernel_conv2d_max_pool2d_with_positions(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                padding: [usize; 2],
                window: [usize; 2],
            ) -> (FloatTensor<Self>, Positions) {
                let (out, positions) =
                    host_conv2d_max_pool2d::<Self>(x, weight, bias, padding, window, true);
                (out, positions.expect("positions were asked for"))
            }

            fn kernel_conv2d_max_pool2d_backward(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                positions: &Positions,
                padding: [usize; 2],
                window: [usize; 2],
                input_grad: bool,
            ) -> ConvGrads<Self> {
                host_conv2d_max_pool2d_backward::<Self>(
                    x, weight, grad, positions, padding, window, input_grad,
                )
            }
        }
    };
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;

    use super::*;

    /// A contiguous Flex tensor, read in place.
    pub struct FlexValues(FlexTensor);

    impl AsRef<[f32]> for FlexValues {
        fn as_ref(&self) -> &[f32] {
            self.0
                .as_slice::<f32>()
                .expect("a contiguous float32 tensor")
        }
    }

    impl HostBackend for Flex {
        type Values = FlexValues;

        fn values(tensor: FloatTensor<Self>) -> FlexValues {
            assert_eq!(tensor.dtype(), DType::F32, "kernels take float32");
            FlexValues(tensor.to_contiguous())
        }
    }

    host_kernels!(Flex);
}

// Burn 0.22 deprecates burn-ndarray; our users still train on it.
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
mod ndarray {
    use burn::backend::NdArray;
    use burn::backend::ops::FloatTensorOps;

    use super::*;

    impl HostBackend for NdArray {
        type Values = Vec<f32>;

        fn values(tensor: FloatTensor<Self>) -> Vec<f32> {
            let data = burn::backend::read_sync(Self::float_into_data(tensor))
                .expect("ndarray reads synchronously");
            assert_eq!(data.dtype(), DType::F32, "kernels take float32");
            data.into_vec::<f32>().expect("float32 values")
        }
    }

    host_kernels!(NdArray);
}
