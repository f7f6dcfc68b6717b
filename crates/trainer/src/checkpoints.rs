//! The Learner's checkpoints of a run: `checkpoint/{model,optim,scheduler}-N.bpk`
//! after each epoch, each written whole or not at all, and which epoch a
//! killed run can resume from.

use std::path::PathBuf;

use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use burn_pack::{Reader, Writer};

use crate::runs::{RunDir, write_atomic};

/// The checkpoint directory of a run.
const DIRECTORY: &str = "checkpoint";
/// The three records of an epoch's checkpoint, as Burn names them.
const RECORDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Saves one kind of record (model, optimiser or scheduler) per epoch through
/// a temporary file and a rename, so that a kill leaves the file whole or
/// absent: what Burn's own file checkpointer does not promise.
pub struct AtomicCheckpointer {
    directory: PathBuf,
    name: &'static str,
}

impl AtomicCheckpointer {
    /// The three checkpointers of `run`: model, optimiser, scheduler.
    pub fn for_run(run: &RunDir) -> [Self; 3] {
        RECORDS.map(|name| Self {
            directory: run.file(DIRECTORY),
            name,
        })
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        std::fs::create_dir_all(&self.directory).map_err(CheckpointerError::IOError)?;
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        let bytes = canonical(bytes).map_err(|err| CheckpointerError::Unknown(err.to_string()))?;
        write_atomic(&self.path(epoch), &bytes)
            .map_err(|err| CheckpointerError::Unknown(crate::error::one_line(&err)))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(err))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }
}

/// A burnpack with its tensors laid out in name order. Burn writes the
/// optimiser's tensors in the order of a hash map seeded afresh in every
/// process, so two identical trainings would save the same record in
/// different bytes; in name order they save the same bytes.
fn canonical(bytes: Bytes) -> Result<Bytes, burn_pack::Error> {
    let reader = Reader::from_bytes(bytes)?;
    let (metadata, scalars) = (reader.metadata().clone(), reader.scalars().clone());
    // The reader lists tensors by name.
    let mut writer = Writer::new(reader.into_tensors()?);
    for (key, value) in &metadata {
        writer = writer.with_metadata(key, value);
    }
    for (key, value) in scalars {
        writer = writer.with_scalar(&key, value);
    }
    writer.into_bytes()
}

/// The latest epoch of `run` whose three records were all saved.
pub fn last_complete(run: &RunDir) -> Option<usize> {
    let directory = run.file(DIRECTORY);
    let entries = std::fs::read_dir(&directory).ok()?;
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?
                .strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .filter(|epoch: &usize| {
            RECORDS
                .iter()
                .all(|name| directory.join(format!("{name}-{epoch}.bpk")).is_file())
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_epoch_with_all_three_records_is_complete() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "exp").unwrap();
        assert_eq!(last_complete(&run), None);
        let directory = run.file(DIRECTORY);
        std::fs::create_dir_all(&directory).unwrap();
        for name in RECORDS {
            std::fs::write(directory.join(format!("{name}-1.bpk")), b"x").unwrap();
        }
        for name in ["model", "optim"] {
            std::fs::write(directory.join(format!("{name}-2.bpk")), b"x").unwrap();
        }
        assert_eq!(last_complete(&run), Some(1), "epoch 2 lacks its scheduler");
    }
}
