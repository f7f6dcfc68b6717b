//! `trainer runs`: what has been trained, and how well.

use crate::cli::RunsArgs;
use crate::error::Error;
use runs::RunDir;
use runs::history::History;

/// Lists every run under the artifacts directory.
pub fn run(args: &RunsArgs) -> Result<(), Error> {
    // A typo in `--artifacts` is not an empty list.
    if !args.artifacts.is_dir() {
        return Err(runs::RunError::NoArtifacts {
            path: args.artifacts.clone(),
        }
        .into());
    }
    let runs = RunDir::all(&args.artifacts)?;
    if runs.is_empty() {
        println!("no runs under {}", args.artifacts.display());
        return Ok(());
    }
    println!(
        "{:<40} {:<10} {:>7} {:>8} {:>12}  started",
        "run", "status", "epochs", "backend", "val_accuracy"
    );
    for run in runs {
        let history: Option<History> = std::fs::read_to_string(run.history())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let status = if run.finished() {
            "finished"
        } else {
            "unfinished"
        };
        let (epochs, backend, accuracy, started) = match &history {
            Some(h) => (
                format!("{}/{}", h.epochs.len(), h.run.epochs_planned),
                h.run.backend.clone(),
                h.epochs
                    .last()
                    .map_or("-".into(), |e| format!("{:.4}", e.val_accuracy)),
                h.run.started.clone(),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<40} {status:<10} {epochs:>7} {backend:>8} {accuracy:>12}  {started}",
            run.path().display()
        );
    }
    Ok(())
}
