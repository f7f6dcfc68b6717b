//! Build script of every crate whose binaries (the trainer, tests, benches)
//! link libtorch when burn's `tch` backend is in the build: bakes libtorch's
//! directory into their rpath, so that they run without `LD_LIBRARY_PATH`.
//! It finds the directory as torch-sys does: with `LIBTORCH_USE_PYTORCH`,
//! from the active Python's torch package (what `scripts/setup-libtorch.sh`
//! sets up), else from `LIBTORCH` / `LIBTORCH_LIB`. Without those variables
//! there is no libtorch in the build and it does nothing.

use std::env;
use std::process::Command;

fn main() {
    for var in [
        "LIBTORCH_USE_PYTORCH",
        "LIBTORCH",
        "LIBTORCH_LIB",
        "VIRTUAL_ENV",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if let Some(dir) = libtorch_lib_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

fn libtorch_lib_dir() -> Option<String> {
    if env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        // torch-sys runs `python` inside a virtualenv, `python3` outside one.
        let python = if env::var_os("VIRTUAL_ENV").is_some() {
            "python"
        } else {
            "python3"
        };
        let output = Command::new(python)
            .args([
                "-c",
                "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
            ])
            .output()
            .ok()?;
        let dir = String::from_utf8(output.stdout).ok()?;
        return output.status.success().then(|| dir.trim().to_owned());
    }
    let root = env::var("LIBTORCH_LIB")
        .or_else(|_| env::var("LIBTORCH"))
        .ok()?;
    Some(format!("{root}/lib"))
}
