//! The runs of an artifacts directory as the server shows them: ids that
//! cannot leave the directory, summaries, details and pictures, all read-only.
//! Nothing is read through a symbolic link: a run directory that links out
//! is not listed, and a run's file that is a link (to anywhere) counts as
//! absent, so a planted link cannot make the server read or load a file
//! from outside.

use std::path::{Path, PathBuf};

use serde::Serialize;

use runs::RunDir;
use runs::history::{EpochRecord, History, read_steps_csv};

use super::error::ApiError;

use runs::PICTURES;

/// The runs under one artifacts directory.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It has its final weights.
    Finished,
    /// A training holds it now.
    Training,
    /// Stopped before its end (resumable).
    Unfinished,
}

/// One row of the runs table.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// `experiment/run-NNN`.
    pub id: String,
    /// The experiment's name.
    pub experiment: String,
    /// Where it stands.
    pub status: Status,
    /// Epochs done.
    pub epochs: usize,
    /// Epochs planned.
    pub epochs_planned: Option<usize>,
    /// The backend it trained on.
    pub backend: Option<String>,
    /// The last epoch's validation accuracy.
    pub val_accuracy: Option<f64>,
    /// When it started (RFC 3339).
    pub started: Option<String>,
}

/// A run's page: its summary, config, epochs, step losses and pictures.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetails {
    /// The summary row.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// `config.json` as written by the training.
    pub config: serde_json::Value,
    /// Every epoch's record.
    pub history: Vec<EpochRecord>,
    /// The loss of every step written so far.
    pub step_losses: Vec<f64>,
    /// The pictures present, by file name.
    pub pictures: Vec<&'static str>,
}

impl Catalog {
    /// The runs under `artifacts` (which may not exist yet).
    pub fn new(artifacts: &Path) -> Self {
        let root = artifacts
            .canonicalize()
            .unwrap_or_else(|_| artifacts.to_owned());
        Self { root }
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, ApiError> {
        // The error names the directory by its absolute path: not for clients.
        let runs = RunDir::all(&self.root)
            .map_err(|_| ApiError::Internal("cannot list the artifacts directory".into()))?;
        let mut summaries: Vec<RunSummary> = runs
            .iter()
            .filter(|run| self.inside(run.path()))
            .filter_map(|run| {
                let id = self.id_of(run.path())?;
                Some(summary(id, run, load_history(run).as_ref()))
            })
            .collect();
        summaries.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
        Ok(summaries)
    }

    /// The newest finished run, if any.
    pub fn latest_finished(&self) -> Result<Option<String>, ApiError> {
        Ok(self
            .runs()?
            .into_iter()
            .find(|run| run.status == Status::Finished)
            .map(|run| run.id))
    }

    /// The run `id` names, checked to be a run directory inside the
    /// artifacts directory (no `..`, no absolute path, no symlink out).
    pub fn resolve(&self, id: &str) -> Result<RunDir, ApiError> {
        let bad = || ApiError::BadRunId(id.to_owned());
        let (experiment, run) = id.split_once('/').ok_or_else(bad)?;
        if ![experiment, run].iter().all(|part| is_plain_name(part)) || !run.starts_with("run-") {
            return Err(bad());
        }
        let path = self.root.join(experiment).join(run);
        if !self.inside(&path) || !path.is_dir() {
            return Err(ApiError::NoRun(id.to_owned()));
        }
        Ok(RunDir::at(path))
    }

    /// The finished run `id` names, whose weights a prediction may load.
    pub fn finished(&self, id: &str) -> Result<RunDir, ApiError> {
        let run = self.resolve(id)?;
        if status(&run) != Status::Finished {
            return Err(ApiError::Unfinished(id.to_owned()));
        }
        Ok(run)
    }

    /// Whether `path`, links resolved, lies inside the artifacts directory.
    fn inside(&self, path: &Path) -> bool {
        path.canonicalize()
            .is_ok_and(|real| real.starts_with(&self.root))
    }

    /// The page of run `id`.
    pub fn details(&self, id: &str) -> Result<RunDetails, ApiError> {
        let run = self.resolve(id)?;
        let history = load_history(&run);
        let config = read_regular(&run.config())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(serde_json::Value::Null);
        let step_losses = read_regular(&run.steps())
            .map(|text| read_steps_csv(&text))
            .unwrap_or_default();
        Ok(RunDetails {
            summary: summary(id.to_owned(), &run, history.as_ref()),
            config,
            history: history.map(|h| h.epochs).unwrap_or_default(),
            step_losses,
            pictures: PICTURES
                .into_iter()
                .filter(|name| is_regular(&run.file(name)))
                .collect(),
        })
    }

    /// The bytes of picture `name` of run `id`.
    pub fn picture(&self, id: &str, name: &str) -> Result<Vec<u8>, ApiError> {
        let run = self.resolve(id)?;
        if !PICTURES.contains(&name) {
            return Err(ApiError::NoPicture(name.to_owned()));
        }
        let path = run.file(name);
        if !is_regular(&path) {
            return Err(ApiError::NoPicture(name.to_owned()));
        }
        std::fs::read(path).map_err(|_| ApiError::NoPicture(name.to_owned()))
    }

    /// `experiment/run-NNN` of a run directory under the root.
    fn id_of(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<&str> = relative
            .iter()
            .map(|part| part.to_str())
            .collect::<Option<_>>()?;
        match parts.as_slice() {
            [experiment, run] if is_plain_name(experiment) && is_plain_name(run) => {
                Some(format!("{experiment}/{run}"))
            }
            _ => None,
        }
    }
}

/// A file name of letters, digits, `-`, `_` and `.` that is not `.` or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `path` is itself a regular file, not a link to one.
fn is_regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file())
}

