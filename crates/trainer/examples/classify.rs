//! Your own digit pictures classified by a network `trainer` trained, from a
//! Rust program of your own: the run's weights (`model.bpk`) loaded into the
//! notebook's `KerasNet`, each picture made MNIST-like by the `data` crate.
//!
//! ```sh
//! cargo run -p trainer --example classify -- artifacts/notebook/run-001 my-digit.png
//! ```
//!
//! This is the notebook's network (its four layers, raw pixels); a run trained with
//! other settings needs them here too (`trainer::inference::LoadedRun` reads
//! them from the run's `config.json`).

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use data::{MnistBatcher, PixelScaling, digit_from_image_file};
use model::KerasNetConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [run, pictures @ ..] = args.as_slice() else {
        return Err("usage: classify RUN_DIR PICTURE...".into());
    };
    let device = Device::flex();
    // Any seed: the weights are replaced by the run's.
    let net = KerasNetConfig::new()
        .init(0, &device)?
        .try_load_file(Path::new(run).join("model.bpk"))?;
    let batcher = MnistBatcher::new(PixelScaling::Raw);
    for picture in pictures {
        let pixels = digit_from_image_file(Path::new(picture))?;
        let images = batcher.images([&pixels[..]], &device);
        let probabilities = net
            .probabilities(images)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|err| format!("{err:?}"))?;
        let (digit, probability) = probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or("no probabilities")?;
        println!("{picture}: {digit} (probability {probability:.2})");
    }
    Ok(())
}
