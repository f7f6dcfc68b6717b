//! The kernels against Burn's stock operations on the same backend, on random
//! shapes: forward outputs and every gradient (input, weights, bias).
//!
//! Two kinds of values:
//! - **Exact**: multiples of 1/4 in [-2, 2]. Every product is a multiple of
//!   1/16 and no sum here exceeds 2^19 in magnitude (at most 64 images of
//!   34x34 positions of products up to 4), so all 23 bits it needs fit in
//!   float32's 24: each sum is exact in any order, and the kernels must
//!   equal the stock operations bit for bit. These values are full of ties
//!   (a window of equal maxima), which checks that ties are routed as the
//!   stock max-pool routes them.
//! - **Continuous**: uniform floats in [-1, 1), where the kernels and the
//!   stock operations sum in different orders; see [`TOLERANCE`].

use burn::prelude::*;
use burn::tensor::module::{
    avg_pool2d as stock_avg_pool2d, batch_norm_train as stock_batch_norm_train,
    conv2d as stock_conv2d, max_pool2d as stock_max_pool2d,
};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{DType, Distribution, TensorData};
use kernels::ConvPath;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Tolerance for continuous values, relative to the sum of the magnitudes of
/// the terms each value adds up (which the tests compute by running the stock
/// operations on absolute values). Summing n float32 terms in another order
/// moves the result by about sqrt(n) * 6e-8 of that sum (half an ulp per
/// addition, the errors a random walk); the longest sums here, weight and
/// bias gradients over up to 16 images of 34x34 positions (n = 18,496), give
/// 8e-6. A result with cancelling terms can be small while its terms are
/// not, so a tolerance relative to the result itself would be too tight.
const TOLERANCE: f32 = 1e-5;

/// The backends the kernels serve in this build.
fn devices() -> Vec<(&'static str, Device)> {
    #[allow(deprecated)]
    let devices = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    devices
}

/// A convolution followed by a max-pool: the layers under test.
#[derive(Debug, Clone)]
struct Case {
    batch: usize,
    channels: usize,
    filters: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    padding: [usize; 2],
    /// Steps between windows: 1 on the direct path, which takes no other.
    stride: [usize; 2],
    window: [usize; 2],
    /// The kernel under test.
    path: ConvPath,
    exact: bool,
    seed: u64,
    /// Draw the absolute values of the operands: each output or gradient is
    /// then the sum of the magnitudes of its terms.
    absolute: bool,
}

fn cases(max_batch: usize) -> impl Strategy<Value = Case> {
    shaped_cases(max_batch, 1..=4, 1..=16)
}

