//! `trainer info`: the backends of this build, the notebook's data cells,
//! and with `--config` the experiment's network as Keras's `model.summary()`.

use data::{DataSource, IMAGE_SIDE, Split, one_hot};

use crate::cli::InfoArgs;
use crate::error::Error;
use crate::numpy::vector;
use backend::BackendChoice;
use experiment::ExperimentFile;
use inference::load_split;

/// Prints the shapes the notebook prints, the first label and its one-hot row,
/// and the first image as text; then the network of `--config`.
pub fn run(args: &InfoArgs) -> Result<(), Error> {
    // The config first: a bad one is an error before any output.
    let experiment = match &args.config {
        Some(path) => Some(ExperimentFile::load(path)?.validate()?),
        None => None,
    };
    let source = DataSource::resolve(args.data.data_dir.as_deref())?;
    let train = load_split(&source, Split::Train, None)?;
    let test = load_split(&source, Split::Test, None)?;
    let (n_train, n_test) = (train.len(), test.len());

    let backends: Vec<&str> = BackendChoice::compiled()
        .into_iter()
        .map(BackendChoice::name)
        .collect();
    println!(
        "backends compiled in, auto's preference first: {}",
        backends.join(", ")
    );
    println!("data: {source}");
    println!(
        "X_train.shape, X_test.shape: ({n_train}, {IMAGE_SIDE}, {IMAGE_SIDE}) ({n_test}, {IMAGE_SIDE}, {IMAGE_SIDE})"
    );
    println!("y_train.shape, y_test.shape: ({n_train},) ({n_test},)");
    println!("X_train[0].shape: ({IMAGE_SIDE}, {IMAGE_SIDE})");
    println!(
        "after reshape: ({n_train}, {IMAGE_SIDE}, {IMAGE_SIDE}, 1) ({n_test}, {IMAGE_SIDE}, {IMAGE_SIDE}, 1)"
    );
    if let (Some(&label), Some(image)) = (train.labels().first(), train.image(0)) {
        println!("y_train[0]: {label}");
        println!("to_categorical(y_train)[0]: {}", vector(one_hot(label)));
        println!("X_train[0]:");
        for row in image.chunks(IMAGE_SIDE) {
            let line: String = row.iter().map(|&p| shade(p)).collect();
            println!("  {}", line.trim_end());
        }
    }
    if let Some(experiment) = experiment {
        println!("model.summary() of `{}`:", experiment.file.name);
        println!("{}", model::summary(&experiment.summary));
        let input = model::Shape::Maps {
            channels: experiment.net.channels,
            side: experiment.net.image_size,
        };
        let kernels = experiment.file.kernels;
        println!(
            "kernels on flex and ndarray (--kernels {}; other backends run Burn's own):",
            kernels.name()
        );
        for line in model::kernel_plan(&experiment.summary, input, kernels) {
            println!("  {line}");
        }
    }
    Ok(())
}

/// A pixel as two characters, darker to lighter ink.
fn shade(pixel: u8) -> &'static str {
    match pixel {
        0..=31 => "  ",
        32..=127 => "..",
        128..=223 => "++",
        224..=255 => "##",
    }
}
