//! `trainer train --resume`: which run continues, from which checkpoint, on
//! which backend, with which settings.
//!
//! A resumed run is the same run: it keeps its own `config.json` and the
//! backend it was trained on (from `history.json`), and takes no override
//! but `--epochs` (to extend it) and an explicit `--backend` / `--device`
//! (recorded in its history). Its lock is taken before anything is read, so
//! two resumptions cannot race.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::checkpoints::{complete_epochs, newest_loadable};
use backend::{BackendChoice, DeviceChoice};
use experiment::{ConfigError, ExperimentFile};
use runs::history::{History, read_steps_csv};
use runs::text::one_line;
use runs::{RunDir, RunError, RunLock};

/// Why a run cannot be resumed as asked.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// No unfinished run of the experiment.
    #[error("--resume: no unfinished run of `{experiment}` under {}", artifacts.display())]
    NothingToResume {
        /// The experiment.
        experiment: String,
        /// Where runs were looked for.
        artifacts: PathBuf,
    },
    /// An override that would make the resumed run another run.
    #[error(
        "{flag} cannot be used with --resume: a resumed run keeps the settings of its config.json (only --epochs, --backend and --device may be given); start a new run to change it"
    )]
    Override {
        /// The flag, as typed.
        flag: String,
    },
    /// More epochs already trained than asked for.
    #[error("{}: already trained {done} epochs, more than the {asked} asked for", run.display())]
    AlreadyTrained {
        /// The run.
        run: PathBuf,
        /// Epochs in its last checkpoint.
        done: usize,
        /// `training.epochs` with `--epochs`.
        asked: usize,
    },
    /// The run directory, or its lock.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The run's `config.json`.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What `train --resume` was given: the settings a resumed run takes, and
/// the first flag it refuses, if one was given (the command line builds it).
#[derive(Debug, Clone, Default)]
pub struct ResumeRequest {
    /// A flag that would make the resumed run another run (`--seed`, ...).
    pub refused: Option<String>,
    /// `--backend`, when given.
    pub backend: Option<BackendChoice>,
    /// `--device`, when given.
    pub device: Option<DeviceChoice>,
    /// `--epochs`, when given: the run's epochs, extended or not.
    pub epochs: Option<usize>,
}

/// An unfinished run ready to continue.
pub struct Resumption {
    /// The run, locked.
    pub run: RunDir,
    /// Its lock, held until the training ends.
    pub lock: RunLock,
    /// Its experiment: `config.json`, with `--epochs` and an explicit backend
    /// and device applied.
    pub file: ExperimentFile,
    /// Its history up to the checkpoint (empty without one).
    pub history: Option<History>,
    /// Its training losses up to the checkpoint.
    pub step_losses: Vec<f64>,
    /// The epoch whose checkpoint training continues from; `None` starts over.
    pub checkpoint: Option<usize>,
    /// What the run's files held that made it continue from an earlier
    /// epoch than its newest checkpoint (or start over), one line each.
    pub notes: Vec<String>,
}

/// Finds, locks and reads the run to resume under `artifacts`, with what
/// `request` gives. `experiment` is the name `--name` or `--config` give.
pub fn prepare(
    request: &ResumeRequest,
    experiment: &str,
    artifacts: &Path,
) -> Result<Resumption, ResumeError> {
    if let Some(flag) = &request.refused {
        return Err(ResumeError::Override { flag: flag.clone() });
    }
    let run = RunDir::latest_unfinished(artifacts, experiment)?.ok_or_else(|| {
        ResumeError::NothingToResume {
            experiment: experiment.to_owned(),
            artifacts: artifacts.to_owned(),
        }
    })?;
    let lock = run.lock()?;
    let mut file = ExperimentFile::load(&run.config())?;
    let mut notes = Vec::new();
    let recorded = match History::load(&run.history()) {
        Ok(history) => Some(history),
        Err(err) => {
            if run.history().exists() {
                notes.push(one_line(&err));
            }
            None
        }
    };
    let mut step_losses = std::fs::read_to_string(run.steps())
        .map(|text| read_steps_csv(&text))
        .unwrap_or_default();
    // The checkpoint, the history and the steps of an epoch are written by
    // different threads, so a kill can leave any of them ahead: training
    // continues after the last epoch all three hold whole.
    let recorded_epochs = recorded
        .as_ref()
        .map_or(0, |history| whole_epochs(history, step_losses.len()));
    let (checkpoint, damaged) = newest_loadable(&run, recorded_epochs);
    notes.extend(
        damaged
            .iter()
            .map(|err| format!("{}; not used", one_line(err))),
    );
    if let Some(&newest) = complete_epochs(&run).first()
        && newest > recorded_epochs
    {
        notes.push(format!(
            "the checkpoint of epoch {newest} is ahead of the run's record ({} and {} hold {recorded_epochs} whole epoch(s)), so it is not used",
            runs::HISTORY_FILE,
            runs::STEPS_FILE,
        ));
    }
    // The backend the run trained on, not whatever `auto` means now.
    file.backend = request.backend.unwrap_or_else(|| {
        recorded
            .as_ref()
            .and_then(|history| history.run.backend.parse().ok())
            .unwrap_or(file.backend)
    });
    if let Some(device) = request.device {
        file.device = device;
    }
    if let Some(epochs) = request.epochs {
        file.training.epochs = epochs;
    }
    let done = checkpoint.unwrap_or(0);
    if done > file.training.epochs {
        return Err(ResumeError::AlreadyTrained {
            run: run.path().to_owned(),
            done,
            asked: file.training.epochs,
        });
    }
    let history = recorded
        .filter(|_| checkpoint.is_some())
        .map(|mut history| {
            // Epochs after the checkpoint are trained again.
            history.epochs.truncate(done);
            history.run.epochs_planned = file.training.epochs;
            history
        });
    let steps_per_epoch = history.as_ref().map_or(0, |h| h.run.steps_per_epoch);
    step_losses.truncate(done * steps_per_epoch);
    Ok(Resumption {
        run,
        lock,
        file,
        history,
        step_losses,
        checkpoint,
        notes,
    })
}

/// How many epochs, from the first, `history` records whole: each numbered
/// in turn and with all its steps among the `steps` losses of `steps.csv`.
fn whole_epochs(history: &History, steps: usize) -> usize {
    let numbered = history
        .epochs
        .iter()
        .zip(1..)
        .take_while(|(record, number)| record.epoch == *number)
        .count();
    match history.run.steps_per_epoch {
        0 => 0,
        per_epoch => numbered.min(steps / per_epoch),
    }
}

/// When a resumption started, as `history.json` records it.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
