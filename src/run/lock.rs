//! One writer per results folder: a lock file holding the writer's PID,
//! its start time and its host (`4242 981234 node1`). A lock left by a
//! process that no longer runs (killed with SIGKILL) is taken over, and so
//! is one whose PID now belongs to another process (PIDs are reused, in
//! containers quickly): its start time differs. Another host's lock cannot
//! be checked from here and is left alone.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::results::dir::ResultsDir;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "results folder '{dir}' is in use by another actbench (PID {pid}{host}, see {file}): wait for it to finish or choose another --out (if none runs, delete that file)"
    )]
    Busy { dir: String, pid: u32, host: String, file: String },
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
                    let me = std::process::id();
                    let start = process_start(me).map_or_else(|| "-".to_string(), |t| t.to_string());
                    write!(file, "{me} {start} {}", hostname()).map_err(io)?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let pid = words.next().and_then(|w| w.parse::<u32>().ok());
                    let start = words.next().and_then(|w| w.parse::<u64>().ok());
                    let host = words.next();
                    let busy = |pid: u32, host: Option<&str>| LockError::Busy {
                        dir: dir.display().to_string(),
                        pid,
                        host: host.map_or_else(String::new, |h| format!(" on {h}")),
                        file: path.display().to_string(),
                    };
                    match pid {
                        Some(pid) if host.is_some_and(|h| h != hostname()) => {
                            return Err(busy(pid, host));
                        }
                        Some(pid) if pid != std::process::id() && is_alive(pid, start) => {
                            return Err(busy(pid, None));
                        }
                        // Stale (its process is gone, or its PID is another's now) or unreadable: take it over.
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

/// This machine's host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "unknown".into(), |h| h.trim().to_string())
}

/// When the process `pid` started (clock ticks since boot, field 22 of
/// /proc/PID/stat): with the PID, it names one process for the machine's uptime.
pub(super) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields 3.. follow the command name in parentheses, which may hold spaces.
    stat.rsplit(')').next()?.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` runs and is still the process that started at `start`
/// (when known: a lock or claim of an older version has no start time).
pub(super) fn is_alive(pid: u32, start: Option<u64>) -> bool {
    is_running(pid) && start.is_none_or(|s| process_start(pid) == Some(s))
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
        // PID 1 runs, but not since this start time: its PID was reused.
        std::fs::write(out.lock(), format!("1 {} {}", process_start(1).unwrap() + 1, super::hostname())).unwrap();
        drop(Lock::acquire(&out).unwrap());
        // Another host's lock is not judged from here.
        std::fs::write(out.lock(), "4294967 5 elsewhere").unwrap();
        assert!(Lock::acquire(&out).unwrap_err().to_string().contains("PID 4294967 on elsewhere"));
        // A PID that cannot exist: stale, taken over, removed on drop.
        std::fs::write(out.lock(), "4294967").unwrap();
        let lock = Lock::acquire(&out).unwrap();
        let written = std::fs::read_to_string(out.lock()).unwrap();
        assert!(written.starts_with(&format!("{} ", std::process::id())), "{written}");
        drop(lock);
        assert!(!out.lock().exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
