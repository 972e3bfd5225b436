//! Claims of runs for workers sharing one results folder (`run --worker`),
//! on any number of hosts, with no coordinator: a worker claims a run before
//! training it by creating `runs/<id>/.claim` exclusively (O_EXCL, atomic on
//! local file systems and on NFS v3+ and Lustre), naming its host, PID and
//! start time; it refreshes the claim's modification time while the run
//! trains and removes it when the run is saved or dropped. A claim whose
//! owner is gone is taken over: one of this host whose PID no longer runs,
//! or one not refreshed for [`STALE_AFTER`] (another host's worker that
//! died, or lost its machine).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::results::dir::RunDir;

/// How often a worker refreshes the claims it holds.
pub const REFRESH_EVERY: Duration = Duration::from_secs(20);
/// A claim not refreshed for this long belongs to a worker that is gone
/// (six missed refreshes: a loaded file server or a paused VM may delay some).
pub const STALE_AFTER: Duration = Duration::from_secs(120);

/// The claim file of a run.
pub fn path(run: &RunDir) -> PathBuf {
    run.path().join(".claim")
}

/// Who holds a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    pub started_at: String,
    /// When the process started (`lock::process_start`): a live PID with
    /// another start time is another process, the owner is gone. Claims of
    /// older versions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
}

impl Owner {
    pub fn me() -> Self {
        let pid = std::process::id();
        Owner {
            host: hostname(),
            pid,
            started_at: crate::results::manifest::now(),
            process_start: super::lock::process_start(pid),
        }
    }

    /// An owner that could not be read.
    fn unknown() -> Self {
        Owner { host: "?".into(), pid: 0, started_at: "?".into(), process_start: None }
    }

    pub fn describe(&self) -> String {
        format!("{} PID {} since {}", self.host, self.pid, self.started_at)
    }
}

/// What claiming a run found.
#[derive(Debug)]
pub enum Claimed {
    /// Ours now (possibly taken over from a worker that is gone).
    Mine { took_over: Option<Owner> },
    /// Another live worker's.
    Theirs(Owner),
}

/// Tries to claim `run` for this process.
pub fn claim(run: &RunDir) -> std::io::Result<Claimed> {
    fs::create_dir_all(run.path())?;
    let file = path(run);
    let me = Owner::me();
    let text = serde_json::to_string(&me).expect("an owner serialises") + "\n";
    for _ in 0..3 {
        match OpenOptions::new().write(true).create_new(true).open(&file) {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                return Ok(Claimed::Mine { took_over: None });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let Ok(seen) = fs::read(&file) else { continue }; // released meanwhile: try again
        let owner: Option<Owner> = serde_json::from_slice(&seen).ok();
        let age =
            fs::metadata(&file).and_then(|m| m.modified()).ok().and_then(|t| SystemTime::now().duration_since(t).ok());
        let gone = is_gone(owner.as_ref(), age, &me);
        if !gone {
            let owner = owner.unwrap_or(Owner::unknown());
            return Ok(Claimed::Theirs(owner));
        }
        // Take it over: move the stale claim aside, and only if what moved is
        // what was judged stale (another worker may have taken it over first)
        // create ours.
        let aside = file.with_file_name(format!(".claim.stale-{}", std::process::id()));
        if fs::rename(&file, &aside).is_err() {
            continue;
        }
        let moved = fs::read(&aside).unwrap_or_default();
        if moved != seen {
            // A fresh claim of someone else's: put it back.
            let _ = fs::rename(&aside, &file);
            continue;
        }
        let _ = fs::remove_file(&aside);
        if let Claimed::Mine { .. } = claim_new(&file, &text)? {
            return Ok(Claimed::Mine { took_over: owner });
        }
    }
    let owner = fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok());
    Ok(Claimed::Theirs(owner.unwrap_or(Owner::unknown())))
}

/// Whether a claim's owner is gone: any not refreshed for STALE_AFTER
/// (REFRESH_EVERY for one that cannot be read: its writer died between
/// creating and writing it), and sooner, this host's whose PID no longer
/// runs or runs another process (started at another time). A live PID
/// alone never keeps a claim: PIDs are reused, and a live owner refreshes.
fn is_gone(owner: Option<&Owner>, age: Option<Duration>, me: &Owner) -> bool {
    let stale = |after: Duration| age.is_some_and(|a| a > after);
    match owner {
        Some(o) if o.host == me.host && o.pid == me.pid && o.process_start == me.process_start => false,
        Some(o) if o.host == me.host => stale(STALE_AFTER) || !super::lock::is_alive(o.pid, o.process_start),
        Some(_) => stale(STALE_AFTER),
        None => stale(REFRESH_EVERY),
    }
}

