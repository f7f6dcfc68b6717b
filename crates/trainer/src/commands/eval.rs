//! `trainer eval`: a run's test loss, accuracy and confusion matrix, without
//! retraining (Keras's `model.evaluate`, and more).

use crate::cli::EvalArgs;
use crate::error::Error;
use inference::ConfusionMatrix;
use inference::{LoadedRun, argmax};

/// Prints the test loss, accuracy, per-class precision and recall, and the
/// confusion matrix.
pub fn run(args: &EvalArgs) -> Result<(), Error> {
    let loaded = LoadedRun::open(&args.run.run, args.run.backend, args.run.device)?;
    let test = loaded.test_split(args.run.data.data_dir.as_deref())?;
    let predicted: Vec<usize> = loaded
        .predict(&test)?
        .iter()
        .map(|row| argmax(row))
        .collect();
    let loss = loaded.loss(&test);
    println!(
        "run {} on {}, {} test images",
        loaded.run.path().display(),
        loaded.backend.backend.name(),
        test.len()
    );
    println!("loss: {loss:.4}");
    print!(
        "{}",
        ConfusionMatrix::new(test.labels(), &predicted).report()
    );
    Ok(())
}
