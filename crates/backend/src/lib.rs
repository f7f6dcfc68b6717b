//! Which Burn backend and device run the experiment: chosen by config
//! (`backend`, `device`) or `--backend` / `--device` among the backends
//! compiled in with cargo features.
//!
//! Burn 0.22 deprecates its ndarray and libtorch backends; our users still ask
//! for them, so their device constructors are called here, and only here,
//! under `#[allow(deprecated)]`.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// A backend as named in configs and on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "a backend name")]
pub enum BackendChoice {
    /// The most capable backend compiled in: a GPU one first.
    #[default]
    Auto,
    /// Burn's CUDA backend on an NVIDIA card (cargo feature `cuda`).
    Cuda,
    /// wgpu: Vulkan, Metal or DirectX, or Mesa's software Vulkan without a GPU
    /// (cargo feature `wgpu`).
    Wgpu,
    /// libtorch 2.9.0, on the CPU or CUDA (cargo feature `tch`).
    Tch,
    /// burn-flex, Burn's recommended pure-Rust CPU backend (cargo feature `flex`, default).
    Flex,
    /// burn-ndarray, pure Rust on the CPU (cargo feature `ndarray`).
    Ndarray,
}

impl BackendChoice {
    /// Every backend name, as `--backend` lists them.
    pub const ALL: [Self; 6] = [
        Self::Auto,
        Self::Cuda,
        Self::Wgpu,
        Self::Tch,
        Self::Flex,
        Self::Ndarray,
    ];

    /// Every concrete backend, most preferred first (what `auto` walks): GPU
    /// backends, then the CPU ones from fastest to slowest on the notebook.
    const PREFERENCE: [Self; 5] = [Self::Cuda, Self::Wgpu, Self::Tch, Self::Flex, Self::Ndarray];

    /// The name used in configs, logs and `history.json`; also the cargo feature
    /// of `trainer` that compiles the backend in.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cuda => "cuda",
            Self::Wgpu => "wgpu",
            Self::Tch => "tch",
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
        }
    }

    /// Whether this build holds the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Auto => false,
            Self::Cuda => cfg!(feature = "cuda"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Tch => cfg!(feature = "tch"),
            Self::Flex => cfg!(feature = "flex"),
            Self::Ndarray => cfg!(feature = "ndarray"),
        }
    }

    /// The backends this build holds, most preferred first.
    pub fn compiled() -> Vec<Self> {
        Self::PREFERENCE
            .into_iter()
            .filter(|backend| backend.is_compiled())
            .collect()
    }

    /// The device `wanted` on this backend, which must be compiled in, and
    /// what it resolved to (`auto` stays `auto` only where the runtime picks
    /// the adapter itself).
    fn device(self, wanted: DeviceChoice) -> Result<(Device, DeviceChoice), BackendError> {
        let unsupported = || BackendError::UnsupportedDevice {
            backend: self.name(),
            device: wanted,
            supported: match self {
                Self::Wgpu => "auto, cpu, gpu:N",
                Self::Tch => "auto, cpu, cuda:N",
                Self::Cuda => "auto, cuda:N",
                _ => "auto, cpu",
            },
        };
        let cpu = DeviceChoice::Cpu;
        match (self, wanted) {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            (Self::Ndarray, DeviceChoice::Auto | DeviceChoice::Cpu) => Ok((Device::ndarray(), cpu)),
            #[cfg(feature = "flex")]
            (Self::Flex, DeviceChoice::Auto | DeviceChoice::Cpu) => Ok((Device::flex(), cpu)),
            #[cfg(feature = "wgpu")]
            (Self::Wgpu, DeviceChoice::Auto | DeviceChoice::Cpu | DeviceChoice::Gpu(_)) => {
                use burn::tensor::DeviceKind;
                let kind = match wanted {
                    DeviceChoice::Cpu => DeviceKind::Cpu,
                    DeviceChoice::Gpu(index) => DeviceKind::DiscreteGpu(index),
                    _ => DeviceKind::DefaultDevice,
                };
                Ok((Device::wgpu(kind), wanted))
            }
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            (Self::Tch, DeviceChoice::Auto) if tch::Cuda::is_available() => {
                Ok((Device::libtorch_cuda(0), DeviceChoice::Cuda(0)))
            }
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            (Self::Tch, DeviceChoice::Auto | DeviceChoice::Cpu) => Ok((Device::libtorch(), cpu)),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            (Self::Tch, DeviceChoice::Cuda(index)) => {
                let cards = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
                if index >= cards {
                    return Err(BackendError::NoCard { index, cards });
                }
                Ok((Device::libtorch_cuda(index), wanted))
            }
            #[cfg(feature = "cuda")]
            (Self::Cuda, DeviceChoice::Auto) => Ok((Device::cuda(0), DeviceChoice::Cuda(0))),
            #[cfg(feature = "cuda")]
            (Self::Cuda, DeviceChoice::Cuda(index)) => Ok((Device::cuda(index), wanted)),
            _ => Err(unsupported()),
        }
    }
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|backend| backend.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.into_iter().map(Self::name).collect();
                format!("`{name}` is not a backend: one of {}", names.join(", "))
            })
    }
}

