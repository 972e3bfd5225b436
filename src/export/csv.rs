//! Tidy CSV files: one header, one observation per row.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::atomic::write_atomic;
use crate::records::Columns;

/// Writes `rows` (header included, even with no rows) atomically.
pub fn write_rows<T: Serialize + Columns>(path: &Path, rows: &[T]) -> io::Result<()> {
    write_atomic(path, |out| {
        let mut w = ::csv::WriterBuilder::new().has_headers(false).from_writer(out);
        w.write_record(T::COLUMNS)?;
        for row in rows {
            w.serialize(row)?;
        }
        w.flush()
    })
}

/// Reads every row of a CSV file written by [`write_rows`]; errors name the
/// file and the row.
pub fn read_rows<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    use anyhow::Context;
    let mut reader = ::csv::Reader::from_path(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.with_context(|| format!("'{}' row {}", path.display(), i + 2)))
        .collect()
}

/// Concatenates CSV files that share `T`'s header into `path`, atomically.
/// Missing inputs are skipped; a header that differs is an error.
pub fn concat<T: Columns>(path: &Path, inputs: &[std::path::PathBuf]) -> io::Result<()> {
    let header = T::COLUMNS.join(",");
    write_atomic(path, |out| {
        use io::Write;
        writeln!(out, "{header}")?;
        for input in inputs {
            let text = match std::fs::read_to_string(input) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            if first.trim_end() != header {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("'{}' has another header than expected ({header})", input.display()),
                ));
            }
            out.write_all(rest.as_bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{EpochRecord, GradientRecord, RunSummary};

    fn header_of<T: Serialize>(row: &T) -> String {
        let mut w = ::csv::Writer::from_writer(vec![]);
        w.serialize(row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_string()
    }

    #[test]
    fn declared_columns_match_the_serialised_fields() {
        let e = EpochRecord {
            run_id: "r".into(),
            activation: "relu".into(),
            seed: 0,
            lr: 0.1,
            epoch: 1,
            train_loss: 1.0,
            train_accuracy: 0.5,
            val_loss: 1.0,
            val_accuracy: 0.5,
            epoch_seconds: 0.1,
        };
        assert_eq!(header_of(&e), EpochRecord::COLUMNS.join(","));
        let g = GradientRecord {
            run_id: "r".into(),
            activation: "relu".into(),
            seed: 0,
            lr: 0.1,
            epoch: 1,
            step: 1,
            loss: 1.0,
            parameter: "layers.0.weight".into(),
            grad_l2: 1.0,
            grad_max_abs: 1.0,
            weight_l2: 1.0,
        };
        assert_eq!(header_of(&g), GradientRecord::COLUMNS.join(","));
        let s = RunSummary {
            run_id: "r".into(),
            activation: "relu".into(),
            seed: 0,
            lr: 0.1,
            params: String::new(),
            init: "he".into(),
            test_accuracy: 0.9,
            test_loss: 0.3,
            best_val_accuracy: 0.9,
            best_val_epoch: 3,
            final_train_loss: 0.2,
            grad_ratio_first_last: Some(0.5),
            diverged: false,
            diverged_epoch: None,
            diverged_step: None,
            epochs_completed: 3,
            wall_seconds: 1.0,
        };
        assert_eq!(header_of(&s), RunSummary::COLUMNS.join(","));
    }

    #[test]
    fn concat_keeps_one_header_and_skips_missing_files() {
        let dir = std::env::temp_dir().join(format!("actbench-concat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.csv");
        let rows = |id: &str| {
            vec![EpochRecord {
                run_id: id.into(),
                activation: "relu".into(),
                seed: 0,
                lr: 0.1,
                epoch: 1,
                train_loss: 1.0,
                train_accuracy: 0.5,
                val_loss: 1.0,
                val_accuracy: 0.5,
                epoch_seconds: 0.25,
            }]
        };
        write_rows(&a, &rows("a")).unwrap();
        let b = dir.join("b.csv");
        write_rows(&b, &rows("b")).unwrap();
        let out = dir.join("all.csv");
        concat::<EpochRecord>(&out, &[a, dir.join("missing.csv"), b]).unwrap();
        let text = std::fs::read_to_string(out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            text,
            "run_id,activation,seed,lr,epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_seconds\n\
             a,relu,0,0.1,1,1.0,0.5,1.0,0.5,0.25\n\
             b,relu,0,0.1,1,1.0,0.5,1.0,0.5,0.25\n"
        );
    }
}
