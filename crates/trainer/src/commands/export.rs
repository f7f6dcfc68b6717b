//! `trainer export`: a finished run's model for other runtimes.

use std::path::Path;

use exchange::onnx::{self, INPUT, IR_VERSION, OPSET, OUTPUT};
use inference::LoadedRun;
use runs::write_atomic;

use crate::cli::{ExportArgs, ExportFormat};
use crate::error::Error;

/// Writes the run's model in the format asked for and says what it holds.
pub fn run(args: &ExportArgs) -> Result<(), Error> {
    let loaded = LoadedRun::open(&args.run, None, None)?;
    let file = &loaded.experiment.file;
    let layers = &file.model.layers;
    let weights = loaded.net.weights();
    let origin = run_id(loaded.run.path());
    let (bytes, default_name) = match args.format {
        ExportFormat::Onnx => (
            onnx::export(layers, &weights, file.data.scaling, &origin)?,
            "model.onnx",
        ),
        ExportFormat::Safetensors => (
            exchange::torch::export(layers, &weights)?,
            "model.safetensors",
        ),
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| loaded.run.file(default_name));
    write_atomic(&output, &bytes)?;
    match args.format {
        ExportFormat::Onnx => println!(
            "exported {origin} to {} (ONNX opset {OPSET}, IR {IR_VERSION}, {} bytes): input `{INPUT}` [batch, 1, 28, 28] raw pixels 0..255, scaled `{}` inside the graph; output `{OUTPUT}` [batch, 10]",
            output.display(),
            bytes.len(),
            file.data.scaling.name()
        ),
        ExportFormat::Safetensors => println!(
            "exported {origin} to {} (safetensors, {} bytes): the state dict of its PyTorch nn.Sequential twin (docs/exchange.md); it expects pixels scaled `{}`",
            output.display(),
            bytes.len(),
            file.data.scaling.name()
        ),
    }
    Ok(())
}

/// `EXPERIMENT/run-NNN`: the run, wherever its artifacts directory is.
fn run_id(path: &Path) -> String {
    let mut parts: Vec<String> = path
        .components()
        .rev()
        .take(2)
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.reverse();
    parts.join("/")
}
