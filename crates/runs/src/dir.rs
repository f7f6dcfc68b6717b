//! Run directories: `<artifacts>/<experiment>/run-NNN/`, one per training,
//! never overwritten; every file in them is written whole or not at all.

use std::path::{Path, PathBuf};

/// The resolved experiment, as JSON.
pub const CONFIG_FILE: &str = "config.json";
/// A finished run's training curves (loss and accuracy per epoch).
pub const CURVES_FILE: &str = "curves.png";
/// A finished run's confusion matrix on its validation data.
pub const CONFUSION_FILE: &str = "confusion.png";
/// A finished run's misread validation digits.
pub const MISTAKES_FILE: &str = "mistakes.png";
/// Every picture of a finished run, as the web app lists them.
pub const PICTURES: [&str; 3] = [CURVES_FILE, CONFUSION_FILE, MISTAKES_FILE];
/// Where run directories go unless `--artifacts` says otherwise.
pub const DEFAULT_ARTIFACTS: &str = "artifacts";
/// The final weights of the network (a Burn burnpack record).
pub const WEIGHTS_FILE: &str = "model.bpk";
/// The per-epoch history.
pub const HISTORY_FILE: &str = "history.json";
/// The training loss of every step.
pub const STEPS_FILE: &str = "steps.csv";

const RUN_PREFIX: &str = "run-";

/// Why a run directory or a file in it could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The experiment's directory could not be made.
    #[error("{}: cannot create the artifacts directory", path.display())]
    CreateArtifacts {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A new run's directory could not be made.
    #[error("{}: cannot create the run directory", path.display())]
    CreateRun {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory of runs could not be listed.
    #[error("{}: cannot list runs", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file to write in a directory that does not exist.
    #[error("{}: cannot write: no directory {}", path.display(), dir.display())]
    NoDirectory {
        /// The file.
        path: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// No run directory there.
    #[error("{}: no such run directory", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// No artifacts directory where runs were to be listed.
    #[error("{}: no such artifacts directory (`trainer train` makes it)", path.display())]
    NoArtifacts {
        /// The directory given.
        path: PathBuf,
    },
    /// The run never wrote its final weights.
    #[error("{}: this run has no {WEIGHTS_FILE}; it did not finish", path.display())]
    Unfinished {
        /// The run.
        path: PathBuf,
    },
    /// Something that is not a file stands where the run's weights should be.
    #[error("{}: is not a regular file", path.display())]
    WeightsNotAFile {
        /// The weights' path.
        path: PathBuf,
    },
    /// An experiment directory without one finished run.
    #[error("{}: holds no finished run", path.display())]
    NoneFinished {
        /// The experiment directory.
        path: PathBuf,
    },
    /// Another process holds the run's lock.
    #[error("{}: another training is using this run directory", path.display())]
    Busy {
        /// The run.
        path: PathBuf,
    },
    /// The lock file could not be made or locked.
    #[error("{}: cannot lock", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file could not be written (or put in place).
    #[error("{}: cannot write", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Something other than a regular file stands where one is to be written.
    #[error("{}: is a {kind}, not a regular file; burnist writes only regular files (remove it or choose another path)", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What stands there: a directory, a symbolic link, a FIFO, a device.
        kind: &'static str,
    },
    /// A record could not be serialised.
    #[error("{}: cannot encode", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// One training run's directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the next free `run-NNN` under `<artifacts>/<experiment>/`.
    pub fn create(artifacts: &Path, experiment: &str) -> Result<Self, RunError> {
        let path = create_numbered(&artifacts.join(experiment), RUN_PREFIX)?;
        Ok(Self { path })
    }

    /// A finished run: `path` itself, or the latest finished run of the
    /// experiment directory `path`.
    pub fn open(path: &Path) -> Result<Self, RunError> {
        if !path.is_dir() {
            return Err(RunError::Missing {
                path: path.to_owned(),
            });
        }
        let run = Self {
            path: path.to_owned(),
        };
        if run.finished() {
            return Ok(run);
        }
        let weights = run.weights();
        if weights.symlink_metadata().is_ok_and(|meta| !meta.is_file()) {
            return Err(RunError::WeightsNotAFile { path: weights });
        }
        if path.join(CONFIG_FILE).exists() {
            return Err(RunError::Unfinished {
                path: path.to_owned(),
            });
        }
        run_numbers(path)?
            .into_iter()
            .rev()
            .map(|(_, path)| Self { path })
            .find(Self::finished)
            .ok_or_else(|| RunError::NoneFinished {
                path: path.to_owned(),
            })
    }

    /// Whether the run finished (its final weights exist).
    pub fn finished(&self) -> bool {
        self.weights().is_file() && self.config().is_file()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.path.join(CONFIG_FILE)
    }

    /// `model.bpk`.
    pub fn weights(&self) -> PathBuf {
        self.path.join(WEIGHTS_FILE)
    }

    /// `history.json`.
    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY_FILE)
    }

    /// `steps.csv`.
    pub fn steps(&self) -> PathBuf {
        self.path.join(STEPS_FILE)
    }

    /// A file of the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The latest run of `<artifacts>/<experiment>/` that did not finish, if any.
    pub fn latest_unfinished(artifacts: &Path, experiment: &str) -> Result<Option<Self>, RunError> {
        let parent = artifacts.join(experiment);
        if !parent.is_dir() {
            return Ok(None);
        }
        Ok(run_numbers(&parent)?
            .into_iter()
            .rev()
            .map(|(_, path)| Self { path })
            .find(|run| run.config().is_file() && !run.weights().is_file()))
    }

    /// Every run under `artifacts`, by experiment then number.
    pub fn all(artifacts: &Path) -> Result<Vec<Self>, RunError> {
        let mut runs = Vec::new();
        if !artifacts.is_dir() {
            return Ok(runs);
        }
        let entries = std::fs::read_dir(artifacts).map_err(|source| RunError::List {
            path: artifacts.to_owned(),
            source,
        })?;
        let mut experiments: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_dir())
            .collect();
        experiments.sort();
        for experiment in experiments {
            runs.extend(
                run_numbers(&experiment)?
                    .into_iter()
                    .map(|(_, path)| Self { path }),
            );
        }
        Ok(runs)
    }
}

