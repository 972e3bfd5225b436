//! A fork-join team for work too small for rayon's hand-off: the calling
//! thread and `rayon::current_num_threads() - 1` helper threads that keep
//! spinning for a short while after each job, as OpenMP's threads (which
//! PyTorch uses) do, instead of going to sleep at once.
//!
//! Why: the MLP workloads multiply 128 x 128 by 128 x 128 matrices, about
//! 30 us each on one core here. Handing half of such a product to a rayon
//! worker costs about as much as it saves (two products: 60 us one after the
//! other, 52 us with `rayon::join` back to back, and no gain at all with
//! 100 us of other work between calls, the shape of a training step: the
//! worker has gone to sleep and waking it is a futex call and a virtual
//! CPU's wake-up). PyTorch's threads spin between products and so split
//! even these; its MLP throughput on these 2 cores depends on the other core
//! being free. A helper here spins for `SPIN` after each job, yielding the
//! core to anything else runnable, then sleeps on a condition variable; the
//! first job after a sleep pays the wake-up once.
//!
//! Parts are claimed from a shared counter by whichever member is free, so
//! a member that starts late (a helper waking up, a core taken by another
//! process) leaves its parts to the others instead of holding the job up.
//!
//! Determinism: part `p` of a job always computes the same thing whichever
//! thread runs it, so results do not depend on the number of threads
//! (callers cut their work into parts of a fixed size).

use std::cell::{RefCell, UnsafeCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a helper waits for the next job before it sleeps: longer than
/// the gaps between products within a training step (tens of microseconds
/// of activations and bookkeeping), shorter than anything a user would see
/// as a busy core after training ends.
const SPIN: Duration = Duration::from_micros(300);

/// Busy-wait iterations (each a `spin_loop` hint) before a waiting thread
/// starts yielding its core (a few microseconds).
const BUSY_ROUNDS: u32 = 64;

/// The job being run: `f`, its number of parts, and the caller's subnormal
/// mode (helpers compute as the caller would).
#[derive(Clone, Copy)]
struct Job {
    f: *const (dyn Fn(usize) + Sync),
    parts: usize,
    flush: bool,
}

struct Shared {
    /// Bumped for every job (and once at shutdown); helpers wait for a change.
    generation: AtomicUsize,
    /// Written by the caller before it bumps `generation`, read by helpers after
    /// they see the new value; the caller does not touch it again before every
    /// helper has counted itself out of `running`.
    job: UnsafeCell<Option<Job>>,
    /// The next part of the current job to claim.
    next: AtomicUsize,
    /// Helpers still working on the current job.
    running: AtomicUsize,
    /// Helpers asleep on `wake` (the caller notifies only when there are some).
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    shutdown: AtomicBool,
    /// A helper's part panicked; the caller panics in turn.
    panicked: AtomicBool,
}

// SAFETY: `job` is written only by the team's owner while no helper reads it
// (see the field comment); the closure it points to is `Sync`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

struct Team {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

thread_local! {
    /// The team of the thread that trains (one per `--jobs` worker).
    static TEAM: RefCell<Option<Team>> = const { RefCell::new(None) };
}

/// Runs `f(0)`, ..., `f(parts - 1)`, spread over the calling thread and the
/// team's helpers (each member claims the next unclaimed part; the team as
/// large as the current rayon pool); returns when all are done. Runs them in
/// order on the calling thread when the pool has one thread, when there is
/// one part, or when called from inside a part.
pub fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    let size = rayon::current_num_threads();
    let sequential = || (0..parts).for_each(f);
    if size <= 1 || parts <= 1 {
        return sequential();
    }
    TEAM.with(|cell| {
        let Ok(mut team) = cell.try_borrow_mut() else { return sequential() };
        if team.as_ref().is_none_or(|t| t.helpers.len() + 1 != size) {
            *team = Some(Team::new(size - 1));
        }
        team.as_ref().expect("just made").run(parts, f);
    })
}

/// Spins, then yields, until `done()`.
fn wait_until(done: impl Fn() -> bool) {
    let mut rounds = 0u32;
    while !done() {
        if rounds < BUSY_ROUNDS {
            std::hint::spin_loop();
            rounds += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

impl Team {
    fn new(helpers: usize) -> Self {
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            next: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
        });
        let helpers = (1..=helpers)
            .map(|member| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("actbench-team-{member}"))
                    .spawn(move || helper(&shared))
                    .expect("spawning a team thread")
            })
            .collect();
        Self { shared, helpers }
    }

    fn run(&self, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        let shared = &*self.shared;
        // SAFETY: only the lifetime is erased; `run` does not return before
        // every helper is done with `f` (the wait below).
        let f: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
        // SAFETY: no helper reads `job` now: all counted out of the last job.
        unsafe { *shared.job.get() = Some(Job { f, parts, flush: crate::maths::denormals::this_thread() }) };
        shared.next.store(0, Ordering::SeqCst);
        shared.running.store(self.helpers.len(), Ordering::SeqCst);
        shared.generation.fetch_add(1, Ordering::SeqCst);
        if shared.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            shared.wake.notify_all();
        }
        // SAFETY: as above: `f` outlives this call.
        let own = catch_unwind(AssertUnwindSafe(|| claim_parts(shared, parts, |p| unsafe { (*f)(p) })));
        wait_until(|| shared.running.load(Ordering::Acquire) == 0);
        if let Err(panic) = own {
            std::panic::resume_unwind(panic);
        }
        if shared.panicked.swap(false, Ordering::SeqCst) {
            panic!("a part of a team job panicked (see the message above)");
        }
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        {
            let _guard = self.shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for helper in self.helpers.drain(..) {
            let _ = helper.join();
        }
    }
}

