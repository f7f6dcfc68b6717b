//! The Learner's checkpoints of a run: `checkpoint/{model,optim,scheduler}-N.bpk`
//! after each epoch, each written whole or not at all, and which epoch a
//! killed run can resume from.

use std::path::PathBuf;

use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use burn_pack::{Reader, Writer};

use inference::pack::{self, PackError};
use runs::{RunDir, write_atomic};

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
            .map_err(|err| CheckpointerError::Unknown(runs::text::one_line(&err)))
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

/// The epochs of `run` whose three records were all saved, newest first.
pub fn complete_epochs(run: &RunDir) -> Vec<usize> {
    let directory = run.file(DIRECTORY);
    let Ok(entries) = std::fs::read_dir(&directory) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
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
        .collect();
    epochs.sort_unstable_by(|a, b| b.cmp(a));
    epochs
}

/// Where a resumed run continues: the newest complete checkpoint of `run`
/// no later than epoch `at_most` whose three records load, and why each
/// newer complete one within `at_most` cannot be used.
pub fn newest_loadable(run: &RunDir, at_most: usize) -> (Option<usize>, Vec<PackError>) {
    let directory = run.file(DIRECTORY);
    let mut damaged = Vec::new();
    for epoch in complete_epochs(run)
        .into_iter()
        .filter(|&epoch| epoch <= at_most)
    {
        let check = RECORDS
            .iter()
            .try_for_each(|name| pack::check(&directory.join(format!("{name}-{epoch}.bpk"))));
        match check {
            Ok(()) => return (Some(epoch), damaged),
            Err(err) => damaged.push(err),
        }
    }
    (None, damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_epoch_with_all_three_records_is_complete() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "exp").unwrap();
        assert_eq!(complete_epochs(&run), Vec::<usize>::new());
        let directory = run.file(DIRECTORY);
        std::fs::create_dir_all(&directory).unwrap();
        for epoch in [1, 2] {
            for name in RECORDS {
                std::fs::write(directory.join(format!("{name}-{epoch}.bpk")), b"x").unwrap();
            }
        }
        for name in ["model", "optim"] {
            std::fs::write(directory.join(format!("{name}-3.bpk")), b"x").unwrap();
        }
        assert_eq!(
            complete_epochs(&run),
            vec![2, 1],
            "epoch 3 lacks its scheduler"
        );
    }

    #[test]
    fn resumption_passes_over_damaged_checkpoints_and_those_ahead_of_the_history() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "exp").unwrap();
        let saver = AtomicCheckpointer::for_run(&run);
        let record = || {
            let tensor = burn_pack::Tensor::new(
                "w".into(),
                burn::tensor::DType::F32,
                [2],
                None,
                Bytes::from_bytes_vec([1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect()),
            );
            Writer::new(vec![tensor]).into_bytes().unwrap()
        };
        std::fs::create_dir_all(run.file(DIRECTORY)).unwrap();
        for epoch in 1..=3 {
            for checkpointer in &saver {
                write_atomic(&checkpointer.path(epoch), &record()).unwrap();
            }
        }
        assert_eq!(newest_loadable(&run, 3).0, Some(3));
        assert_eq!(
            newest_loadable(&run, 2).0,
            Some(2),
            "epoch 3 is ahead of the history"
        );
        assert_eq!(newest_loadable(&run, 0).0, None);
        let optim = saver[1].path(3);
        let bytes = std::fs::read(&optim).unwrap();
        std::fs::write(&optim, &bytes[..bytes.len() / 2]).unwrap();
        let (epoch, damaged) = newest_loadable(&run, 3);
        assert_eq!(epoch, Some(2), "the truncated epoch 3 is passed over");
        assert_eq!(damaged.len(), 1);
        assert!(
            damaged[0].to_string().contains("optim-3.bpk"),
            "{}",
            damaged[0]
        );
    }
}