/// The text of `path` if it is itself a regular file.
fn read_regular(path: &Path) -> Option<String> {
    is_regular(path)
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
}

fn load_history(run: &RunDir) -> Option<History> {
    serde_json::from_str(&read_regular(&run.history())?).ok()
}

/// Finished only with its config and weights there as regular files.
fn status(run: &RunDir) -> Status {
    if is_regular(&run.config()) && is_regular(&run.weights()) {
        Status::Finished
    } else if run.in_use() {
        Status::Training
    } else {
        Status::Unfinished
    }
}

fn summary(id: String, run: &RunDir, history: Option<&History>) -> RunSummary {
    let status = status(run);
    let experiment = id.split('/').next().unwrap_or_default().to_owned();
    RunSummary {
        id,
        experiment,
        status,
        epochs: history.map_or(0, |h| h.epochs.len()),
        epochs_planned: history.map(|h| h.run.epochs_planned),
        backend: history.map(|h| h.run.backend.clone()),
        val_accuracy: history
            .and_then(|h| h.epochs.last())
            .map(|e| e.val_accuracy),
        started: history.map(|h| h.run.started.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_with_run() -> (tempfile::TempDir, Catalog) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("notebook/run-001")).unwrap();
        let catalog = Catalog::new(root.path());
        (root, catalog)
    }

    #[test]
    fn ids_that_leave_the_artifacts_directory_are_refused() {
        let (_root, catalog) = catalog_with_run();
        assert!(catalog.resolve("notebook/run-001").is_ok());
        for id in [
            "../notebook/run-001",
            "notebook/..",
            "/etc/run-001",
            "notebook/run-001/..",
            "notebook",
            "notebook/config.json",
            "notebook/run-001/../../x",
            "",
        ] {
            assert!(
                matches!(catalog.resolve(id), Err(ApiError::BadRunId(_))),
                "{id:?} accepted"
            );
        }
        assert!(matches!(
            catalog.resolve("notebook/run-002"),
            Err(ApiError::NoRun(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_artifacts_directory_is_refused() {
        let (root, catalog) = catalog_with_run();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("run-009")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("run-009"),
            root.path().join("notebook/run-009"),
        )
        .unwrap();
        assert!(matches!(
            catalog.resolve("notebook/run-009"),
            Err(ApiError::NoRun(_))
        ));
        assert_eq!(
            catalog.runs().unwrap().len(),
            1,
            "the link out is not listed"
        );
    }

    /// Bug: a run's `config.json`, `history.json`, `steps.csv` or
    /// `model.bpk` linking to a file outside was read and served (the
    /// outside JSON as the run's config; predictions from outside weights).
    #[cfg(unix)]
    #[test]
    fn a_run_file_that_is_a_symlink_is_not_read() {
        let (root, catalog) = catalog_with_run();
        let outside = tempfile::tempdir().unwrap();
        let run = root.path().join("notebook/run-001");
        for name in [
            "config.json",
            "model.bpk",
            "history.json",
            "steps.csv",
            "curves.png",
        ] {
            let target = outside.path().join(name);
            std::fs::write(&target, "{\"secret\": 1}").unwrap();
            std::os::unix::fs::symlink(&target, run.join(name)).unwrap();
        }
        let details = catalog.details("notebook/run-001").unwrap();
        assert_eq!(details.config, serde_json::Value::Null);
        assert_eq!(details.summary.status, Status::Unfinished);
        assert!(details.pictures.is_empty());
        assert!(details.step_losses.is_empty());
        assert!(matches!(
            catalog.finished("notebook/run-001"),
            Err(ApiError::Unfinished(_))
        ));
        assert!(matches!(
            catalog.picture("notebook/run-001", "curves.png"),
            Err(ApiError::NoPicture(_))
        ));
    }

    #[test]
    fn a_run_whose_lock_a_training_holds_is_training() {
        let (root, catalog) = catalog_with_run();
        let run = RunDir::at(root.path().join("notebook/run-001"));
        let status = || catalog.runs().unwrap()[0].status;
        assert_eq!(status(), Status::Unfinished);
        let lock = run.lock().unwrap();
        assert_eq!(status(), Status::Training);
        drop(lock);
        assert_eq!(status(), Status::Unfinished);
        std::fs::write(run.config(), "{}").unwrap();
        std::fs::write(run.weights(), "").unwrap();
        assert_eq!(status(), Status::Finished);
    }

    #[test]
    fn only_the_run_pictures_are_served() {
        let (root, catalog) = catalog_with_run();
        std::fs::write(root.path().join("notebook/run-001/curves.png"), b"png").unwrap();
        assert_eq!(
            catalog.picture("notebook/run-001", "curves.png").unwrap(),
            b"png"
        );
        for name in ["config.json", "../curves.png", "model.bpk"] {
            assert!(matches!(
                catalog.picture("notebook/run-001", name),
                Err(ApiError::NoPicture(_))
            ));
        }
    }
}
