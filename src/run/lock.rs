//! One writer per results folder: a lock file holding the writer's PID.
//! A lock left by a process that no longer runs (killed with SIGKILL) is
//! taken over.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::results::dir::ResultsDir;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "results folder '{dir}' is in use by another actbench (PID {pid}, see {file}): wait for it to finish or choose another --out"
    )]
    Busy { dir: String, pid: u32, file: String },
    #[error("cannot create lock file '{path}': {source}")]
    Io { path: String, source: std::io::Error },
}

/// Held while an experiment writes a folder; removes the lock file on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn acquire(out: &ResultsDir) -> Result<Lock, LockError> {
        let (dir, path) = (out.root(), out.lock());
        let io = |source| LockError::Io { path: path.display().to_string(), source };
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    write!(file, "{}", std::process::id()).map_err(io)?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if is_running(pid) && pid != std::process::id() => {
                            return Err(LockError::Busy {
                                dir: dir.display().to_string(),
                                pid,
                                file: path.display().to_string(),
                            });
                        }
                        // Stale (its process is gone) or unreadable: take it over.
                        _ => std::fs::remove_file(&path).map_err(io)?,
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("the lock file keeps reappearing")))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process with this PID exists (Linux: /proc/PID; a zombie
/// counts as gone).
pub(super) fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_live_holder_is_refused_and_a_stale_one_taken_over() {
        let dir = std::env::temp_dir().join(format!("actbench-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = ResultsDir::new(&dir);
        // PID 1 always runs: the folder looks busy.
        std::fs::write(out.lock(), "1").unwrap();
        let err = Lock::acquire(&out).unwrap_err();
        assert!(err.to_string().contains("PID 1"), "{err}");
        // A PID that cannot exist: stale, taken over, removed on drop.
        std::fs::write(out.lock(), "4294967").unwrap();
        let lock = Lock::acquire(&out).unwrap();
        assert_eq!(std::fs::read_to_string(out.lock()).unwrap(), std::process::id().to_string());
        drop(lock);
        assert!(!out.lock().exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
