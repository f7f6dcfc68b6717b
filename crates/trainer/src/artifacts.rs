//! The pictures of a finished run: `curves.png` from its history,
//! `confusion.png` / `confusion.csv` and `mistakes.png` from its final
//! network on the validation split.

use std::path::Path;

use burn::prelude::Device;
use data::MnistDataset;
use model::KerasNet;

use crate::error::Error;
use crate::pictures::{Captioned, save_confusion, save_curves, save_digit_grid};
use experiment::Experiment;
use inference::ConfusionMatrix;
use inference::{argmax, predict_probabilities};
use runs::history::{History, read_steps_csv};
use runs::{CONFUSION_FILE, CURVES_FILE, MISTAKES_FILE, RunDir, write_atomic};

/// The grid of misclassified digits in `mistakes.png`.
const MISTAKE_GRID: (usize, usize) = (6, 10);

/// Writes every picture of `run`, trained into `net`, validated on `test`.
pub fn save(
    run: &RunDir,
    experiment: &Experiment,
    net: &KerasNet,
    test: &MnistDataset,
    device: &Device,
) -> Result<(), Error> {
    let history = History::load(&run.history())?;
    let step_losses = std::fs::read_to_string(run.steps())
        .map(|text| read_steps_csv(&text))
        .unwrap_or_default();
    save_curves(&run.file(CURVES_FILE), &history.epochs, &step_losses)?;
    let predicted: Vec<usize> = predict_probabilities(
        net,
        test,
        experiment.file.data.scaling,
        experiment.file.training.eval_batch_size,
        device,
    )?
    .iter()
    .map(|row| argmax(row))
    .collect();
    let confusion = ConfusionMatrix::new(test.labels(), &predicted);
    write_atomic(&run.file("confusion.csv"), confusion.to_csv().as_bytes())?;
    save_confusion(&run.file(CONFUSION_FILE), &confusion)?;
    save_mistakes(&run.file(MISTAKES_FILE), test, &predicted)
}

/// A grid of the first misclassified test digits, captioned `true → predicted`.
fn save_mistakes(path: &Path, test: &MnistDataset, predicted: &[usize]) -> Result<(), Error> {
    let (rows, cols) = MISTAKE_GRID;
    let mistakes: Vec<_> = predicted
        .iter()
        .enumerate()
        .filter_map(|(index, &guess)| {
            let item = test.item(index)?;
            (usize::from(item.label) != guess).then_some((index, item, guess))
        })
        .take(rows * cols)
        .collect();
    let digits: Vec<Captioned> = mistakes
        .iter()
        .map(|(index, item, guess)| Captioned {
            pixels: &item.pixels,
            caption: format!("#{index}: {} → {guess}", item.label),
        })
        .collect();
    let shown_rows = digits.len().div_ceil(cols).max(1);
    Ok(save_digit_grid(path, &digits, shown_rows, cols, 3)?)
}
