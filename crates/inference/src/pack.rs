//! Burn's record files (`.bpk`: weights, checkpoints) checked before Burn
//! loads them. Burn's Learner panics on a checkpoint it cannot read, and a
//! weights file whose bytes were overwritten loads and predicts NaN: both are
//! caught here, with the file and the reason.

use std::path::{Path, PathBuf};

use burn::tensor::DType;
use burn_pack::Reader;

/// Why a record file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Not a whole burnpack: missing, truncated, another format.
    #[error("{}: not a readable Burn record: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the burnpack reader found.
        reason: String,
    },
    /// A float tensor holding NaN or an infinity: damaged bytes.
    #[error("{}: tensor `{tensor}` holds values that are not finite (a damaged file)", path.display())]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the record.
        tensor: String,
    },
}

/// Checks that `path` is a whole burnpack whose float tensors are finite.
pub fn check(path: &Path) -> Result<(), PackError> {
    let unreadable = |reason: burn_pack::Error| PackError::Unreadable {
        path: path.to_owned(),
        reason: reason.to_string(),
    };
    if !path.is_file() {
        return Err(PackError::Unreadable {
            path: path.to_owned(),
            reason: "not a regular file".into(),
        });
    }
    let tensors = Reader::from_file_exact(path)
        .and_then(Reader::into_tensors)
        .map_err(unreadable)?;
    for tensor in tensors {
        let (name, dtype, _, _, bytes) = tensor.into_parts().map_err(unreadable)?;
        if !finite(dtype, &bytes) {
            return Err(PackError::NotFinite {
                path: path.to_owned(),
                tensor: name,
            });
        }
    }
    Ok(())
}

/// Whether every value of a tensor's little-endian bytes is finite (true for
/// the types that have no NaN).
fn finite(dtype: DType, bytes: &[u8]) -> bool {
    match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
        DType::F64 => bytes.chunks_exact(8).all(|b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).is_finite()
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Bytes;

    fn pack(values: &[f32]) -> Vec<u8> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensor = burn_pack::Tensor::new(
            "layer.weight".into(),
            DType::F32,
            [values.len()],
            None,
            Bytes::from_bytes_vec(bytes),
        );
        burn_pack::Writer::new(vec![tensor])
            .into_bytes()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn whole_finite_records_pass_and_damaged_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.bpk");
        std::fs::write(&good, pack(&[1.0, -2.5, 0.0])).unwrap();
        check(&good).unwrap();

        let nan = dir.path().join("nan.bpk");
        std::fs::write(&nan, pack(&[1.0, f32::NAN, 0.0])).unwrap();
        let err = check(&nan).unwrap_err().to_string();
        assert!(
            err.contains("tensor `layer.weight` holds values that are not finite"),
            "{err}"
        );

        let bytes = pack(&[1.0; 64]);
        let truncated = dir.path().join("truncated.bpk");
        std::fs::write(&truncated, &bytes[..bytes.len() - 8]).unwrap();
        let err = check(&truncated).unwrap_err().to_string();
        assert!(err.contains("not a readable Burn record"), "{err}");

        let random = dir.path().join("random.bpk");
        std::fs::write(&random, b"\x13\x37 certainly not a burnpack").unwrap();
        assert!(check(&random).is_err());
        assert!(check(dir.path()).is_err(), "a directory");
    }
}
