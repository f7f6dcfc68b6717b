//! Runs side by side: which settings differ, how each ended, and their
//! validation curves in one picture (`trainer compare`, the end of a sweep).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::pictures::save_comparison;
use crate::sweep::SUMMARY_FILE;
use runs::history::History;
use runs::{RunDir, RunError};

/// One run to compare: where it is, its resolved config and its history.
#[derive(Debug, Clone)]
pub struct Compared {
    /// The run directory.
    pub run: PathBuf,
    /// `config.json`, flattened to dotted keys.
    pub config: BTreeMap<String, String>,
    /// `history.json`.
    pub history: History,
}

impl Compared {
    /// Reads the run at `run`.
    pub fn load(run: &Path) -> Result<Self, Error> {
        let dir = RunDir::at(run.to_owned());
        let text = std::fs::read_to_string(dir.config())
            .map_err(|_| RunError::Missing { path: dir.config() })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| RunError::Encode {
                path: dir.config(),
                source,
            })?;
        let mut config = BTreeMap::new();
        flatten("", &json, &mut config);
        Ok(Self {
            run: run.to_owned(),
            config,
            history: History::load(&dir.history())?,
        })
    }
}

/// The runs `paths` name: a run directory is itself, a sweep directory its
/// runs (from its summary), an experiment directory every run in it that
/// has a history.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Compared>, Error> {
    let mut runs = Vec::new();
    for path in paths {
        if !path.is_dir() {
            return Err(RunError::Missing { path: path.clone() }.into());
        }
        let summary = path.join(SUMMARY_FILE);
        if summary.is_file() {
            for run in crate::sweep::runs_of_summary(&summary)? {
                runs.push(Compared::load(&run)?);
            }
        } else if RunDir::at(path.clone()).config().is_file() {
            runs.push(Compared::load(path)?);
        } else {
            let before = runs.len();
            for run in RunDir::experiment_runs(path)? {
                if run.history().is_file() {
                    runs.push(Compared::load(run.path())?);
                }
            }
            if runs.len() == before {
                return Err(RunError::NoneFinished { path: path.clone() }.into());
            }
        }
    }
    Ok(runs)
}

/// The config keys whose values differ between `runs`, with each run's value.
pub fn differences(runs: &[Compared]) -> Vec<(String, Vec<String>)> {
    let keys: std::collections::BTreeSet<&String> =
        runs.iter().flat_map(|run| run.config.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let values: Vec<String> = runs
                .iter()
                .map(|run| run.config.get(key).cloned().unwrap_or_else(|| "-".into()))
                .collect();
            let differ = values.iter().any(|value| value != &values[0]);
            differ.then(|| (key.clone(), values))
        })
        .collect()
}

/// The table `trainer compare` prints: one row per run, the differing
/// settings, then the final epoch's numbers and the seconds trained.
pub fn table(runs: &[Compared]) -> String {
    let differences = differences(runs);
    let mut header: Vec<String> = vec!["run".into()];
    header.extend(differences.iter().map(|(key, _)| key.clone()));
    header.extend(
        [
            "epochs",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
            "seconds",
        ]
        .map(String::from),
    );
    let mut rows = vec![header];
    for (index, run) in runs.iter().enumerate() {
        let mut row = vec![run.run.display().to_string()];
        row.extend(differences.iter().map(|(_, values)| values[index].clone()));
        let last = run.history.epochs.last();
        let number = |value: Option<f64>| value.map_or("-".into(), |v| format!("{v:.4}"));
        row.push(run.history.epochs.len().to_string());
        row.push(number(last.map(|e| e.loss)));
        row.push(number(last.map(|e| e.accuracy)));
        row.push(number(last.map(|e| e.val_loss)));
        row.push(number(last.map(|e| e.val_accuracy)));
        row.push(format!(
            "{:.1}",
            run.history.epochs.iter().map(|e| e.seconds).sum::<f64>()
        ));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned() + "\n"
        })
        .collect()
}

/// Draws the validation curves of `runs` into `path`, each labelled with
/// its run and the settings that set it apart.
pub fn save_picture(path: &Path, runs: &[Compared]) -> Result<(), Error> {
    let differences = differences(runs);
    let labelled: Vec<(String, &[runs::history::EpochRecord])> = runs
        .iter()
        .enumerate()
        .map(|(index, run)| {
            let settings: Vec<String> = differences
                .iter()
                .map(|(key, values)| format!("{key}={}", values[index]))
                .collect();
            let name = run.run.display().to_string();
            let label = if settings.is_empty() {
                name
            } else {
                format!("{name}: {}", settings.join(", "))
            };
            (label, run.history.epochs.as_slice())
        })
        .collect();
    Ok(save_comparison(path, &labelled)?)
}

/// `{"a": {"b": 1}}` as `a.b = 1`, `{"a": [{"b": 1}]}` as `a[0].b = 1` (the
/// keys `--set` takes); strings without their quotes.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, out);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runs::history::{EpochRecord, RunInfo};

    fn compared(name: &str, config: serde_json::Value, val_accuracy: f64) -> Compared {
        let mut flat = BTreeMap::new();
        flatten("", &config, &mut flat);
        Compared {
            run: PathBuf::from(name),
            config: flat,
            history: History {
                run: RunInfo {
                    experiment: "x".into(),
                    backend: "flex".into(),
                    device: "cpu".into(),
                    kernels: "fast".into(),
                    seed: 42,
                    started: String::new(),
                    train_size: 1,
                    test_size: 1,
                    steps_per_epoch: 1,
                    epochs_planned: 1,
                    version: String::new(),
                    resumes: Vec::new(),
                    imported: None,
                },
                test_loss: None,
                test_accuracy: None,
                stopped_early: None,
                epochs: vec![EpochRecord {
                    epoch: 1,
                    loss: 0.5,
                    accuracy: 0.9,
                    val_loss: 0.25,
                    val_accuracy,
                    seconds: 2.0,
                    learning_rate: None,
                }],
            },
        }
    }

    #[test]
    fn only_the_differing_settings_are_shown() {
        let runs = [
            compared(
                "a",
                serde_json::json!({"seed": 1, "optimizer": {"learning_rate": 0.001, "beta1": 0.9},
                    "model": {"layers": [{"type": "conv2d", "filters": 8}, {"type": "flatten"}]}}),
                0.95,
            ),
            compared(
                "b",
                serde_json::json!({"seed": 1, "optimizer": {"learning_rate": 0.0001, "beta1": 0.9},
                    "model": {"layers": [{"type": "conv2d", "filters": 16}, {"type": "flatten"}]}}),
                0.93,
            ),
        ];
        assert_eq!(
            differences(&runs),
            vec![
                (
                    "model.layers[0].filters".to_owned(),
                    vec!["8".to_owned(), "16".to_owned()]
                ),
                (
                    "optimizer.learning_rate".to_owned(),
                    vec!["0.001".to_owned(), "0.0001".to_owned()]
                )
            ]
        );
        let table = table(&runs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "run",
                "model.layers[0].filters",
                "optimizer.learning_rate",
                "epochs",
                "loss",
                "accuracy",
                "val_loss",
                "val_accuracy",
                "seconds"
            ]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            [
                "b", "16", "0.0001", "1", "0.5000", "0.9000", "0.2500", "0.9300", "2.0"
            ]
        );
    }
}
