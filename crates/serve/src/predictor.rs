//! Finished runs' networks, loaded once each and fed in batches: requests
//! that arrive while a batch runs wait for the next one and share it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use data::{IMAGE_PIXELS, MnistDataset, MnistItem};
use tokio::sync::oneshot;

use inference::{LoadedRun, Probabilities};
use runs::RunDir;

use super::error::ApiError;

/// The most images one batch takes from the queue.
const MAX_BATCH: usize = 256;

/// One picture to classify, and where its answer goes.
struct Job {
    pixels: [u8; IMAGE_PIXELS],
    reply: oneshot::Sender<Result<Probabilities, String>>,
}

/// The loaded networks, by run directory.
#[derive(Default)]
pub struct Predictors {
    loaded: Mutex<HashMap<PathBuf, mpsc::Sender<Job>>>,
}

impl Predictors {
    /// The class probabilities of `pixels` by the network of `run` (id
    /// `id`, finished as [`super::catalog::Catalog::finished`] checks),
    /// loading it on first use.
    pub async fn predict(
        &self,
        id: &str,
        run: RunDir,
        pixels: [u8; IMAGE_PIXELS],
    ) -> Result<Probabilities, ApiError> {
        let model_error = |reason: String| ApiError::Model {
            id: id.to_owned(),
            reason,
        };
        // Loading reads and unpacks the weights: off the async workers.
        let queue = tokio::task::block_in_place(|| self.queue(id, run)).map_err(model_error)?;
        let (reply, answer) = oneshot::channel();
        queue
            .send(Job { pixels, reply })
            .map_err(|_| model_error("its network stopped".into()))?;
        answer
            .await
            .map_err(|_| model_error("its network stopped".into()))?
            .map_err(model_error)
    }

    /// The job queue of `run`'s network, started on first use.
    fn queue(&self, id: &str, run: RunDir) -> Result<mpsc::Sender<Job>, String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = loaded.get(run.path()) {
            return Ok(queue.clone());
        }
        // Its files are named by the run id, not by where the server keeps them.
        let network = LoadedRun::open(run.path(), None, None).map_err(|err| {
            runs::text::one_line(&err).replace(&run.path().display().to_string(), id)
        })?;
        let (queue, jobs) = mpsc::channel();
        std::thread::Builder::new()
            .name("predict".into())
            .spawn(move || serve_batches(&network, &jobs))
            .map_err(|err| format!("cannot start its thread: {err}"))?;
        loaded.insert(run.path().to_owned(), queue.clone());
        Ok(queue)
    }
}

/// Answers jobs until every sender is gone: one blocking wait for the first
/// job, then whatever else is already queued joins its batch.
fn serve_batches(network: &LoadedRun, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        let items: Vec<MnistItem> = batch
            .iter()
            .map(|job| MnistItem {
                pixels: job.pixels,
                label: 0,
            })
            .collect();
        match network.predict(&MnistDataset::from_items(&items)) {
            Ok(rows) => {
                for (job, row) in batch.into_iter().zip(rows) {
                    // A client that hung up no longer wants its answer.
                    let _ = job.reply.send(Ok(row));
                }
            }
            Err(err) => {
                let reason = runs::text::one_line(&err);
                for job in batch {
                    let _ = job.reply.send(Err(reason.clone()));
                }
            }
        }
    }
}