/// The owner of a live claim on `run` (one whose owner is not gone).
pub fn live_holder(run: &RunDir) -> Option<Owner> {
    let (owner, age) = holder(run)?;
    (!is_gone(Some(&owner), Some(age), &Owner::me())).then_some(owner)
}

/// Removes a claim whose owner is gone (a killed worker's), as the one
/// writer of a folder may.
pub fn remove_if_gone(run: &RunDir) {
    if holder(run).is_some() && live_holder(run).is_none() {
        let _ = fs::remove_file(path(run));
    }
}

fn claim_new(file: &Path, text: &str) -> std::io::Result<Claimed> {
    match OpenOptions::new().write(true).create_new(true).open(file) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            Ok(Claimed::Mine { took_over: None })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Claimed::Theirs(Owner::unknown())),
        Err(e) => Err(e),
    }
}

/// The owner of a claim on `run`, when one is held (by a live worker or not).
pub fn holder(run: &RunDir) -> Option<(Owner, Duration)> {
    let file = path(run);
    let owner = serde_json::from_slice(&fs::read(&file).ok()?).ok()?;
    let age = fs::metadata(&file).and_then(|m| m.modified()).ok()?;
    Some((owner, SystemTime::now().duration_since(age).unwrap_or_default()))
}

/// Removes this process's claim on `run` (never another's).
pub fn release(run: &RunDir) {
    let file = path(run);
    let mine = fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Owner>(&b).ok())
        .is_some_and(|o| o.pid == std::process::id() && o.host == hostname());
    if mine {
        let _ = fs::remove_file(file);
    }
}

/// The claims this process holds, refreshed by a background thread every
/// [`REFRESH_EVERY`] while it lives.
#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<Vec<PathBuf>>>);

impl Held {
    /// Starts the refreshing thread; it ends with the process.
    pub fn start() -> Self {
        let held = Held::default();
        let claims = Arc::clone(&held.0);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(REFRESH_EVERY);
                for file in claims.lock().expect("claims").iter() {
                    if let Ok(f) = OpenOptions::new().write(true).open(file) {
                        let _ = f.set_modified(SystemTime::now());
                    }
                }
            }
        });
        held
    }

    pub fn add(&self, run: &RunDir) {
        self.0.lock().expect("claims").push(path(run));
    }

    /// Releases the claim on `run`.
    pub fn release(&self, run: &RunDir) {
        let file = path(run);
        self.0.lock().expect("claims").retain(|f| *f != file);
        release(run);
    }
}

pub use super::lock::hostname;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_exclusive_and_a_dead_owners_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("actbench-claim-{}", std::process::id()));
        let run = RunDir::new(dir.join("r"));
        assert!(matches!(claim(&run).unwrap(), Claimed::Mine { took_over: None }));
        // Our own claim is not another's: claiming again is refused as held by us.
        assert!(matches!(claim(&run).unwrap(), Claimed::Theirs(o) if o.pid == std::process::id()));
        release(&run);
        assert!(!path(&run).exists());
        // A live process of this host (PID 1) holds it.
        let live = Owner { host: hostname(), pid: 1, started_at: "t".into(), process_start: None };
        fs::write(path(&run), serde_json::to_string(&live).unwrap()).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Theirs(o) if o.pid == 1));
        release(&run); // not ours: stays
        assert!(path(&run).exists());
        // ...until it is not refreshed for STALE_AFTER: a live PID alone keeps no claim (PIDs are reused).
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        OpenOptions::new().write(true).open(path(&run)).unwrap().set_modified(old).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Mine { took_over: Some(o) } if o.pid == 1));
        // PID 1 runs, but not since this start time: another process has the PID now, taken over at once.
        let start = super::super::lock::process_start(1).unwrap();
        let reused = Owner { process_start: Some(start + 1), ..live.clone() };
        fs::write(path(&run), serde_json::to_string(&reused).unwrap()).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Mine { took_over: Some(o) } if o.pid == 1));
        let alive = Owner { process_start: Some(start), ..live };
        fs::write(path(&run), serde_json::to_string(&alive).unwrap()).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Theirs(o) if o.pid == 1));
        // A dead PID of this host: taken over.
        let dead = Owner { host: hostname(), pid: 4_294_967, started_at: "t".into(), process_start: None };
        fs::write(path(&run), serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Mine { took_over: Some(o) } if o.pid == 4_294_967));
        // Another host's, fresh: theirs; not refreshed for longer than STALE_AFTER: taken over.
        let other = Owner { host: "elsewhere".into(), pid: 7, started_at: "t".into(), process_start: None };
        fs::write(path(&run), serde_json::to_string(&other).unwrap()).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Theirs(o) if o.host == "elsewhere"));
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        OpenOptions::new().write(true).open(path(&run)).unwrap().set_modified(old).unwrap();
        assert!(matches!(claim(&run).unwrap(), Claimed::Mine { took_over: Some(o) } if o.host == "elsewhere"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