/// The device a backend runs on, as written in configs and on the command
/// line: `auto`, `cpu`, `gpu:N` (wgpu's N-th discrete GPU) or `cuda:N`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// The backend's best device: a GPU if it has one, else the CPU.
    #[default]
    Auto,
    /// The CPU (for wgpu: a CPU adapter such as lavapipe).
    Cpu,
    /// The N-th discrete GPU that wgpu finds.
    Gpu(usize),
    /// The N-th CUDA card.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("`{text}` is not a device: use auto, cpu, gpu:N or cuda:N");
        let indexed = |rest: &str| rest.parse::<usize>().map_err(|_| invalid());
        match text.split_once(':') {
            None if text == "auto" => Ok(Self::Auto),
            None if text == "cpu" => Ok(Self::Cpu),
            None if text == "gpu" => Ok(Self::Gpu(0)),
            None if text == "cuda" => Ok(Self::Cuda(0)),
            Some(("gpu", index)) => indexed(index).map(Self::Gpu),
            Some(("cuda", index)) => indexed(index).map(Self::Cuda),
            _ => Err(invalid()),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(device: DeviceChoice) -> Self {
        device.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Gpu(index) => write!(f, "gpu:{index}"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
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
    /// The device as asked for once resolved (`cpu`, `cuda:0`, ...), and for
    /// wgpu and CUDA what the adapter calls itself.
    description: String,
    /// For `auto`: why each backend preferred to this one could not run.
    pub skipped: Vec<BackendError>,
    /// Whether the device is a software rasterizer (Mesa's lavapipe or
    /// llvmpipe), a GPU backend running on the CPU.
    pub software: bool,
}

impl SelectedBackend {
    /// Resolves `choice` and `device` to a compiled-in backend and an opened
    /// device: `auto` takes the first compiled backend of the preference
    /// order that offers the device and can open it, passing over (and
    /// listing in `skipped`) those whose runtime finds no adapter.
    pub fn select(choice: BackendChoice, device: DeviceChoice) -> Result<Self, BackendError> {
        if choice != BackendChoice::Auto {
            if !choice.is_compiled() {
                return Err(BackendError::NotCompiled {
                    backend: choice.name(),
                });
            }
            return Self::open_on(choice, device);
        }
        let mut skipped = Vec::new();
        for backend in BackendChoice::compiled() {
            if backend.device(device).is_err() {
                continue;
            }
            match Self::open_on(backend, device) {
                Ok(selected) => {
                    return Ok(Self {
                        skipped,
                        ..selected
                    });
                }
                Err(err) => skipped.push(err),
            }
        }
        Err(skipped.pop().unwrap_or(BackendError::NoneFor { device }))
    }

    /// `backend`'s `device`, opened.
    fn open_on(backend: BackendChoice, device: DeviceChoice) -> Result<Self, BackendError> {
        let (device, resolved) = backend.device(device)?;
        let adapter = open(backend, &device)?;
        let description = match &adapter {
            Some(adapter) => format!("{resolved}: {}", adapter.name),
            None => resolved.to_string(),
        };
        Ok(Self {
            backend,
            device,
            description,
            skipped: Vec::new(),
            software: adapter.is_some_and(|adapter| adapter.software),
        })
    }

    /// For a GPU backend that `auto` picked on a software adapter, a line
    /// naming the CPU backend of this build that trains faster.
    pub fn software_note(&self, choice: BackendChoice) -> Option<String> {
        let cpu = BackendChoice::compiled()
            .into_iter()
            .find(|backend| matches!(backend, BackendChoice::Flex | BackendChoice::Ndarray))?;
        (choice == BackendChoice::Auto && self.software).then(|| {
            format!(
                "note: {} runs on a software adapter ({}), on the CPU: `--backend {}` trains several times faster",
                self.backend.name(),
                self.description,
                cpu.name()
            )
        })
    }

    /// A short description of the device, for logs and `history.json`.
    pub fn device_name(&self) -> &str {
        &self.description
    }
}

/// Vulkan's loader prints `error: XDG_RUNTIME_DIR is invalid or not set` on
/// stderr when the variable is unset (containers, CI, ssh), which reads as a
/// failure in a run that succeeds. Setting a variable in a running process
/// needs `unsafe` since Rust 2024, so the process instead replaces itself,
/// once, by the same command with a private runtime directory (same pid:
/// signals and exit codes are unchanged). Returns when nothing is needed
/// or the directory cannot be made, and with a warning for the caller to
/// show when the command could not be run again.
#[cfg(all(target_os = "linux", feature = "wgpu"))]
pub fn ensure_runtime_dir() -> Option<String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    use std::os::unix::process::CommandExt;
    const VARIABLE: &str = "XDG_RUNTIME_DIR";
    if std::env::var_os(VARIABLE).is_some() {
        return None;
    }
    let (Ok(exe), Ok(me)) = (std::env::current_exe(), std::fs::metadata("/proc/self")) else {
        return None;
    };
    // One directory per user, reused, and only if it is this user's alone.
    let dir = std::env::temp_dir().join(format!("burnist-runtime-{}", me.uid()));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let private = std::fs::symlink_metadata(&dir)
        .is_ok_and(|meta| meta.is_dir() && meta.uid() == me.uid() && meta.mode() & 0o077 == 0);
    if !private {
        return None;
    }
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VARIABLE, &dir)
        .exec();
    Some(format!("could not set {VARIABLE} for Vulkan: {err}"))
}

