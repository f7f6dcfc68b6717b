//! `trainer sweep`'s grid: every combination of the values given as
//! `--set KEY=V1,V2,...`, each point a normal training, and the sweep's
//! `summary.csv` of how each ended.

use std::path::{Path, PathBuf};

use crate::error::Error;
use experiment::Assignment;
use runs::history::History;
use runs::{RunDir, RunError, write_atomic};

/// The sweep's table of points, in its directory.
pub const SUMMARY_FILE: &str = "summary.csv";
/// The sweep's picture of every point's validation curves.
pub const PICTURE_FILE: &str = "compare.png";

/// Every point of the grid, the first key varying slowest: one assignment
/// per key. `--set a=1,2 --set b=x,y` gives a=1 b=x, a=1 b=y, a=2 b=x, a=2 b=y.
pub fn grid(axes: &[Assignment]) -> Vec<Vec<Assignment>> {
    axes.iter().fold(vec![Vec::new()], |points, axis| {
        points
            .iter()
            .flat_map(|point| {
                split_values(&axis.value).into_iter().map(move |value| {
                    let mut next = point.clone();
                    next.push(Assignment {
                        key: axis.key.clone(),
                        value,
                    });
                    next
                })
            })
            .collect()
    })
}

/// `1e-3,1e-4` as its values; commas inside brackets or quotes (a TOML
/// array or string) do not split.
pub fn split_values(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    let (mut current, mut depth, mut quote) = (String::new(), 0i32, None);
    for c in text.chars() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(open)) if c == open => quote = None,
            ('[' | '{', None) => depth += 1,
            (']' | '}', None) => depth -= 1,
            (',', None) if depth == 0 => {
                values.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    values.push(current.trim().to_owned());
    values
}

/// The `trainer train` command of one point, quoted for a POSIX shell.
pub fn train_command(
    config: Option<&Path>,
    artifacts: Option<&Path>,
    point: &[Assignment],
) -> String {
    let mut words = vec!["trainer".to_owned(), "train".to_owned()];
    if let Some(config) = config {
        words.extend([
            "--config".to_owned(),
            shell_quote(&config.display().to_string()),
        ]);
    }
    if let Some(artifacts) = artifacts {
        words.extend([
            "--artifacts".to_owned(),
            shell_quote(&artifacts.display().to_string()),
        ]);
    }
    for assignment in point {
        words.extend(["--set".to_owned(), shell_quote(&assignment.to_string())]);
    }
    words.join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=,:+@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// One trained point of a sweep.
#[derive(Debug, Clone)]
pub struct Point {
    /// The values set.
    pub assignments: Vec<Assignment>,
    /// Its run.
    pub run: RunDir,
}

/// Writes `summary.csv` into `dir`: one row per point, the values set, the
/// run (`experiment/run-NNN` under the artifacts directory), the final
/// epoch's numbers, the test set's (after a validation split; else empty)
/// and the seconds trained.
pub fn write_summary(dir: &Path, points: &[Point]) -> Result<(), Error> {
    let keys: Vec<String> = points
        .first()
        .map(|point| point.assignments.iter().map(|a| a.key.clone()).collect())
        .unwrap_or_default();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = keys.clone();
    header.extend(
        [
            "run",
            "epochs",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
            "test_loss",
            "test_accuracy",
            "seconds",
        ]
        .map(String::from),
    );
    let summary = dir.join(SUMMARY_FILE);
    let csv_error = |err: csv::Error| RunError::Write {
        path: summary.clone(),
        source: std::io::Error::other(err),
    };
    csv.write_record(&header).map_err(csv_error)?;
    for point in points {
        let history = History::load(&point.run.history())?;
        let last = history.epochs.last();
        let mut row: Vec<String> = point.assignments.iter().map(|a| a.value.clone()).collect();
        row.push(run_id(&point.run));
        row.push(history.epochs.len().to_string());
        for value in [
            last.map(|e| e.loss),
            last.map(|e| e.accuracy),
            last.map(|e| e.val_loss),
            last.map(|e| e.val_accuracy),
            history.test_loss,
            history.test_accuracy,
        ] {
            row.push(value.map_or_else(String::new, |v| v.to_string()));
        }
        row.push(format!(
            "{:.2}",
            history.epochs.iter().map(|e| e.seconds).sum::<f64>()
        ));
        csv.write_record(&row).map_err(csv_error)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|err| csv_error(err.into_error().into()))?;
    Ok(write_atomic(&summary, &bytes)?)
}

/// The run directories a sweep's `summary.csv` lists.
pub fn runs_of_summary(summary: &Path) -> Result<Vec<PathBuf>, Error> {
    let bad = |reason: String| RunError::Write {
        path: summary.to_owned(),
        source: std::io::Error::other(reason),
    };
    // summary.csv lies in <artifacts>/<experiment>/sweep-NNN/.
    let artifacts = summary
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .ok_or_else(|| bad("not inside an artifacts directory".into()))?;
    let mut reader = csv::Reader::from_path(summary).map_err(|err| bad(err.to_string()))?;
    let column = reader
        .headers()
        .map_err(|err| bad(err.to_string()))?
        .iter()
        .position(|name| name == "run")
        .ok_or_else(|| bad("no `run` column".into()))?;
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|err| bad(err.to_string()))?;
            Ok(artifacts.join(record.get(column).unwrap_or_default()))
        })
        .collect()
}

/// `experiment/run-NNN` of a run directory.
fn run_id(run: &RunDir) -> String {
    let parts: Vec<String> = run
        .path()
        .iter()
        .rev()
        .take(2)
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    format!("{}/{}", parts[1], parts[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(texts: &[&str]) -> Vec<Assignment> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    #[test]
    fn the_grid_is_every_combination_first_key_slowest() {
        let points = grid(&axes(&["a=1,2", "b=x,y", "c=7"]));
        let shown: Vec<String> = points
            .iter()
            .map(|point| {
                point
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            shown,
            ["a=1 b=x c=7", "a=1 b=y c=7", "a=2 b=x c=7", "a=2 b=y c=7"]
        );
    }

    #[test]
    fn commas_inside_arrays_and_strings_do_not_split() {
        assert_eq!(split_values("1e-3, 1e-4"), ["1e-3", "1e-4"]);
        assert_eq!(split_values("[1, 2],[3]"), ["[1, 2]", "[3]"]);
        assert_eq!(split_values(r#""a,b",c"#), [r#""a,b""#, "c"]);
    }

    #[test]
    fn dry_run_commands_are_quoted_for_the_shell() {
        let point = axes(&["name=\"my run\"", "optimizer.learning_rate=1e-4"]);
        assert_eq!(
            train_command(Some(Path::new("configs/smoke.toml")), None, &point),
            r#"trainer train --config configs/smoke.toml --set 'name="my run"' --set optimizer.learning_rate=1e-4"#
        );
    }
}
