//! `trainer sweep`: the grid of `--set` values trained one point after the
//! other, each a normal run, then the sweep's summary and picture.

use std::path::Path;

use crate::cli::SweepArgs;
use crate::compare::{Compared, save_picture, table};
use crate::error::Error;
use crate::sweep::{PICTURE_FILE, Point, grid, train_command, write_summary};
use experiment::ExperimentFile;
use runs::{DEFAULT_ARTIFACTS, create_sweep_dir};

/// Trains (or, with `--dry-run`, prints) every point of the grid.
pub fn run(args: &SweepArgs) -> Result<(), Error> {
    let base = ExperimentFile::load_or_default(args.config.as_deref())?;
    // Two axes of one key would train every point several times over.
    let repeated = args.set.iter().enumerate().find_map(|(index, axis)| {
        args.set[..index]
            .iter()
            .any(|seen| seen.key == axis.key)
            .then_some(axis)
    });
    if let Some(axis) = repeated {
        return Err(Error::Usage(format!(
            "--set {} is given twice: give all its values in one --set {}=V1,V2,...",
            axis.key, axis.key
        )));
    }
    let points = grid(&args.set);
    // Every point is checked before the first trains: a typo in the last
    // value fails now, not hours in.
    let mut name = None;
    for point in &points {
        let experiment = base.clone().set(point)?.validate()?;
        name.get_or_insert(experiment.file.name);
    }
    if args.dry_run {
        for point in &points {
            println!(
                "{}",
                train_command(args.config.as_deref(), args.artifacts.as_deref(), point)
            );
        }
        return Ok(());
    }
    let artifacts = args
        .artifacts
        .as_deref()
        .unwrap_or(Path::new(DEFAULT_ARTIFACTS));
    let dir = create_sweep_dir(artifacts, name.as_ref().unwrap_or(&base.name))?;
    let mut trained = Vec::new();
    for (index, point) in points.iter().enumerate() {
        let settings: Vec<String> = point.iter().map(ToString::to_string).collect();
        println!(
            "sweep point {}/{}: {}",
            index + 1,
            points.len(),
            settings.join(" ")
        );
        let run = super::train::train(base.clone().set(point)?.validate()?, artifacts)?;
        trained.push(Point {
            assignments: point.clone(),
            run,
        });
        // After each point: a sweep stopped halfway keeps the summary of what ran.
        write_summary(&dir, &trained)?;
    }
    let runs = trained
        .iter()
        .map(|point| Compared::load(point.run.path()))
        .collect::<Result<Vec<_>, _>>()?;
    print!("{}", table(&runs));
    save_picture(&dir.join(PICTURE_FILE), &runs)?;
    println!(
        "sweep: {} ({} runs, summary.csv, {PICTURE_FILE})",
        dir.display(),
        runs.len()
    );
    Ok(())
}
