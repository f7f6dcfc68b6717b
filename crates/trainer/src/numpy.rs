//! Numbers printed as the notebook's cells print them (numpy's style).

use inference::{Probabilities, argmax};

/// The notebook's last cells for the first rows: `model.predict(X_test[:n])`,
/// its argmax and `y_test[:n]`.
pub fn print_first_predictions(rows: &[Probabilities], labels: &[u8]) {
    let shown = rows.len().min(labels.len());
    println!("predict(X_test[:{shown}]):");
    for row in &rows[..shown] {
        println!("  {}", probability_row(row));
    }
    println!(
        "predicted: {}",
        vector(rows[..shown].iter().map(|row| argmax(row)))
    );
    println!("labels:    {}", vector(&labels[..shown]));
}

/// `[7 2 1 0]`, numpy's way of printing an integer vector.
pub fn vector(values: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(" "))
}

/// One probability row as numpy prints it: `[1.23e-05 ... 9.99e-01]`.
pub fn probability_row(row: &[f32]) -> String {
    vector(row.iter().map(|&p| scientific(p)))
}

/// `1.23e-05`: two decimals, a signed two-digit exponent.
fn scientific(value: f32) -> String {
    let formatted = format!("{value:.2e}");
    match formatted.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.abs())
        }
        None => formatted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_print_like_numpy() {
        assert_eq!(vector([7, 2, 1, 0]), "[7 2 1 0]");
        assert_eq!(
            probability_row(&[0.5, 1.0, 1.234e-5]),
            "[5.00e-01 1.00e+00 1.23e-05]"
        );
    }
}
