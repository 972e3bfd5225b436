//! Tidy CSV files: one header, one observation per row. A sweep adds one
//! column per swept key right after `lr` (the rows' `sweep` field,
//! flattened), named by the key, so pandas can group by it.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::atomic::write_atomic;
use crate::results::records::{Columns, Row, Swept};

/// A run table's row type, erased: what code that treats every table alike
/// (a run's folder, the combined files) needs of it.
#[derive(Clone, Copy)]
pub struct Schema {
    header: fn(&[String]) -> String,
    rewrite: Rewrite,
}

/// A table's rewrite of a file to new columns (see `Schema::of`).
type Rewrite = fn(&[u8], &str, &[String], &[String]) -> Result<String, String>;

impl Schema {
    pub const fn of<T: Row>() -> Schema {
        Schema { header: header::<T>, rewrite: rewrite_body::<T> }
    }

    /// The header line with the sweep's `keys` ([`header`]).
    pub fn header(&self, keys: &[String]) -> String {
        (self.header)(keys)
    }

    /// The table in `bytes` parsed and written again ([`rewrite`]), without its header.
    pub fn rewrite(&self, bytes: &[u8], run_id: &str, keys: &[String], sweep: &[String]) -> Result<String, String> {
        (self.rewrite)(bytes, run_id, keys, sweep)
    }
}

fn rewrite_body<T: Row>(bytes: &[u8], run_id: &str, keys: &[String], sweep: &[String]) -> Result<String, String> {
    rewrite::<T>(bytes, run_id, keys, sweep).map(|(body, _)| body)
}

/// A table's rows, parsed and written again (the body, without the header),
/// when its sweep columns are `keys` and every row is run `run_id` at the
/// sweep point `sweep`; what is wrong otherwise.
pub fn rewrite<T: Row>(
    bytes: &[u8],
    run_id: &str,
    keys: &[String],
    sweep: &[String],
) -> Result<(String, Vec<T>), String> {
    let found = sweep_keys::<T>(bytes)?;
    if found != keys {
        return Err(format!("has the sweep columns [{}], not [{}]", found.join(", "), keys.join(", ")));
    }
    let mut rows: Vec<T> = parse_rows(bytes)?;
    if let Some(i) = rows.iter_mut().position(|r| r.run_id() != run_id || *r.sweep_mut() != sweep) {
        return Err(format!("row {} belongs to another run", i + 2));
    }
    Ok((body(&rows), rows))
}

/// `T`'s columns with the swept `keys` after `lr` (at the end where `T` has no `lr`).
pub fn columns<T: Columns>(keys: &[String]) -> Vec<String> {
    let mut columns: Vec<String> = T::COLUMNS.iter().map(|c| c.to_string()).collect();
    let at = T::COLUMNS.iter().position(|c| *c == "lr").map_or(columns.len(), |i| i + 1);
    columns.splice(at..at, keys.iter().cloned());
    columns
}

/// Writes `rows` (header included, even with no rows) atomically; `keys`
/// name the sweep columns the rows carry.
pub fn write_rows<T: Serialize + Columns>(path: &Path, rows: &[T], keys: &[String]) -> io::Result<()> {
    write_atomic(path, |out| {
        let mut w = ::csv::WriterBuilder::new().has_headers(false).from_writer(out);
        w.write_record(columns::<T>(keys))?;
        for row in rows {
            w.serialize(row)?;
        }
        w.flush()
    })
}

/// Reads every row of a CSV file written by [`write_rows`] (or
/// [`write_tables`]): the header must be `T`'s and every row must parse;
/// errors name the file and what is wrong.
pub fn read_rows<T: serde::de::DeserializeOwned + Columns + Swept>(path: &Path) -> anyhow::Result<Vec<T>> {
    // Tables are the program's own output, as large as a grid makes them: no size bound, but a regular file.
    let bytes = crate::input::read(path, u64::MAX).map_err(|e| anyhow::anyhow!("{e}"))?;
    parse_rows(&bytes).map_err(|why| anyhow::anyhow!("'{}' is damaged: {why}", path.display()))
}

/// [`read_rows`] of a table a folder of an earlier version may lack: none when absent.
pub fn read_optional_rows<T: serde::de::DeserializeOwned + Columns + Swept>(path: &Path) -> anyhow::Result<Vec<T>> {
    if path.is_file() { read_rows(path) } else { Ok(Vec::new()) }
}

/// The rows of `rows` as CSV, without the header: a table's body, which
/// [`write_tables`] puts under its header.
pub fn body<T: Serialize>(rows: &[T]) -> String {
    let mut w = ::csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    for row in rows {
        w.serialize(row).expect("a record serialises into memory");
    }
    String::from_utf8(w.into_inner().expect("an in-memory writer flushes")).expect("CSV of UTF-8 fields is UTF-8")
}

/// The header line of `T`'s table with the sweep's `keys`, newline included.
pub fn header<T: Columns>(keys: &[String]) -> String {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(columns::<T>(keys)).expect("a header writes into memory");
    String::from_utf8(w.into_inner().expect("an in-memory writer flushes")).expect("UTF-8 names")
}

