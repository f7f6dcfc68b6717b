//! The network seen by Burn's Learner: [`KerasNet`] plus its loss, so that the
//! `model` crate stays free of training concerns.

use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use data::MnistBatch;
use model::KerasNet;

/// [`KerasNet`] trained as a classifier with categorical cross-entropy.
#[derive(Module, Debug)]
pub struct MnistClassifier {
    /// The network.
    pub net: KerasNet,
}

impl MnistClassifier {
    /// Logits, loss and targets of one batch.
    ///
    /// Cross-entropy on logits equals Keras's categorical cross-entropy on the
    /// softmax output with one-hot targets, computed without the softmax's
    /// rounding; the targets stay class indices.
    pub fn forward_classification(&self, batch: MnistBatch) -> ClassificationOutput {
        let logits = self.net.forward_keyed(batch.images, batch.noise);
        let loss = self.net.loss(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl TrainStep for MnistClassifier {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for MnistClassifier {
    type Input = MnistBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: MnistBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