/// Cases of up to `max_batch` images, `channels` and `filters`, on either
/// path (strides up to 3 on the GEMM one).
fn shaped_cases(
    max_batch: usize,
    channels: std::ops::RangeInclusive<usize>,
    filters: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Case> {
    let paths = prop_oneof![Just(ConvPath::Direct), Just(ConvPath::Gemm)];
    (
        1..=max_batch,
        channels,
        filters,
        [1usize..=5, 1usize..=5],
        [0usize..=2, 0usize..=2],
        [1usize..=4, 1usize..=4],
        (paths, [1usize..=3, 1usize..=3]),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_flat_map(
            |(batch, channels, filters, kernel, padding, window, (path, stride), exact, seed)| {
                let stride = if path == ConvPath::Direct {
                    [1, 1]
                } else {
                    stride
                };
                // Any size where the kernel fits and the pooling window fits its output,
                // odd sizes included.
                let size = [0, 1].map(|i| {
                    let least = (kernel[i] + (window[i] - 1) * stride[i])
                        .saturating_sub(2 * padding[i])
                        .max(1);
                    least..=30usize
                });
                (
                    size,
                    Just(Case {
                        batch,
                        channels,
                        filters,
                        size: [0, 0],
                        kernel,
                        padding,
                        stride,
                        window,
                        path,
                        exact,
                        seed,
                        absolute: false,
                    }),
                )
            },
        )
        .prop_map(|(size, case)| Case { size, ..case })
}

/// Random values of `shape` on `device`, exact (multiples of 1/4) or
/// continuous; their absolute values when the case is `absolute`.
fn values<const D: usize>(case: &Case, shape: [usize; D], salt: u64, device: &Device) -> Tensor<D> {
    let data = random_data(case.exact, case.seed ^ salt, shape);
    let values = Tensor::from_data(data, device);
    if case.absolute { values.abs() } else { values }
}

fn random_data<const D: usize>(exact: bool, seed: u64, shape: [usize; D]) -> TensorData {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let count: usize = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| {
            if exact {
                f32::from(rng.random_range(-8i8..=8)) / 4.0
            } else {
                rng.random_range(-1.0f32..1.0)
            }
        })
        .collect();
    TensorData::new(values, shape)
}

/// Outputs and gradients of one way of computing the layers.
struct Computed {
    output: Vec<f32>,
    x: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// Runs `layers` on the case's operands on `device`, tracked, and takes the
/// gradients of `Σ output * r` for random `r` (so every output's gradient differs).
fn compute(
    case: &Case,
    device: &Device,
    layers: impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>,
) -> Computed {
    let device = device.clone().autodiff();
    let x = values(
        case,
        [case.batch, case.channels, case.size[0], case.size[1]],
        1,
        &device,
    )
    .require_grad();
    let weight = values(
        case,
        [case.filters, case.channels, case.kernel[0], case.kernel[1]],
        2,
        &device,
    )
    .require_grad();
    let bias = values(case, [case.filters], 3, &device).require_grad();
    let output = layers(x.clone(), weight.clone(), bias.clone());
    let r = values(case, output.dims(), 4, &device);
    let grads = (output.clone() * r).sum().backward();
    Computed {
        output: read(output),
        x: read(x.grad(&grads).expect("x is tracked")),
        weight: read(weight.grad(&grads).expect("weight is tracked")),
        bias: read(bias.grad(&grads).expect("bias is tracked")),
    }
}

fn read<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("float32 values")
}

/// Where `actual` and `expected` differ by more than allowed: nothing for
/// exact values, [`TOLERANCE`] times each value's `magnitude` otherwise.
fn compare(
    what: &str,
    actual: &[f32],
    expected: &[f32],
    magnitude: Option<&[f32]>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(actual.len(), expected.len(), "{} lengths", what);
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let allowed = magnitude.map_or(0.0, |m| TOLERANCE * m[i]);
        prop_assert!(
            (a - e).abs() <= allowed,
            "{}[{}]: kernel {} vs stock {} (allowed {})",
            what,
            i,
            a,
            e,
            allowed
        );
    }
    Ok(())
}

/// Compares every output and gradient; `magnitude` for continuous values.
fn compare_all(
    kernel: &Computed,
    stock: &Computed,
    magnitude: Option<&Computed>,
) -> Result<(), TestCaseError> {
    compare(
        "output",
        &kernel.output,
        &stock.output,
        magnitude.map(|m| &m.output[..]),
    )?;
    compare(
        "x gradient",
        &kernel.x,
        &stock.x,
        magnitude.map(|m| &m.x[..]),
    )?;
    compare(
        "weight gradient",
        &kernel.weight,
        &stock.weight,
        magnitude.map(|m| &m.weight[..]),
    )?;
    compare(
        "bias gradient",
        &kernel.bias,
        &stock.bias,
        magnitude.map(|m| &m.bias[..]),
    )
}

/// For continuous values, an upper bound of the sum of the magnitudes of the
/// terms of each output and gradient of the convolution followed by a
/// max-pool of `window`: the stock convolution on absolute values, each of
/// its outputs given the gradient of the pooled output it may reach.
fn magnitudes(case: &Case, device: &Device) -> Option<Computed> {
    if case.exact {
        return None;
    }
    let case = Case {
        absolute: true,
        ..case.clone()
    };
    let window = case.window;
    Some(compute(&case, device, |x, w, b| {
        // The sum of each window, which is at least its maximum and passes the
        // pooled output's gradient on to every element of the window.
        let area = (window[0] * window[1]) as f32;
        stock_avg_pool2d(
            stock_conv(&case)(x, w, b),
            AvgPoolOptions::new(window).with_stride(window),
        ) * area
    }))
}

fn stock_conv(case: &Case) -> impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4> {
    let (padding, stride) = (case.padding, case.stride);
    move |x, w, b| stock_conv2d(x, w, Some(b), ConvOptions::new(stride, padding, [1, 1], 1))
}