/// Holds a run directory for one training at a time; released when dropped
/// (or when the process dies: it is an OS file lock, not a marker file).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunDir {
    /// Takes the run's lock, or fails if another training holds it.
    pub fn lock(&self) -> Result<RunLock, RunError> {
        let path = self.path.join(".lock");
        let file = std::fs::File::create(&path).map_err(|source| RunError::Lock {
            path: path.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(RunError::Busy {
                path: self.path.clone(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(RunError::Lock { path, source }),
        }
    }
}

/// The `run-NNN` directories under `parent`, in increasing order.
impl RunDir {
    /// Every `run-NNN` of an experiment directory, in order of number.
    pub fn experiment_runs(experiment: &Path) -> Result<Vec<Self>, RunError> {
        Ok(run_numbers(experiment)?
            .into_iter()
            .map(|(_, path)| Self { path })
            .collect())
    }

    /// An existing run directory, whatever its state: what a reader that
    /// lists runs holds.
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// Whether a training holds this run's lock now. Probed with a shared
    /// lock on a read-only handle, so that a reader never writes into the run.
    pub fn in_use(&self) -> bool {
        std::fs::File::open(self.path.join(".lock")).is_ok_and(|file| {
            matches!(
                file.try_lock_shared(),
                Err(std::fs::TryLockError::WouldBlock)
            )
        })
    }
}

fn run_numbers(parent: &Path) -> Result<Vec<(u32, PathBuf)>, RunError> {
    numbered(parent, RUN_PREFIX)
}

/// The directories `<prefix>NNN` in `parent`, by number.
fn numbered(parent: &Path, prefix: &str) -> Result<Vec<(u32, PathBuf)>, RunError> {
    let entries = std::fs::read_dir(parent).map_err(|source| RunError::List {
        path: parent.to_owned(),
        source,
    })?;
    let mut runs: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            let number = name.to_str()?.strip_prefix(prefix)?.parse().ok()?;
            Some((number, entry.path()))
        })
        .collect();
    runs.sort();
    Ok(runs)
}

/// Creates `<parent>/<prefix>NNN`, one past the highest number there; two
/// processes creating at once get different numbers.
fn create_numbered(parent: &Path, prefix: &str) -> Result<PathBuf, RunError> {
    std::fs::create_dir_all(parent).map_err(|source| RunError::CreateArtifacts {
        path: parent.to_owned(),
        source,
    })?;
    let mut number = numbered(parent, prefix)?.last().map_or(1, |(n, _)| n + 1);
    loop {
        let path = parent.join(format!("{prefix}{number:03}"));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
            Err(source) => return Err(RunError::CreateRun { path, source }),
        }
    }
}

/// Creates the next `<artifacts>/<experiment>/sweep-NNN/` of `trainer sweep`.
pub fn create_sweep_dir(artifacts: &Path, experiment: &str) -> Result<PathBuf, RunError> {
    create_numbered(&artifacts.join(experiment), "sweep-")
}