/// Claims and runs parts of the current job until none is left.
fn claim_parts(shared: &Shared, parts: usize, run: impl Fn(usize)) {
    loop {
        let p = shared.next.fetch_add(1, Ordering::AcqRel);
        if p >= parts {
            return;
        }
        run(p);
    }
}

/// A helper's life: wait for a new generation (spin, yield, then sleep), run
/// its parts of the job, count itself out.
fn helper(shared: &Shared) {
    let mut seen = 0;
    let mut flush = None;
    loop {
        let started = Instant::now();
        let mut rounds = 0u32;
        loop {
            if shared.generation.load(Ordering::Acquire) != seen {
                break;
            }
            if rounds < BUSY_ROUNDS {
                std::hint::spin_loop();
                rounds += 1;
            } else if started.elapsed() < SPIN {
                std::thread::yield_now();
            } else {
                let mut guard = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
                shared.sleepers.fetch_add(1, Ordering::SeqCst);
                while shared.generation.load(Ordering::SeqCst) == seen {
                    guard = shared.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                shared.sleepers.fetch_sub(1, Ordering::SeqCst);
            }
        }
        seen = shared.generation.load(Ordering::Acquire);
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        // SAFETY: the caller wrote the job before bumping the generation and
        // keeps it (and the closure) alive until `running` reaches 0.
        let job = unsafe { (*shared.job.get()).expect("a job comes with its generation") };
        if flush != Some(job.flush) {
            crate::maths::denormals::set_this_thread(job.flush);
            flush = Some(job.flush);
        }
        // SAFETY: as above.
        let parts = catch_unwind(AssertUnwindSafe(|| claim_parts(shared, job.parts, |p| unsafe { (*job.f)(p) })));
        if parts.is_err() {
            shared.panicked.store(true, Ordering::SeqCst);
        }
        shared.running.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Every part runs exactly once, on 1 to 4 threads, for part counts below,
    /// at and above the team size, over many jobs in a row (with pauses long
    /// enough for the helpers to fall asleep in between).
    #[test]
    fn every_part_runs_once() {
        for threads in 1..=4 {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                for job in 0..200 {
                    let parts = job % 9 + 1;
                    let counts: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
                    run(parts, &|p| {
                        counts[p].fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{threads} threads, job {job}");
                    if job % 50 == 0 {
                        std::thread::sleep(SPIN * 3);
                    }
                }
            });
        }
    }

    /// The parts run on different threads when the pool has several: each
    /// part waits (up to 10 s) until both have started, which only two
    /// threads can do at once.
    #[test]
    fn parts_are_spread_over_the_team() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let names = Mutex::new(Vec::new());
        let started = AtomicUsize::new(0);
        pool.install(|| {
            run(2, &|_| {
                names.lock().unwrap().push(std::thread::current().id());
                started.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                while started.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
            });
        });
        let names = names.into_inner().unwrap();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
    }

    /// A panic in a helper's part reaches the caller instead of hanging it,
    /// and the team keeps working afterwards.
    #[test]
    fn a_panicking_part_panics_the_caller() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            let result = catch_unwind(|| run(2, &|p| assert!(p != 1, "part 1 fails")));
            assert!(result.is_err());
            let done = AtomicUsize::new(0);
            run(2, &|_| {
                done.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(done.load(Ordering::Relaxed), 2);
        });
    }
}