/// Without wgpu (or off Linux) no Vulkan loader wants the variable.
#[cfg(not(all(target_os = "linux", feature = "wgpu")))]
pub fn ensure_runtime_dir() -> Option<String> {
    None
}

/// What a GPU runtime says about the device it opened.
struct Adapter {
    /// What the adapter calls itself.
    name: String,
    /// No card behind it: a software rasterizer.
    software: bool,
}

/// Opens `device` once so that a missing adapter or driver is reported here,
/// as an error, rather than as a panic deep inside the first training step;
/// returns the adapter for wgpu and CUDA.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn open(backend: BackendChoice, device: &Device) -> Result<Option<Adapter>, BackendError> {
    if !matches!(backend, BackendChoice::Wgpu | BackendChoice::Cuda) {
        return Ok(None);
    }
    // The runtimes panic when they find no adapter; keep the panic quiet and
    // turn it into an error that says what to install.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let identity = std::panic::catch_unwind(|| device.identity());
    std::panic::set_hook(hook);
    match identity {
        Ok(identity) => Ok(identity.map(|identity| Adapter {
            software: identity.physical.is_none(),
            name: identity.name,
        })),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("the runtime could not start");
            let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
            Err(BackendError::Unavailable {
                backend: backend.name(),
                reason,
                help: match backend {
                    BackendChoice::Wgpu => {
                        "install a Vulkan driver; without a GPU, Mesa's software one: `apt-get install mesa-vulkan-drivers libvulkan1`"
                    }
                    _ => "it needs an NVIDIA card and its driver",
                },
            })
        }
    }
}

/// The CPU backends have no adapter to open ahead of use.
#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn open(_: BackendChoice, _: &Device) -> Result<Option<Adapter>, BackendError> {
    Ok(None)
}

/// Why no backend or device could be selected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The asked-for backend is not in this build.
    #[error(
        "backend `{backend}` is not compiled in: rebuild with `--features {backend}` (e.g. `cargo run --release -p trainer --features {backend}`)"
    )]
    NotCompiled {
        /// The backend, which is also the feature to enable.
        backend: &'static str,
    },
    /// `auto` found no compiled backend offering the device.
    #[error(
        "no compiled-in backend runs on device `{device}`: build with a backend that does (cuda:N: features tch or cuda; gpu:N: feature wgpu) or use device auto"
    )]
    NoneFor {
        /// The device asked for.
        device: DeviceChoice,
    },
    /// The backend does not run on the asked-for device.
    #[error("backend `{backend}` cannot run on device `{device}`: it offers {supported}")]
    UnsupportedDevice {
        /// The backend.
        backend: &'static str,
        /// The device asked for.
        device: DeviceChoice,
        /// The devices it offers.
        supported: &'static str,
    },
    /// libtorch sees fewer CUDA cards than the index asked for.
    #[cfg(feature = "tch")]
    #[error("device `cuda:{index}`: libtorch sees {cards} CUDA card(s)")]
    NoCard {
        /// The index asked for.
        index: usize,
        /// How many cards libtorch sees.
        cards: usize,
    },
    /// The runtime found no adapter or driver to open the device with.
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    #[error("backend `{backend}` found no device to run on ({reason}): {help}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The runtime's own message.
        reason: String,
        /// What to install.
        help: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print_back() {
        for text in ["auto", "cpu", "gpu:0", "gpu:2", "cuda:0", "cuda:1"] {
            let device: DeviceChoice = text.parse().unwrap();
            assert_eq!(device.to_string(), text);
        }
        assert_eq!("gpu".parse(), Ok(DeviceChoice::Gpu(0)));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        for bad in ["", "GPU", "gpu:", "gpu:-1", "cuda:x", "tpu:0", "cpu:0"] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn auto_takes_the_first_compiled_backend_offering_the_device() {
        let compiled = BackendChoice::compiled();
        let selected = SelectedBackend::select(BackendChoice::Auto, DeviceChoice::Cpu).unwrap();
        assert_eq!(Some(&selected.backend), compiled.first());
    }

    #[test]
    fn cpu_backends_refuse_gpu_devices() {
        for backend in [BackendChoice::Flex, BackendChoice::Ndarray] {
            if backend.is_compiled() {
                let err = SelectedBackend::select(backend, DeviceChoice::Cuda(0)).unwrap_err();
                assert!(
                    matches!(err, BackendError::UnsupportedDevice { .. }),
                    "{err}"
                );
            }
        }
    }
}