/// Writes a `header` (from [`header`]) and then `bodies` (each from [`body`]) into `path`, atomically.
pub fn write_tables<'a>(path: &Path, header: &str, bodies: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
    write_atomic(path, |out| {
        use io::Write;
        out.write_all(header.as_bytes())?;
        for body in bodies {
            out.write_all(body.as_bytes())?;
        }
        Ok(())
    })
}

/// Parses the bytes of a file written by [`write_rows`]: the header must be
/// `T`'s (with any sweep columns after `lr`) and every row must parse, its
/// sweep values into its `sweep`. The error says what is wrong and where
/// (the caller names the file).
pub fn parse_rows<T: serde::de::DeserializeOwned + Columns + Swept>(bytes: &[u8]) -> Result<Vec<T>, String> {
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| format!("unreadable header ({e})"))?.clone();
    let (at, swept, own) = sweep_span::<T>(&headers)?;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        return Err("its last row is cut short (no final newline)".into());
    }
    let own = ::csv::ByteRecord::from(own);
    let mut rows = Vec::new();
    for (i, row) in reader.byte_records().enumerate() {
        let parsed = row.map_err(|e| e.to_string()).and_then(|r| {
            let outside = r.iter().enumerate().filter(|(j, _)| !(at..at + swept).contains(j)).map(|(_, f)| f);
            let mut row: T =
                ::csv::ByteRecord::from_iter(outside).deserialize(Some(&own)).map_err(|e| e.to_string())?;
            *row.sweep_mut() = (at..at + swept)
                .map(|j| String::from_utf8(r[j].to_vec()).map_err(|_| format!("field {} is not UTF-8", j + 1)))
                .collect::<Result<_, _>>()?;
            Ok(row)
        });
        rows.push(parsed.map_err(|e| format!("row {} does not parse ({})", i + 2, cut(&e, 120)))?);
    }
    Ok(rows)
}

/// The sweep's keys in the header of `bytes`, a table of `T` (empty without a sweep).
pub fn sweep_keys<T: Columns>(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let headers = reader.headers().map_err(|e| format!("unreadable header ({e})"))?.clone();
    let (at, swept, _) = sweep_span::<T>(headers.as_byte_record())?;
    Ok(headers.iter().skip(at).take(swept).map(str::to_string).collect())
}

/// Where the sweep columns are in `headers` and how many there are: the
/// header must be `T`'s columns with only those inserted after `lr`.
fn sweep_span<T: Columns>(headers: &::csv::ByteRecord) -> Result<(usize, usize, Vec<&'static str>), String> {
    // The columns of this version, else those of a file written before `T::ADDED` were.
    let current: Vec<&'static str> = T::COLUMNS.to_vec();
    let earlier: Vec<&'static str> = T::COLUMNS.iter().copied().filter(|c| !T::ADDED.contains(c)).collect();
    for own in [current, earlier] {
        let at = own.iter().position(|c| *c == "lr").map_or(own.len(), |i| i + 1);
        let Some(swept) = headers.len().checked_sub(own.len()) else { continue };
        if headers.iter().take(at).eq(own[..at].iter().map(|c| c.as_bytes()))
            && headers.iter().skip(at + swept).eq(own[at..].iter().map(|c| c.as_bytes()))
        {
            return Ok((at, swept, own));
        }
    }
    Err(format!("its header is not `{}`", T::COLUMNS.join(",")))
}