/// Writes `contents` to a temporary file beside `path`, then renames it into
/// place: a reader sees the old file or the new one, never half of one. The
/// file gets the usual mode of a new file under the user's umask (0644 with
/// the common umask 022), not the 0600 of a temporary file. Only a regular
/// file or nothing may stand at `path`: the rename would replace a device,
/// a FIFO or a symbolic link (not what it points to) with the new file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), RunError> {
    if let Some(kind) = not_a_regular_file(path) {
        return Err(RunError::NotAFile {
            path: path.to_owned(),
            kind,
        });
    }
    let write_error = |source| RunError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Said plainly: the temporary file's error would name its random path.
    if !dir.is_dir() {
        return Err(RunError::NoDirectory {
            path: path.to_owned(),
            dir: dir.to_owned(),
        });
    }
    let mut builder = tempfile::Builder::new();
    // Read-write for everyone, narrowed by the umask when the OS creates the
    // file, as for any file a program opens with `O_CREAT`.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder.tempfile_in(dir).map_err(write_error)?;
    std::io::Write::write_all(&mut file, contents)
        .and_then(|()| file.as_file().sync_all())
        .map_err(write_error)?;
    file.persist(path).map_err(|err| write_error(err.error))?;
    Ok(())
}

/// What stands at `path` if it is neither absent nor a regular file. A
/// symbolic link is refused rather than written through: inside a run
/// directory one can only have been planted, and a link followed as root
/// could overwrite any file.
fn not_a_regular_file(path: &Path) -> Option<&'static str> {
    let file_type = std::fs::symlink_metadata(path).ok()?.file_type();
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("directory");
    }
    if file_type.is_symlink() {
        return Some("symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("FIFO");
        }
        if file_type.is_char_device() {
            return Some("character device");
        }
        if file_type.is_block_device() {
            return Some("block device");
        }
        if file_type.is_socket() {
            return Some("socket");
        }
    }
    Some("special file")
}

/// [`write_atomic`] of a value as pretty JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), RunError> {
    let mut json = serde_json::to_vec_pretty(value).map_err(|source| RunError::Encode {
        path: path.to_owned(),
        source,
    })?;
    json.push(b'\n');
    write_atomic(path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_or_nothing_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("picture.png");
        write_atomic(&file, b"first").unwrap();
        write_atomic(&file, b"second").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"second");

        let dir = root.path().join("a-dir");
        std::fs::create_dir(&dir).unwrap();
        let err = write_atomic(&dir, b"x").unwrap_err().to_string();
        assert!(err.ends_with("is a directory, not a regular file; burnist writes only regular files (remove it or choose another path)"), "{err}");
        #[cfg(unix)]
        {
            let link = root.path().join("link.png");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let err = write_atomic(&link, b"x").unwrap_err().to_string();
            assert!(err.contains("is a symbolic link"), "{err}");
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(
                std::fs::read(&file).unwrap(),
                b"second",
                "the target is untouched"
            );
        }
    }

    #[test]
    fn runs_are_numbered_and_the_latest_finished_one_is_opened() {
        let root = tempfile::tempdir().unwrap();
        let first = RunDir::create(root.path(), "exp").unwrap();
        let second = RunDir::create(root.path(), "exp").unwrap();
        assert!(first.path().ends_with("exp/run-001"));
        assert!(second.path().ends_with("exp/run-002"));

        let experiment = root.path().join("exp");
        assert!(
            RunDir::open(&experiment).is_err(),
            "no run has finished yet"
        );
        for run in [&first, &second] {
            write_atomic(&run.config(), b"{}").unwrap();
        }
        write_atomic(&first.weights(), b"w").unwrap();
        assert_eq!(RunDir::open(&experiment).unwrap().path(), first.path());
        write_atomic(&second.weights(), b"w").unwrap();
        assert_eq!(RunDir::open(&experiment).unwrap().path(), second.path());
        assert_eq!(RunDir::open(first.path()).unwrap().path(), first.path());
    }

    #[test]
    fn a_locked_run_refuses_a_second_training() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "exp").unwrap();
        let lock = run.lock().unwrap();
        let err = run.lock().unwrap_err().to_string();
        assert!(
            err.contains("another training is using this run directory"),
            "{err}"
        );
        drop(lock);
        run.lock().unwrap();
    }

    /// Bug: files went through a temporary file and kept its mode 0600.
    #[cfg(unix)]
    #[test]
    fn atomic_writes_get_the_mode_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic.json");
        write_atomic(&atomic, b"{}").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
        assert_ne!(mode(&atomic), 0o600, "the umask of a test run is not 077");
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