fn stock_pool(window: [usize; 2], x: Tensor<4>) -> Tensor<4> {
    stock_max_pool2d(x, MaxPoolOptions::new(window).with_stride(window))
}

/// Runs `check` on `count` generated cases on every backend.
fn check_cases(
    count: u32,
    max_batch: usize,
    check: impl Fn(&Case, &Device) -> Result<(), TestCaseError>,
) {
    for (name, device) in devices() {
        assert!(kernels::serves_device(&device), "{name} is served");
        let mut runner = TestRunner::new(Config::with_cases(count));
        runner
            .run(&cases(max_batch), |case| check(&case, &device))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

/// Whether the stock convolution on `device` sums in the kernel's order:
/// burn-flex's direct convolution sums as the direct kernel does, except for
/// 1x1 kernels of several channels, which it computes as a matrix product.
/// The GEMM kernel's products sum in blocks of their own (with fused
/// multiply-adds): never in the stock order.
fn sums_like_the_kernel(case: &Case, device: &Device) -> bool {
    matches!(device.as_dispatch(), burn::backend::DispatchDevice::Flex(_))
        && case.path == ConvPath::Direct
        && (case.kernel != [1, 1] || case.channels == 1)
}

/// A fused case as `check_cases` draws it, made exact where the stock
/// convolution sums in another order than the kernel: on continuous values
/// two nearly equal maxima of a window could swap there, and the gradient
/// would rightly go elsewhere. Where the sums agree the forward pass is
/// bit-identical (`on_flex_the_forward_pass_is_bit_identical`), so ties can
/// not swap.
fn fused_case(case: &Case, device: &Device) -> Case {
    Case {
        exact: case.exact || !sums_like_the_kernel(case, device),
        ..case.clone()
    }
}

/// The fused layers by the kernel and by the stock operations.
fn check_fused(case: &Case, device: &Device) -> Result<(), TestCaseError> {
    let case = fused_case(case, device);
    let kernel = compute(&case, device, |x, w, b| {
        kernels::conv2d_max_pool2d_on(case.path, x, w, b, case.stride, case.padding, case.window)
    });
    let conv = stock_conv(&case);
    let stock = compute(&case, device, |x, w, b| {
        stock_pool(case.window, conv(x, w, b))
    });
    compare_all(&kernel, &stock, magnitudes(&case, device).as_ref())
}

#[test]
fn the_convolution_matches_the_stock_one() {
    check_cases(40, 16, |case, device| {
        let kernel = compute(case, device, |x, w, b| {
            kernels::conv2d_on(case.path, x, w, b, case.stride, case.padding)
        });
        let stock = compute(case, device, stock_conv(case));
        let conv_only = Case {
            window: [1, 1],
            ..case.clone()
        };
        compare_all(&kernel, &stock, magnitudes(&conv_only, device).as_ref())
    });
}

#[test]
fn the_max_pool_matches_the_stock_one() {
    check_cases(40, 16, |case, device| {
        let conv = stock_conv(case);
        let kernel = compute(case, device, |x, w, b| {
            kernels::max_pool2d(conv(x, w, b), case.window)
        });
        let stock = compute(case, device, |x, w, b| {
            stock_pool(case.window, conv(x, w, b))
        });
        compare_all(&kernel, &stock, magnitudes(case, device).as_ref())
    });
}

#[test]
fn the_fused_convolution_and_pool_match_the_stock_ones() {
    check_cases(40, 16, check_fused);
}

/// An average pool's input and geometry: `[batch, channels, rows, cols]`,
/// window, stride (each up to 7, the layer list's range, and the window
/// within the input).
fn avg_pool_cases() -> impl Strategy<Value = ([usize; 4], [usize; 2], [usize; 2], u64)> {
    (
        (1..=6usize, 1..=4usize, 1..=30usize, 1..=30usize),
        (1..=7usize, 1..=7usize, 1..=7usize, 1..=7usize),
        any::<u64>(),
    )
        .prop_filter(
            "the window fits",
            |((_, _, rows, cols), (window_rows, window_cols, _, _), _)| {
                window_rows <= rows && window_cols <= cols
            },
        )
        .prop_map(|((b, c, rows, cols), (wr, wc, sr, sc), seed)| {
            ([b, c, rows, cols], [wr, wc], [sr, sc], seed)
        })
}

/// The output of `pool` on random values of `shape` and the gradient of
/// `Σ output * r` for random `r`; on their absolute values when `absolute`
/// (each output and gradient is then the sum of the magnitudes of its terms).
fn pooled_and_grad(
    shape: [usize; 4],
    seed: u64,
    absolute: bool,
    device: &Device,
    pool: impl Fn(Tensor<4>) -> Tensor<4>,
) -> (Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let take = |data| {
        let values = Tensor::from_data(data, &device);
        if absolute { values.abs() } else { values }
    };
    let x = take(random_data(false, seed, shape)).require_grad();
    let output = pool(x.clone());
    let r = take(random_data(false, seed ^ 4, output.dims()));
    let grads = (output.clone() * r).sum().backward();
    (read(output), read(x.grad(&grads).expect("x is tracked")))
}

/// Any window and stride, overlapping windows included: the output and the
/// input's gradient within [`TOLERANCE`] of the stock ones.
#[test]
fn the_average_pool_matches_the_stock_one() {
    for (name, device) in devices() {
        let mut runner = TestRunner::new(Config::with_cases(60));
        runner
            .run(&avg_pool_cases(), |(shape, window, stride, seed)| {
                let stock =
                    |x| stock_avg_pool2d(x, AvgPoolOptions::new(window).with_stride(stride));
                let kernel = |x| kernels::avg_pool2d(x, window, stride);
                let (out, dx) = pooled_and_grad(shape, seed, false, &device, kernel);
                let (stock_out, stock_dx) = pooled_and_grad(shape, seed, false, &device, stock);
                let (out_size, dx_size) = pooled_and_grad(shape, seed, true, &device, stock);
                compare("output", &out, &stock_out, Some(&out_size))?;
                compare("x gradient", &dx, &stock_dx, Some(&dx_size))
            })
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

/// Batch norm's output, mean, variance and the gradients of `x`, `gamma`
/// and `beta` (of `Σ output * r`), computed by `norm` on random operands:
/// `x` of `shape`, `[batch, channels, rows, cols]`.
fn normalized(
    shape: [usize; 4],
    seed: u64,
    device: &Device,
    norm: impl Fn(Tensor<4>, Tensor<1>, Tensor<1>) -> (Tensor<4>, Tensor<1>, Tensor<1>),
) -> [Vec<f32>; 6] {
    let device = device.clone().autodiff();
    let channel_values =
        |seed| Tensor::<1>::from_data(random_data(false, seed, [shape[1]]), &device);
    let x = Tensor::<4>::from_data(random_data(false, seed, shape), &device).require_grad();
    let gamma = channel_values(seed ^ 2).require_grad();
    let beta = channel_values(seed ^ 3).require_grad();
    let (output, mean, variance) = norm(x.clone(), gamma.clone(), beta.clone());
    let r = Tensor::<4>::from_data(random_data(false, seed ^ 4, shape), &device);
    let grads = (output.clone() * r).sum().backward();
    [
        read(output),
        read(mean),
        read(variance),
        read(x.grad(&grads).expect("x is tracked")),
        read(gamma.grad(&grads).expect("gamma is tracked")),
        read(beta.grad(&grads).expect("beta is tracked")),
    ]
}

/// Batch norm with the batch's statistics, forward and every gradient,
/// against Burn's `batch_norm_train` on random shapes (at least two values
/// per channel). Its sums are over at most 8 x 100 values per channel;
/// summed in other orders they move by about sqrt(800) * 6e-8 = 2e-6 of
/// their magnitudes (values in [-1, 1)), and dividing by the standard
/// deviation (at least sqrt(epsilon) = 0.03) scales an absolute error by
/// its inverse: `2e-5 * (1 + |value|) / std` bounds it with a margin.
#[test]
fn the_batch_norm_matches_the_stock_one() {
    const EPSILON: f64 = 1e-3;
    let shapes = (
        1..=8usize,
        1..=6usize,
        1..=10usize,
        1..=10usize,
        any::<u64>(),
    )
        .prop_filter("two values per channel", |(b, _, r, c, _)| b * r * c >= 2);
    for (name, device) in devices() {
        let mut runner = TestRunner::new(Config::with_cases(60));
        runner
            .run(&shapes, |(batch, channels, rows, cols, seed)| {
                let shape = [batch, channels, rows, cols];
                let kernel = normalized(shape, seed, &device, |x, g, b| {
                    kernels::batch_norm_train(x, g, b, EPSILON)
                });
                let stock = normalized(shape, seed, &device, |x, g, b| {
                    let result = stock_batch_norm_train(x, g, b, EPSILON);
                    (result.output, result.mean, result.variance)
                });
                let smallest_std = stock[2]
                    .iter()
                    .map(|v| (v + EPSILON as f32).sqrt())
                    .fold(f32::INFINITY, f32::min);
                let names = [
                    "output",
                    "mean",
                    "variance",
                    "x gradient",
                    "gamma gradient",
                    "beta gradient",
                ];
                for ((what, actual), expected) in names.iter().zip(&kernel).zip(&stock) {
                    let allowed: Vec<f32> = expected
                        .iter()
                        .map(|e| (1.0 + e.abs()) / smallest_std / TOLERANCE * 2e-5)
                        .collect();
                    compare(what, actual, expected, Some(&allowed))?;
                }
                Ok(())
            })
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

/// Batches up to 64, as large as the notebook's and beyond: fewer cases.
#[test]
fn large_batches_match_the_stock_ones() {
    check_cases(6, 64, check_fused);
}

/// Many channels and filters, the GEMM kernel's ground (Keras's convnet has
/// 32 in, 64 out), on either path: fewer, smaller images.
#[test]
fn many_channels_match_the_stock_ones() {
    for (name, device) in devices() {
        let mut runner = TestRunner::new(Config::with_cases(12));
        runner
            .run(&shaped_cases(4, 1..=48, 1..=48), |case| {
                check_fused(&case, &device)
            })
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

/// The layer list's extremes: 512 channels in and out, a 7x7 kernel,
/// `same` padding; one image, exact values (every sum is exact).
#[test]
fn the_largest_layers_match_the_stock_ones() {
    for (name, device) in devices() {
        for (channels, filters, kernel) in [(512, 3, 7), (2, 512, 7), (512, 512, 1)] {
            let case = Case {
                batch: 1,
                channels,
                filters,
                size: [9, 9],
                kernel: [kernel; 2],
                padding: [kernel / 2; 2],
                stride: [1, 1],
                window: [2, 2],
                path: ConvPath::Gemm,
                exact: true,
                seed: 5,
                absolute: false,
            };
            check_fused(&case, &device).unwrap_or_else(|err| panic!("{name} {case:?}: {err}"));
        }
    }
}

/// The path each shape takes: direct for the notebook's one-channel
/// convolution, GEMM for many taps and for strides.
#[test]
fn the_path_follows_the_shape() {
    assert_eq!(ConvPath::choose(1, [3, 3], [1, 1]), ConvPath::Direct);
    assert_eq!(ConvPath::choose(32, [3, 3], [1, 1]), ConvPath::Gemm);
    assert_eq!(ConvPath::choose(1, [3, 3], [2, 2]), ConvPath::Gemm);
    assert_eq!(ConvPath::choose(1, [5, 5], [1, 1]), ConvPath::Direct);
    assert_eq!(ConvPath::choose(6, [5, 5], [1, 1]), ConvPath::Gemm);
}

/// On flex the forward pass sums in the stock convolution's order, so even
/// continuous values give bit-identical outputs (what keeps ties routed the
/// same on real data), but for 1x1 kernels of several channels.
#[test]
fn on_flex_the_forward_pass_is_bit_identical() {
    let device = Device::flex();
    let mut runner = TestRunner::new(Config::with_cases(40));
    runner
        .run(&cases(16), |case| {
            let case = Case {
                exact: false,
                path: ConvPath::Direct,
                stride: [1, 1],
                ..case
            };
            if !sums_like_the_kernel(&case, &device) {
                return Ok(());
            }
            let x = values(
                &case,
                [case.batch, case.channels, case.size[0], case.size[1]],
                1,
                &device,
            );
            let w = values(
                &case,
                [case.filters, case.channels, case.kernel[0], case.kernel[1]],
                2,
                &device,
            );
            let b = values(&case, [case.filters], 3, &device);
            let kernel = read(kernels::conv2d_on(
                ConvPath::Direct,
                x.clone(),
                w.clone(),
                b.clone(),
                case.stride,
                case.padding,
            ));
            let stock = read(stock_conv(&case)(x, w, b));
            compare("output", &kernel, &stock, None)
        })
        .unwrap();
}

/// An input that needs no gradient (the network's images) gets none, and
/// the others still do.
#[test]
fn an_untracked_input_gets_no_gradient() {
    for (_, device) in devices() {
        let device = device.autodiff();
        let case = Case {
            batch: 2,
            channels: 1,
            filters: 3,
            size: [8, 8],
            kernel: [3, 3],
            padding: [0, 0],
            stride: [1, 1],
            window: [2, 2],
            path: ConvPath::Direct,
            exact: true,
            seed: 9,
            absolute: false,
        };
        let x = values(&case, [2, 1, 8, 8], 1, &device);
        let w = values(&case, [3, 1, 3, 3], 2, &device).require_grad();
        let b = values(&case, [3], 3, &device).require_grad();
        for path in [ConvPath::Direct, ConvPath::Gemm] {
            let grads = kernels::conv2d_max_pool2d_on(
                path,
                x.clone(),
                w.clone(),
                b.clone(),
                [1, 1],
                [0, 0],
                [2, 2],
            )
            .sum()
            .backward();
            assert!(x.grad(&grads).is_none(), "{path:?}");
            assert!(w.grad(&grads).is_some() && b.grad(&grads).is_some());
        }
    }
}

/// NaN propagates as on flex: a window holding a NaN pools to NaN, and its
/// gradient goes to the NaN.
#[test]
fn nan_wins_its_window_as_on_flex() {
    let device = Device::flex().autodiff();
    let data = TensorData::new(
        vec![1.0, f32::NAN, 3.0, 2.0, 5.0, 4.0, 0.0, 6.0],
        [1, 1, 2, 4],
    );
    // The pool alone, and after a 1x1 convolution by ones (the identity) on
    // the GEMM path, which pools in the products' epilogue.
    let identity = || {
        (
            Tensor::<4>::ones([1, 1, 1, 1], &device),
            Tensor::<1>::zeros([1], &device),
        )
    };
    let pools: [(&str, &dyn Fn(Tensor<4>) -> Tensor<4>); 2] = [
        ("max-pool", &|x| kernels::max_pool2d(x, [2, 2])),
        ("gemm + max-pool", &|x| {
            let (w, b) = identity();
            kernels::conv2d_max_pool2d_on(ConvPath::Gemm, x, w, b, [1, 1], [0, 0], [2, 2])
        }),
    ];
    for (name, pool) in pools {
        let x = Tensor::<4>::from_data(data.clone(), &device).require_grad();
        let pooled = pool(x.clone());
        let stock = stock_pool([2, 2], x.clone());
        let (kernel_out, stock_out) = (read(pooled.clone()), read(stock.clone()));
        assert!(kernel_out[0].is_nan() && stock_out[0].is_nan(), "{name}");
        assert_eq!(kernel_out[1], stock_out[1], "{name}");
        let kernel_grad = read(x.grad(&pooled.sum().backward()).unwrap());
        let stock_grad = read(x.grad(&stock.sum().backward()).unwrap());
        assert_eq!(kernel_grad, stock_grad, "{name}");
    }
}

/// Other backends, and other float types, take Burn's own operations.
#[test]
fn unserved_tensors_take_the_stock_operations() {
    let device = Device::flex();
    let half = Tensor::<4>::random([1, 1, 4, 4], Distribution::Default, &device).cast(DType::F16);
    assert!(!kernels::serves(&half));
    let pooled = kernels::max_pool2d(half, [2, 2]);
    assert_eq!(pooled.dims(), [1, 1, 2, 2]);
}

/// The loss and its gradient against Burn's `CrossEntropyLoss`, on logits of
/// the notebook's scale (up to hundreds, where softmax underflows) and
/// smaller: equal within float32 rounding, except that gradients below
/// `loss::TINY` are flushed to zero.
#[test]
fn the_cross_entropy_matches_the_stock_one() {
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::tensor::Int;
    for (name, device) in devices() {
        let device = device.autodiff();
        let mut runner = TestRunner::new(Config::with_cases(40));
        runner
            .run(
                &(
                    1usize..=64,
                    2usize..=12,
                    prop_oneof![Just(1.0f32), Just(300.0)],
                    any::<u64>(),
                ),
                |(batch, classes, scale, seed)| {
                    let data = random_data(false, seed, [batch, classes]);
                    let logits = (Tensor::<2>::from_data(data, &device) * scale).require_grad();
                    let targets: Vec<i64> = (0..batch)
                        .map(|i| ((seed as usize + i * 7) % classes) as i64)
                        .collect();
                    let targets =
                        Tensor::<1, Int>::from_data(TensorData::new(targets, [batch]), &device);
                    let loss_of = |loss: Tensor<1>| -> (Vec<f32>, Vec<f32>) {
                        let grads = loss.clone().backward();
                        (
                            read(loss),
                            read(logits.grad(&grads).expect("logits are tracked")),
                        )
                    };
                    let (kernel_loss, kernel_grad) =
                        loss_of(kernels::cross_entropy(logits.clone(), targets.clone()));
                    let (stock_loss, stock_grad) = loss_of(
                        CrossEntropyLossConfig::new()
                            .init(&device)
                            .forward(logits.clone(), targets.clone()),
                    );
                    // The loss of a confidently right row is log-sum-exp minus the
                    // target's logit, two numbers of the logits' scale that nearly
                    // cancel: the stock loss keeps an absolute error of a few ulps
                    // at that scale.
                    let (k, s) = (kernel_loss[0], stock_loss[0]);
                    prop_assert!(
                        (k - s).abs() <= TOLERANCE * s.abs() + 4.0 * scale * f32::EPSILON,
                        "loss: kernel {} vs stock {}",
                        k,
                        s
                    );
                    // Softmax is exp(z - max z): the subtraction rounds to float32's
                    // spacing at the logits' scale, which exp turns into a relative
                    // error of up to scale * 2^-24 per rounding, in both
                    // implementations. A probability near 1 (the target of a
                    // confident row, whose gradient is p - 1) carries the
                    // roundings of the exponential, the sum and the division at
                    // the scale of 1, up to 2 ulps in each implementation: 4 ulps
                    // of 1 (over the batch) as an absolute difference (seen: 1.07
                    // ulps, batch 44, logits of 300); a flushed one, up to `TINY`.
                    let relative = TOLERANCE + 4.0 * scale * f32::EPSILON;
                    let absolute = kernels::loss::TINY + 4.0 * f32::EPSILON / batch as f32;
                    for (&k, &s) in kernel_grad.iter().zip(&stock_grad) {
                        prop_assert!(
                            (k - s).abs() <= relative * s.abs() + absolute,
                            "gradient: kernel {} vs stock {}",
                            k,
                            s
                        );
                        prop_assert!(
                            k == 0.0 || k.abs() >= kernels::loss::TINY,
                            "{} is not flushed",
                            k
                        );
                    }
                    Ok(())
                },
            )
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

/// Five Adam steps of random gradients (on the scale of the notebook's, where
/// nothing underflows) give bit-identical parameters and moments to Burn's Adam.
#[test]
fn fused_adam_steps_like_burns_adam() {
    use burn::optim::{AdamConfig, Optimizer};
    use kernels::optimizer::FusedAdam;
    for (name, device) in devices() {
        let (beta_1, beta_2, epsilon) = (0.9, 0.999, 1e-7);
        let fused = FusedAdam::new(beta_1, beta_2, epsilon);
        let stock = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        let start = Tensor::<2>::from_data(random_data(false, 1, [40, 17]), &device);
        let (mut a, mut b) = (start.clone(), start);
        let (mut state_a, mut state_b) = (None, None);
        for step in 0..5u64 {
            let grad =
                Tensor::<2>::from_data(random_data(false, 10 + step, [40, 17]), &device) * 0.01;
            (a, state_a) = fused.step(1e-3, a, grad.clone(), state_a);
            (b, state_b) = stock.step(1e-3, b, grad, state_b);
        }
        assert_eq!(read(a), read(b), "{name}: parameters");
        let (state_a, state_b) = (state_a.unwrap().momentum, state_b.unwrap().momentum);
        assert_eq!(state_a.time, state_b.time);
        assert_eq!(
            read(state_a.moment_1),
            read(state_b.moment_1),
            "{name}: first moments"
        );
        assert_eq!(
            read(state_a.moment_2),
            read(state_b.moment_2),
            "{name}: second moments"
        );
    }
}
