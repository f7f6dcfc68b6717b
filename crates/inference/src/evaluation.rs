//! The confusion matrix of a model on a labelled split, and what follows from it.

use std::fmt::Write;

use data::NUM_CLASSES;

/// Counts of (true label, predicted class) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: [[usize; NUM_CLASSES]; NUM_CLASSES],
}

impl ConfusionMatrix {
    /// Tallies `predicted[i]` against `labels[i]`.
    pub fn new(labels: &[u8], predicted: &[usize]) -> Self {
        let mut counts = [[0; NUM_CLASSES]; NUM_CLASSES];
        for (&label, &prediction) in labels.iter().zip(predicted) {
            counts[usize::from(label)][prediction] += 1;
        }
        Self { counts }
    }

    /// `counts()[true][predicted]`.
    pub fn counts(&self) -> &[[usize; NUM_CLASSES]; NUM_CLASSES] {
        &self.counts
    }

    fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    fn correct(&self) -> usize {
        (0..NUM_CLASSES).map(|c| self.counts[c][c]).sum()
    }

    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Of the items predicted as `class`, the fraction that are `class`.
    pub fn precision(&self, class: usize) -> f64 {
        ratio(
            self.counts[class][class],
            (0..NUM_CLASSES).map(|t| self.counts[t][class]).sum(),
        )
    }

    /// Of the items that are `class`, the fraction predicted as `class`.
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.counts[class][class], self.counts[class].iter().sum())
    }

    /// CSV: a header of predicted classes, then one row per true label.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("true\\predicted");
        for class in 0..NUM_CLASSES {
            let _ = write!(csv, ",{class}");
        }
        csv.push('\n');
        for (label, row) in self.counts.iter().enumerate() {
            let _ = write!(csv, "{label}");
            for count in row {
                let _ = write!(csv, ",{count}");
            }
            csv.push('\n');
        }
        csv
    }

    /// A text report: accuracy, per-class precision / recall / support, the matrix.
    pub fn report(&self) -> String {
        let mut out = format!(
            "accuracy: {:.4} ({}/{})\n\nclass  precision  recall  support\n",
            self.accuracy(),
            self.correct(),
            self.total()
        );
        for class in 0..NUM_CLASSES {
            let _ = writeln!(
                out,
                "{class:>5}  {:>9.4}  {:>6.4}  {:>7}",
                self.precision(class),
                self.recall(class),
                self.counts[class].iter().sum::<usize>()
            );
        }
        out.push_str("\nconfusion matrix (rows: true label, columns: predicted)\n     ");
        for class in 0..NUM_CLASSES {
            let _ = write!(out, "{class:>6}");
        }
        out.push('\n');
        for (label, row) in self.counts.iter().enumerate() {
            let _ = write!(out, "{label:>5}");
            for count in row {
                let _ = write!(out, "{count:>6}");
            }
            out.push('\n');
        }
        out
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_precision_and_recall() {
        let labels = [0, 0, 1, 1, 1, 2];
        let predicted = [0, 1, 1, 1, 0, 2];
        let matrix = ConfusionMatrix::new(&labels, &predicted);
        assert_eq!(matrix.counts()[0][..3], [1, 1, 0]);
        assert_eq!(matrix.counts()[1][..3], [1, 2, 0]);
        assert!((matrix.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        assert!((matrix.precision(1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((matrix.recall(1) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(matrix.precision(5), 0.0, "no prediction of 5");
        let csv = matrix.to_csv();
        assert!(
            csv.starts_with("true\\predicted,0,1,2,3,4,5,6,7,8,9\n0,1,1,0,"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 11);
        assert!(matrix.report().contains("accuracy: 0.6667 (4/6)"));
    }
}
