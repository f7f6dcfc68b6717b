//! Which Burn backend runs the experiment: chosen by config or `--backend`
//! among those compiled in with cargo features.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// A backend as named in configs and on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The most capable backend compiled in.
    #[default]
    Auto,
    /// burn-ndarray, pure Rust on the CPU (cargo feature `ndarray`, the default).
    Ndarray,
    /// burn-flex, Burn's recommended pure-Rust CPU backend (cargo feature `flex`).
    Flex,
}

impl BackendChoice {
    /// Every concrete backend, most preferred first (what `auto` walks).
    const PREFERENCE: [Self; 2] = [Self::Flex, Self::Ndarray];

    /// The name used in configs, logs and `history.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
        }
    }

    /// The cargo feature of `trainer` that compiles this backend in.
    fn feature(self) -> &'static str {
        self.name()
    }

    /// The device of this backend, if it was compiled in.
    fn device(self) -> Option<Device> {
        match self {
            Self::Auto => None,
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // burn 0.22 deprecates ndarray; our users still ask for it
            Self::Ndarray => Some(Device::ndarray()),
            #[cfg(feature = "flex")]
            Self::Flex => Some(Device::flex()),
            #[allow(unreachable_patterns)] // reached when the backend's feature is off
            _ => None,
        }
    }
}

/// The backend and device a run actually uses.
#[derive(Debug, Clone)]
pub struct SelectedBackend {
    /// The concrete backend.
    pub backend: BackendChoice,
    /// Its device (without autodiff).
    pub device: Device,
}

impl SelectedBackend {
    /// Resolves `choice` to a compiled-in backend and its device.
    pub fn select(choice: BackendChoice) -> Result<Self, BackendError> {
        let candidates: &[BackendChoice] = match choice {
            BackendChoice::Auto => &BackendChoice::PREFERENCE,
            _ => std::slice::from_ref(&choice),
        };
        candidates
            .iter()
            .find_map(|&backend| backend.device().map(|device| Self { backend, device }))
            .ok_or(match choice {
                BackendChoice::Auto => BackendError::NoneCompiled,
                _ => BackendError::NotCompiled {
                    backend: choice.name(),
                    feature: choice.feature(),
                },
            })
    }

    /// A short description of the device, for logs and `history.json`.
    pub fn device_name(&self) -> String {
        format!("{:?}", self.device)
    }
}

/// Why no backend could be selected.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The asked-for backend is not in this build.
    #[error(
        "backend `{backend}` is not compiled in: rebuild with `--features {feature}` (e.g. `cargo run --release -p trainer --features {feature}`)"
    )]
    NotCompiled {
        /// The backend.
        backend: &'static str,
        /// The feature to enable.
        feature: &'static str,
    },
    /// The build has no backend at all.
    #[error("no backend is compiled in: build with one of the features ndarray, flex")]
    NoneCompiled,
}