/// At most `max` characters of `text` (a parser's message may quote a whole field).
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::records::{EpochRecord, RunSummary, run_row};

    /// The serialised field names in order, but `sweep` (the sweep's
    /// columns, named by the keys): from the JSON of a row whose strings hold no quote.
    fn header_of<T: Serialize>(row: &T) -> String {
        let json = serde_json::to_string(row).unwrap();
        let parts: Vec<&str> = json.split('"').collect();
        let names =
            parts.windows(2).enumerate().filter(|(i, w)| i % 2 == 1 && w[1].starts_with(':') && w[0] != "sweep");
        names.map(|(_, w)| w[0]).collect::<Vec<_>>().join(",")
    }

    #[test]
    fn declared_columns_match_the_serialised_fields() {
        let e = epoch("r");
        assert_eq!(header_of(&e), EpochRecord::COLUMNS.join(","));
        let s = RunSummary {
            run_id: "r".into(),
            activation: "relu".into(),
            seed: 0,
            lr: 0.1,
            sweep: vec![],
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

    fn epoch(id: &str) -> EpochRecord {
        EpochRecord {
            run_id: id.into(),
            activation: "relu".into(),
            seed: 0,
            lr: 0.1,
            sweep: vec![],
            epoch: 1,
            train_loss: 1.0,
            train_accuracy: 0.5,
            val_loss: 1.0,
            val_accuracy: 0.5,
            epoch_seconds: 0.25,
        }
    }

    #[test]
    fn tables_are_one_header_and_the_bodies() {
        let dir = std::env::temp_dir().join(format!("actbench-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("all.csv");
        let (a, b) = (body(&[epoch("a")]), body(&[epoch("b")]));
        write_tables(&out, &header::<EpochRecord>(&[]), [a.as_str(), "", b.as_str()]).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            text,
            "run_id,activation,seed,lr,epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_seconds\n\
             a,relu,0,0.1,1,1.0,0.5,1.0,0.5,0.25\n\
             b,relu,0,0.1,1,1.0,0.5,1.0,0.5,0.25\n"
        );
        let rows: Vec<EpochRecord> = parse_rows(text.as_bytes()).unwrap();
        assert_eq!(rows, vec![epoch("a"), epoch("b")]);
        // What parses serialises back to the same bytes (floats print shortest round-trip).
        assert_eq!(header::<EpochRecord>(&[]) + &body(&rows), text);
    }

    #[test]
    fn damaged_tables_do_not_parse() {
        let good = header::<EpochRecord>(&[]) + &body(&[epoch("a"), epoch("b")]);
        assert!(parse_rows::<EpochRecord>(good.as_bytes()).is_ok());
        let cut = &good[..good.len() - 5];
        assert!(parse_rows::<EpochRecord>(cut.as_bytes()).unwrap_err().contains("cut short"));
        let extra = good.clone() + "a,relu,0\n";
        assert!(parse_rows::<EpochRecord>(extra.as_bytes()).unwrap_err().contains("row 4"));
        let other = good.replacen("epoch_seconds", "seconds", 1);
        assert!(parse_rows::<EpochRecord>(other.as_bytes()).unwrap_err().contains("header"));
        let mut bytes = good.into_bytes();
        let i = bytes.len() - 3;
        bytes[i] = 0xff;
        assert!(parse_rows::<EpochRecord>(&bytes).is_err());
        assert!(parse_rows::<EpochRecord>(b"").is_err());
    }

    #[test]
    fn sweep_columns_follow_lr_and_read_back() {
        let keys = vec!["model.hidden".to_string(), "training.optimizer".to_string()];
        let mut row = epoch("a");
        row.sweep = vec!["[128, 128]".into(), "adam".into()];
        let text = header::<EpochRecord>(&keys) + &body(std::slice::from_ref(&row));
        assert_eq!(
            text,
            "run_id,activation,seed,lr,model.hidden,training.optimizer,epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_seconds\n\
             a,relu,0,0.1,\"[128, 128]\",adam,1,1.0,0.5,1.0,0.5,0.25\n"
        );
        assert_eq!(parse_rows::<EpochRecord>(text.as_bytes()).unwrap(), vec![row]);
        assert_eq!(sweep_keys::<EpochRecord>(text.as_bytes()).unwrap(), keys);
        let moved =
            text.replacen("lr,model.hidden,training.optimizer,epoch", "lr,epoch,model.hidden,training.optimizer", 1);
        assert!(parse_rows::<EpochRecord>(moved.as_bytes()).unwrap_err().contains("header"));
    }

    run_row! {
        /// activations.csv's row (train/record/activations.rs), `step` added after its first version.
        pub struct ActivationRecord {
            pub epoch: usize,
            #[serde(default)]
            pub step: Option<usize>,
            pub layer: usize,
            pub units: usize,
            pub pre_mean: f64,
            pub pre_std: f64,
            pub post_mean: f64,
            pub post_std: f64,
            pub dead_fraction: f64,
            pub saturated_fraction: f64,
        }
        added: ["step"]
    }

    /// A table of a version before an added column (activations.csv's
    /// `step`) still reads, with the column empty, with and without sweep
    /// columns; a header missing any other column does not.
    #[test]
    fn a_table_from_before_an_added_column_reads() {
        let earlier = "run_id,activation,seed,lr,epoch,layer,units,pre_mean,pre_std,post_mean,post_std,dead_fraction,saturated_fraction\n\
                       a,relu,0,0.1,2,1,32,0.1,1.0,0.2,0.5,0.0,0.25\n";
        let rows = parse_rows::<ActivationRecord>(earlier.as_bytes()).unwrap();
        assert_eq!((rows[0].epoch, rows[0].step, rows[0].layer, rows[0].post_std), (2, None, 1, 0.5));
        let swept = earlier.replacen("lr,", "lr,model.hidden,", 1).replacen("0.1,2,", "0.1,[32],2,", 1);
        let rows = parse_rows::<ActivationRecord>(swept.as_bytes()).unwrap();
        assert_eq!((rows[0].sweep.clone(), rows[0].step), (vec!["[32]".to_string()], None));
        assert_eq!(sweep_keys::<ActivationRecord>(swept.as_bytes()).unwrap(), ["model.hidden"]);
        // Written again, it has this version's header and an empty step.
        assert!(body(&rows).starts_with("a,relu,0,0.1,[32],2,,1,32,"), "{}", body(&rows));
        let short = earlier.replacen("units,", "", 1).replacen("1,32,", "1,", 1);
        assert!(parse_rows::<ActivationRecord>(short.as_bytes()).unwrap_err().contains("header"));
    }
}
