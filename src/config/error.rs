//! Config errors: always one line, naming the file, the line where known, the
//! key, and what to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (`input::InputError`, which names it).
    #[error("config {0}")]
    Read(String),
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}{}: key `{key}` {message}", path.display(), at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid { path: PathBuf, at: Option<(usize, usize)>, key: String, message: String },
    #[error("--set `{arg}`: {message}")]
    Set { arg: String, message: String },
}

/// A value that its own type accepts but the experiment does not (a check
/// of one section, or across sections): the dotted key, as written in the
/// file (`model.hidden`, `sweep."model.hidden"[1]`), and what is wrong with
/// it and what to do. Each section's `validate` returns it;
/// `Config::parse` adds the file, line and column ([`ConfigError::Invalid`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("key `{key}` {message}")]
pub struct KeyError {
    pub key: String,
    pub message: String,
    /// Where the file sets the value that failed, when that is another key
    /// (a sweep point's value is set in `[sweep]`); `None` = `key` itself.
    pub set_at: Option<String>,
}

impl KeyError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into(), set_at: None }
    }

    /// `Err` of a new error, for `return fail(key, message)`-style checks.
    pub fn fail<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T, Self> {
        Err(Self::new(key, message))
    }

    /// The line and column in `text` of the key that set the failing value,
    /// when the file writes it (a default has no line).
    pub(super) fn locate(&self, text: &str) -> Option<(usize, usize)> {
        locate_key(text, self.set_at.as_deref().unwrap_or(&self.key))
    }
}

/// The 1-based line and column where `text` writes the dotted `key`
/// (`a.b`, `a."b.c"`, `a.b[2]`: the list's third element), if it does.
fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut value: Option<&toml::Spanned<DeValue>> = None;
    let mut at = None;
    for segment in key_segments(key)? {
        match segment {
            Segment::Name(name) => {
                let table = match value {
                    None => doc.get_ref(),
                    Some(v) => v.get_ref().as_table()?,
                };
                let (k, v) = table.get_key_value(name.as_str())?;
                (at, value) = (Some(k.span().start), Some(v));
            }
            Segment::Index(i) => {
                let v = value?.get_ref().get(i)?;
                (at, value) = (Some(v.span().start), Some(v));
            }
        }
    }
    Some(line_column(text, at?))
}

enum Segment {
    Name(String),
    Index(usize),
}

/// `sweep."model.hidden"[1]` -> sweep, model.hidden, 1.
fn key_segments(key: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            segments.push(Segment::Name(quoted[..end].to_string()));
            rest = &quoted[end + 1..];
        } else if let Some(index) = rest.strip_prefix('[') {
            let end = index.find(']')?;
            segments.push(Segment::Index(index[..end].parse().ok()?));
            rest = &index[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Name(rest[..end].to_string()));
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    Some(segments)
}

impl ConfigError {
    pub(super) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let mut start = err.span().map(|span| span.start);
        // An error of one entry of a list (`activations[2]`) points at that entry.
        if let (Some(at), Some(i)) = (start, entry_index(err.message())) {
            start = Some(element_start(text, at, i).unwrap_or(at));
        }
        let (line, column) = start.map(|s| line_column(text, s)).unwrap_or((1, 1));
        let key = key_at(text, err.span().map(|s| s.start));
        let mut message = shorten_quoted(&err.message().trim().replace('\n', " "));
        if let Some(key) = key
            && !message.contains(&format!("`{key}`"))
            && !message.contains(&format!("`{key}["))
        {
            message = format!("key `{key}`: {message}");
        }
        if message.contains("unknown field `activations`") {
            message.push_str(" (`activations` is a top-level key: move it above the first [section])");
        }
        ConfigError::Parse { path: path.to_path_buf(), line, column, message: printable(&message) }
    }
}

/// Longest quoted text (`...`) an error echoes; longer is cut, so a huge
/// name or key in a file still gives a readable one-line error.
const MAX_ECHO: usize = 60;

/// `message` with every backtick-quoted span longer than [`MAX_ECHO`]
/// characters cut to its start and its length.
/// `text` with its control characters (a NUL, a line break, a terminal
/// escape sequence) written as escapes: an error is one line, and what a
/// user typed never drives the terminal.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

