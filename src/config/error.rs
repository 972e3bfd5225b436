//! Config errors: always one line, naming the file, the line where known, the
//! key, and what to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config '{}': {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: key `{key}` {message}", path.display())]
    Invalid { path: PathBuf, key: String, message: String },
    #[error("--set `{arg}`: {message}")]
    Set { arg: String, message: String },
}

impl ConfigError {
    pub(super) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let (line, column) = err.span().map(|span| line_column(text, span.start)).unwrap_or((1, 1));
        let key = key_at(text, err.span().map(|s| s.start));
        let mut message = shorten_quoted(&err.message().trim().replace('\n', " "));
        if let Some(key) = key
            && !message.contains(&format!("`{key}`"))
        {
            message = format!("key `{key}`: {message}");
        }
        if message.contains("unknown field `activations`") {
            message.push_str(" (`activations` is a top-level key: move it above the first [section])");
        }
        ConfigError::Parse { path: path.to_path_buf(), line, column, message }
    }
}

/// Longest quoted text (`...`) an error echoes; longer is cut, so a huge
/// name or key in a file still gives a readable one-line error.
const MAX_ECHO: usize = 60;

/// `message` with every backtick-quoted span longer than [`MAX_ECHO`]
/// characters cut to its start and its length.
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
    out
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
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
    fn the_key_of_a_line_is_found() {
        let text = "[training]\nlr = \"fast\"\n";
        assert_eq!(key_at(text, Some(16)).as_deref(), Some("training.lr"));
        assert_eq!(key_at(text, Some(2)), None);
    }
}
