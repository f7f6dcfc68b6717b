//! The backends this test build holds: ndarray always (a dev-dependency), and
//! each backend whose cargo feature is on (`trainer`'s features of the same
//! names turn them on in workspace builds).

#![allow(dead_code)] // each test file uses its own part of this module

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::{Device, Tensor};
use model::KerasNet;

/// Every backend of this build, by name, with its device; ndarray first.
pub fn backends() -> Vec<(&'static str, Device)> {
    // Burn 0.22 deprecates ndarray and libtorch; we keep both.
    #[allow(deprecated, unused_mut)]
    let mut backends = vec![("ndarray", Device::ndarray())];
    #[cfg(feature = "flex")]
    backends.push(("flex", Device::flex()));
    #[cfg(feature = "wgpu")]
    backends.push((
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    ));
    #[cfg(feature = "tch")]
    #[allow(deprecated)]
    backends.push(("tch", Device::libtorch()));
    #[cfg(feature = "cuda")]
    backends.push(("cuda", Device::cuda(0)));
    backends
}

/// Runs one test body per backend of the build (candle's `test_device!`
/// pattern): `backend_tests!(body)` makes `body::ndarray`, and `body::flex`,
/// `body::wgpu`, `body::tch`, `body::cuda` where those features are on. The
/// body is a function taking `&Device`.
#[macro_export]
macro_rules! backend_tests {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            $crate::backend_tests!(@one $body, ndarray, all());
            $crate::backend_tests!(@one $body, flex, feature = "flex");
            $crate::backend_tests!(@one $body, wgpu, feature = "wgpu");
            $crate::backend_tests!(@one $body, tch, feature = "tch");
            $crate::backend_tests!(@one $body, cuda, feature = "cuda");
        }
    )*};
    (@one $body:ident, $backend:ident, $($cfg:tt)*) => {
        #[cfg($($cfg)*)]
        #[test]
        fn $backend() {
            let (_, device) = $crate::common::backends()
                .into_iter()
                .find(|(name, _)| *name == stringify!($backend))
                .expect("the backend is compiled in");
            super::$body(&device);
        }
    };
}

/// Every parameter of `net`, flattened in visiting order (conv weight, conv
/// bias, dense weight, dense bias).
pub fn parameters(net: &KerasNet) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().convert::<f32>();
            self.0
                .extend(values.try_to_vec::<f32>().expect("float32 values"));
        }
    }
    let mut collect = Collect(Vec::new());
    net.visit(&mut collect);
    collect.0
}
