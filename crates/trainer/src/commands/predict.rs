//! `trainer predict`: reload a run and predict the test split, or image files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use data::{MnistDataset, MnistItem, digit_from_image_file};

use crate::cli::PredictArgs;
use crate::error::Error;
use crate::numpy::{print_first_predictions, probability_row};
use inference::{LoadedRun, argmax};

type Result<T> = std::result::Result<T, Error>;

/// Predicts what `args` ask for with the run's trained network.
pub fn run(args: &PredictArgs) -> Result<()> {
    let loaded = LoadedRun::open(&args.run.run, args.run.backend, args.run.device)?;
    if args.image.is_empty() {
        predict_test_split(&loaded, args)
    } else {
        predict_images(&loaded, &args.image, args.json)
    }
}

/// The notebook's `model.predict(X_test)`: the first rows, their argmax, the accuracy.
fn predict_test_split(loaded: &LoadedRun, args: &PredictArgs) -> Result<()> {
    let test = loaded.test_split(args.run.data.data_dir.as_deref())?;
    let started = Instant::now();
    let rows = loaded.predict(&test)?;
    let seconds = started.elapsed().as_secs_f64();
    let shown = args.first.min(rows.len());
    if args.json {
        for (index, (row, label)) in rows[..shown].iter().zip(test.labels()).enumerate() {
            let line = serde_json::json!({
                "index": index,
                "label": label,
                "digit": argmax(row),
                "probabilities": row,
            });
            println!("{line}");
        }
        return Ok(());
    }
    println!(
        "run {} on {} ({})",
        loaded.run.path().display(),
        loaded.backend.backend.name(),
        loaded.backend.device_name()
    );
    print_first_predictions(&rows[..shown], test.labels());
    let predicted: Vec<usize> = rows.iter().map(|row| argmax(row)).collect();
    let correct = predicted
        .iter()
        .zip(test.labels())
        .filter(|&(&p, &label)| p == usize::from(label))
        .count();
    println!(
        "accuracy: {:.4} ({correct}/{} test images)",
        correct as f64 / test.len().max(1) as f64,
        test.len()
    );
    println!(
        "predicted {} images in {seconds:.3} s: {:.0} images/s (batches of {})",
        test.len(),
        test.len() as f64 / seconds.max(1e-9),
        loaded.experiment.file.training.eval_batch_size
    );
    if args.repeat > 1 {
        let mut warm = (1..args.repeat)
            .map(|_| {
                let started = Instant::now();
                loaded.predict(&test)?;
                Ok(started.elapsed().as_secs_f64())
            })
            .collect::<Result<Vec<f64>>>()?;
        warm.sort_by(f64::total_cmp);
        let median = warm[warm.len() / 2];
        println!(
            "warm: median of {} more passes {median:.3} s: {:.0} images/s",
            warm.len(),
            test.len() as f64 / median.max(1e-9)
        );
    }
    Ok(())
}

/// Each image, made MNIST-like, then classified. A picture that cannot be
/// read does not stop the others: it is named on stderr, the rest are
/// classified, and the command fails at the end with the count (a single
/// picture fails with its own line, as any bad input).
fn predict_images(loaded: &LoadedRun, paths: &[PathBuf], json: bool) -> Result<()> {
    let files = expand_directories(paths)?;
    let mut read = Vec::new();
    let mut unreadable = Vec::new();
    for path in &files {
        match digit_from_image_file(path) {
            Ok(pixels) => read.push((path, MnistItem { pixels, label: 0 })),
            Err(err) if files.len() == 1 => return Err(err.into()),
            Err(err) => unreadable.push(err),
        }
    }
    let items: Vec<MnistItem> = read.iter().map(|(_, item)| item.clone()).collect();
    let rows = if items.is_empty() {
        Vec::new()
    } else {
        loaded.predict(&MnistDataset::from_items(&items))?
    };
    for ((path, _), row) in read.iter().zip(&rows) {
        let digit = argmax(row);
        if json {
            let line = serde_json::json!({
                "file": path.display().to_string(),
                "digit": digit,
                "probabilities": row,
            });
            println!("{line}");
        } else {
            println!("{}: {digit}  {}", path.display(), probability_row(row));
        }
    }
    for err in &unreadable {
        eprintln!("skipped: {}", runs::text::one_line(err));
    }
    if !unreadable.is_empty() {
        return Err(Error::Usage(format!(
            "{} of the {} pictures could not be read (each named above); the others are classified",
            unreadable.len(),
            files.len()
        )));
    }
    Ok(())
}

/// The files named, with every directory replaced by the image files in it (sorted).
fn expand_directories(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut images: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| runs::RunError::List {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|file| is_image_name(file))
                .collect();
            images.sort();
            if images.is_empty() {
                return Err(crate::pictures::PictureError::NoImages { dir: path.clone() }.into());
            }
            files.extend(images);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str()))
}
