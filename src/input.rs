//! Reading a file a user names (an experiment file, a claims file, a
//! results table): it must be a regular file, and a text file no larger than
//! its kind may be, checked before a byte is read. A FIFO or a device would
//! block the read or never end, a symbolic link loop is not "not found", and
//! a gigabyte read whole and parsed would take several times its size.

use std::io::Read;
use std::path::Path;

/// Largest experiment or claims file: far beyond any hand-written file (the
/// longest config of the repository is a few kilobytes), small enough that
/// parsing it stays a fraction of a second.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// Why a named file cannot be read; each says what the path is.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("'{0}' does not exist")]
    Missing(String),
    #[error("'{0}' is a symbolic link that leads back to itself (a loop)")]
    Loop(String),
    #[error("'{0}' is {1}, not a file")]
    NotFile(String, &'static str),
    #[error("'{path}' is {size} bytes, more than the {limit} a file of this kind may be")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("'{0}' is not UTF-8 text")]
    NotText(String),
    #[error("cannot read '{0}': {1}")]
    Io(String, String),
}

/// What a path that exists is, when it is not a regular file.
pub fn not_a_file(path: &Path) -> Result<(), InputError> {
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => match std::fs::symlink_metadata(path) {
            Ok(_) => InputError::Io(shown(), "a symbolic link to nothing".into()),
            Err(_) => InputError::Missing(shown()),
        },
        _ if e.raw_os_error() == Some(LOOP) => InputError::Loop(shown()),
        _ => InputError::Io(shown(), e.to_string()),
    })?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(InputError::NotFile(shown(), kind_name(&kind)))
}

/// ELOOP on Linux (and on the BSDs and macOS it is 62, which reads as an I/O error there).
const LOOP: i32 = 40;

fn kind_name(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a folder" } else { "not a regular file" }
}

/// The bytes of the regular file `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    not_a_file(path)?;
    let shown = || path.display().to_string();
    let io = |e: std::io::Error| InputError::Io(shown(), e.to_string());
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(InputError::TooLarge { path: shown(), size, limit });
    }
    // The file may grow between the check and the read: read one byte past the limit at most.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { path: shown(), size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// The text of the regular file `path`, at most [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> Result<String, InputError> {
    String::from_utf8(read(path, MAX_TEXT_BYTES)?).map_err(|_| InputError::NotText(path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_small_regular_file_is_named() {
        let dir = std::env::temp_dir().join(format!("actbench-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("a.toml");
        std::fs::write(&text, "x = 1\n").unwrap();
        assert_eq!(read_text(&text).unwrap(), "x = 1\n");
        assert!(matches!(read(&text, 3), Err(InputError::TooLarge { size: 6, limit: 3, .. })));
        assert_eq!(read(&text, u64::MAX).unwrap(), b"x = 1\n", "no limit: the whole file");
        assert!(matches!(read_text(&dir), Err(InputError::NotFile(_, "a folder"))));
        assert!(matches!(read_text(&dir.join("none")), Err(InputError::Missing(_))));
        assert!(matches!(read_text(Path::new("/dev/null")), Err(InputError::NotFile(_, "a device"))));
        #[cfg(unix)]
        {
            let (a, b) = (dir.join("a"), dir.join("b"));
            std::os::unix::fs::symlink(&b, &a).unwrap();
            std::os::unix::fs::symlink(&a, &b).unwrap();
            assert!(matches!(read_text(&a), Err(InputError::Loop(_))), "{:?}", read_text(&a));
        }
        std::fs::write(dir.join("bin"), [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&dir.join("bin")), Err(InputError::NotText(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