pub(super) fn shorten_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are inside backticks.
        let chars = part.chars().count();
        if i % 2 == 1 && chars > MAX_ECHO {
            out.extend(part.chars().take(MAX_ECHO));
            out.push_str(&format!("... ({chars} characters)"));
        } else {
            out.push_str(part);
        }
    }
    printable(&out)
}

/// `i` of a message about `` `activations[i]...` ``.
fn entry_index(message: &str) -> Option<usize> {
    let rest = message.split("`activations[").nth(1)?;
    rest.split(']').next()?.parse().ok()
}

/// The byte offset where element `i` of the TOML array opening at `open`
/// starts (strings and comments skipped); `None` if there is no such element.
fn element_start(text: &str, open: usize, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'[') {
        return None;
    }
    let (mut depth, mut index, mut at) = (0usize, 0usize, open);
    let mut looking = true;
    while at < bytes.len() {
        let c = bytes[at];
        match c {
            b'#' => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            b'"' | b'\'' if depth >= 1 => {
                if depth == 1 && looking && index == i {
                    return Some(at);
                }
                looking = false;
                at += 1;
                while at < bytes.len() && bytes[at] != c {
                    at += if c == b'"' && bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                if depth == 1 && looking && index == i {
                    return Some(at);
                }
                if depth == 1 {
                    looking = false;
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            b',' if depth == 1 => {
                index += 1;
                looking = true;
            }
            c if depth == 1 && looking && !c.is_ascii_whitespace() => {
                if index == i {
                    return Some(at);
                }
                looking = false;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// 1-based line and column of a byte offset (columns in characters).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The key assigned on the line of `offset`, for messages that name only the
/// problem (`invalid type: string "x", expected f64`).
fn key_at(text: &str, offset: Option<usize>) -> Option<String> {
    let offset = offset?.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c));
    if !valid {
        return None;
    }
    let key = key.trim_matches('"');
    // Prefix the `[section]` the line belongs to, e.g. `training.lr`.
    let section = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match section {
        Some(section) if !section.is_empty() => format!("{section}.{key}"),
        _ => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
    }

    #[test]
    fn long_quoted_text_is_cut() {
        let long = "x".repeat(10_000);
        let cut = shorten_quoted(&format!("unknown activation `{long}`; known: relu"));
        assert!(cut.len() < 200, "{cut}");
        assert!(cut.contains("(10000 characters)`; known: relu"), "{cut}");
        assert_eq!(shorten_quoted("key `a`: `b` c"), "key `a`: `b` c");
    }

    #[test]
    fn an_entry_of_a_list_is_found_by_its_index() {
        let text = "activations = [\n  \"relu\", # a [comment], here\n  { formula = \"max(x, [0])\" },\n  'tanh',\n]\n";
        let open = text.find('[').unwrap();
        let line = |i| element_start(text, open, i).map(|at| line_column(text, at));
        assert_eq!(line(0), Some((2, 3)));
        assert_eq!(line(1), Some((3, 3)));
        assert_eq!(line(2), Some((4, 3)));
        assert_eq!(line(3), None);
        assert_eq!(entry_index("`activations[12].formula` column 3"), Some(12));
    }

    #[test]
    fn a_key_is_located_where_the_file_writes_it() {
        let text = "activations = [\"relu\",\n  \"tanh\"]\n[model]\nhidden = [8, 0]\n\n[sweep]\n\"model.hidden\" = [[8], [0]]\n\n[tuning]\nhalving = { eta = 1, min_epochs = 1 }\n";
        let at = |key: &str| locate_key(text, key);
        assert_eq!(at("activations"), Some((1, 1)));
        assert_eq!(at("activations[1]"), Some((2, 3)));
        assert_eq!(at("model.hidden"), Some((4, 1)));
        assert_eq!(at("model.hidden[1]"), Some((4, 14)));
        assert_eq!(at("sweep.\"model.hidden\"[1]"), Some((7, 24)));
        assert_eq!(at("tuning.halving.eta"), Some((10, 13)));
        // A default is written nowhere.
        assert_eq!(at("model.channels"), None);
        assert_eq!(at("training.lr"), None);
    }

    #[test]
    fn the_key_of_a_line_is_found() {
        let text = "[training]\nlr = \"fast\"\n";
        assert_eq!(key_at(text, Some(16)).as_deref(), Some("training.lr"));
        assert_eq!(key_at(text, Some(2)), None);
    }
}
