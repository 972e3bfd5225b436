//! `run --worker` (and `--shard I/N`): one of any number of processes, on
//! any number of hosts, training the runs of one plan into one shared
//! results folder. Each run is claimed right before it trains (claim.rs), so
//! runs that differ 10x in cost balance themselves without a static
//! partition; `--shard I/N` restricts a worker to the runs whose grid index
//! is I-1 modulo N. Successive halving (`[tuning.halving]`, a `[search]`)
//! works the same way rung by rung, each worker waiting at the end of a
//! rung for the runs others hold. Workers take no folder lock and write no
//! combined table: `actbench merge DIR` does that once they are done
//! (merge.rs).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::progress::GridProgress;
use crate::results::dir::ResultsDir;
use crate::results::records::RunSummary;

use super::claim::{self, Claimed, Held};
use super::execute::{self, Gate};
use super::store::{self, Found, SavedRun};
use super::{Options, Plan, Stage, halving, plan, reached};

/// A fixed share of the grid: runs whose index is `index - 1` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` with 1 <= I <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard `{}`: give I/N with 1 <= I <= N, e.g. 1/4", text.escape_debug());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, grid_index: usize) -> bool {
        grid_index % self.count == self.index - 1
    }
}

/// What one worker did.
pub struct Worked {
    pub trained: Vec<RunSummary>,
    /// Runs of its share already finished when it looked.
    pub finished_before: usize,
    /// Runs of its share held by other live workers when it last looked.
    pub claimed_by_others: Vec<String>,
    pub share: usize,
    /// Every run of the plan it saw saved when it stopped, in grid order
    /// (all of them after successive halving, which waits for every rung).
    pub runs: Vec<SavedRun>,
}

/// How often a worker waiting for a rung looks at the runs other workers train.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Claims runs of the plan one at a time and trains them until none is left.
pub fn work(config: &Config, options: &Options, shard: Option<Shard>) -> anyhow::Result<Worked> {
    work_stage(config, options, shard, &Stage::Experiment)
}

/// [`work`] as `stage` says. Successive halving (`[tuning.halving]`, a
/// `[search]`'s rungs) decides each rung from every run's results, so each
/// worker trains what it can claim of a rung and then waits for the runs
/// other workers hold, reading their results from the folder; every worker
/// takes the same decisions (they depend on the results alone), so no
/// coordinator is needed.
pub fn work_stage(config: &Config, options: &Options, shard: Option<Shard>, stage: &Stage) -> anyhow::Result<Worked> {
    let device = crate::backend::device(options.backend)?;
    super::budget::check(config, options.jobs)?;
    let (plan, mut data) = plan::plan(config, &options.data_dir)?;
    let halving = plan.config.tuning.as_ref().and_then(|t| t.halving);
    let rungs = halving.is_some() || matches!(stage, Stage::Search { .. });
    if rungs && options.force {
        anyhow::bail!(
            "--force with --worker: successive halving reads the other workers' results from the folder, which --force would ignore; remove the runs to train again from '{}' instead",
            options.out.display()
        );
    }
    let out = ResultsDir::new(&options.out);
    store::create(&out)?;
    // Every worker writes the same resolved config (atomically).
    store::write_config(&out, &plan.config, options.backend)?;
    let share: Vec<usize> = (0..plan.runs.len()).filter(|&i| shard.is_none_or(|s| s.contains(i))).collect();
    let all: Vec<usize> = (0..plan.runs.len()).collect();
    // Halving needs every run's results for its decisions, not only the share's.
    let seen = if rungs { &all } else { &share };
    let mut progress = GridProgress::new(options.progress, seen.len());
    let (mut saved, pending) = super::sort_runs(&plan, &out, seen, options.force, rungs, &mut progress);
    let finished_before =
        share.iter().filter(|&&i| saved[i].as_ref().is_some_and(|s| reached(&plan, &plan.runs[i], s, None))).count();
    let gate = Claims {
        plan: &plan,
        out: &out,
        held: Held::start(),
        others: Mutex::new(Vec::new()),
        stops: Mutex::new(BTreeMap::new()),
        force: options.force,
    };
    let mut trained: Vec<RunSummary> = Vec::new();
    let mut rung = |todo: &[usize], stops: &BTreeMap<usize, usize>, saved: &mut Vec<Option<SavedRun>>| {
        let mut train = |runs: &[usize], saved: &mut Vec<Option<SavedRun>>, progress: &mut GridProgress| {
            let subset = execute::Subset { runs, stops };
            execute::execute(&plan, subset, options.jobs, &mut data, &device, &out, progress, Some(&gate), |t| {
                let run = &plan.runs[t.index];
                let manifest = super::manifest(&plan, run, options, &device, t);
                let run_saved = SavedRun::new(&t.records);
                store::write_run(&out, run, &run_saved, manifest)?;
                saved[t.index] = Some(run_saved);
                trained.push(t.records.summary.clone());
                Ok(())
            })
        };
        let pass = Pass { plan: &plan, out: &out, shard, stops, wait: rungs };
        pass.run(todo, &gate, saved, &mut progress, &mut train)
    };
    let interrupted = match (stage, &halving) {
        (Stage::Search { rungs, keep }, _) => halving::search(&plan, rungs, *keep, &mut saved, &mut rung),
        (Stage::Experiment, None) => rung(&pending, &BTreeMap::new(), &mut saved),
        (Stage::Experiment, Some(halving)) => halving::train(&plan, halving, &mut saved, &mut rung),
    };
    progress.finish();
    if interrupted? {
        anyhow::bail!(
            "interrupted: this worker saved {} runs in '{}'; its run in progress was dropped and its claim released",
            trained.len(),
            out.root().display()
        );
    }
    let mut claimed_by_others = gate.others.into_inner().expect("claims");
    claimed_by_others.sort();
    claimed_by_others.dedup();
    Ok(Worked {
        trained,
        finished_before,
        claimed_by_others,
        share: share.len(),
        runs: saved.into_iter().flatten().collect(),
    })
}

/// Trains the runs it can claim of these, saving each into `saved`;
/// `true` when interrupted.
type Train<'a> = dyn FnMut(&[usize], &mut Vec<Option<SavedRun>>, &mut GridProgress) -> anyhow::Result<bool> + 'a;

/// One rung as a worker trains it.
struct Pass<'a> {
    plan: &'a Plan,
    out: &'a ResultsDir,
    shard: Option<Shard>,
    /// The rung's stops (epochs) per run; the others train to the end.
    stops: &'a BTreeMap<usize, usize>,
    /// Whether to wait until every run of the rung is trained, by any worker.
    wait: bool,
}

impl Pass<'_> {
    /// Trains `todo` with the others; `true` when interrupted.
    fn run(
        &self,
        todo: &[usize],
        gate: &Claims,
        saved: &mut Vec<Option<SavedRun>>,
        progress: &mut GridProgress,
        train: &mut Train,
    ) -> anyhow::Result<bool> {
        *gate.stops.lock().expect("stops") = self.stops.clone();
        let mine = |i: usize| self.shard.is_none_or(|s| s.contains(i));
        let done = |i: usize, saved: &[Option<SavedRun>]| {
            saved[i].as_ref().is_some_and(|s| reached(self.plan, &self.plan.runs[i], s, self.stops.get(&i).copied()))
        };
        let mut said_waiting = false;
        // Passes over what is left: a run another worker held in one pass may be
        // free in the next (that worker was stopped and released it).
        for pass in 0.. {
            gate.others.lock().expect("claims").clear();
            let free: Vec<usize> = todo.iter().copied().filter(|&i| mine(i) && !done(i, saved)).collect();
            if !free.is_empty() && train(&free, saved, progress)? {
                return Ok(true);
            }
            // What the other workers finished meanwhile.
            for &i in todo {
                if !done(i, saved)
                    && let Found::Finished(found) = store::finished(self.out, &self.plan.runs[i])
                {
                    saved[i] = Some(*found);
                }
            }
            let left: Vec<usize> = todo.iter().copied().filter(|&i| !done(i, saved)).collect();
            if left.is_empty() {
                return Ok(false);
            }
            let claimable = left
                .iter()
                .any(|&i| mine(i) && claim::live_holder(&self.out.run(&self.plan.runs[i].spec.id)).is_none());
            if !self.wait {
                // The cap only guards against workers that keep releasing runs without training them.
                if !claimable || pass >= todo.len() {
                    return Ok(false);
                }
                continue;
            }
            if claimable {
                continue;
            }
            if !said_waiting {
                progress.note(&format!(
                    "worker: waiting for {} runs other workers train: successive halving's next rung needs their results",
                    left.len()
                ));
                said_waiting = true;
            }
            let until = Instant::now() + POLL_EVERY;
            while Instant::now() < until {
                if crate::interrupt::requested() {
                    return Ok(true);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!("the passes end by returning")
    }
}

/// The worker's gate: claim a run before training it, release it after.
struct Claims<'a> {
    plan: &'a Plan,
    out: &'a ResultsDir,
    held: Held,
    /// Runs another live worker held when this one wanted them.
    others: Mutex<Vec<String>>,
    /// The stops (epochs) of the rung being trained.
    stops: Mutex<BTreeMap<usize, usize>>,
    force: bool,
}

impl Gate for Claims<'_> {
    fn enter(&self, index: usize) -> anyhow::Result<bool> {
        let run = &self.plan.runs[index];
        let dir = self.out.run(&run.spec.id);
        let claimed = claim::claim(&dir)
            .map_err(|e| anyhow::anyhow!("cannot claim run `{}` in '{}': {e}", run.spec.id, dir.path().display()))?;
        match claimed {
            Claimed::Theirs(owner) => {
                self.others.lock().expect("claims").push(format!("{} ({})", run.spec.id, owner.describe()));
                Ok(false)
            }
            Claimed::Mine { took_over } => {
                // Another worker may have trained it as far since this one looked.
                let stop = self.stops.lock().expect("stops").get(&index).copied();
                if !self.force
                    && matches!(store::finished(self.out, run), Found::Finished(s) if reached(self.plan, run, &s, stop))
                {
                    claim::release(&dir);
                    return Ok(false);
                }
                if let Some(owner) = took_over {
                    eprintln!(
                        "warning: run `{}`: took over the claim of {}, which is gone",
                        run.spec.id,
                        owner.describe()
                    );
                }
                self.held.add(&dir);
                Ok(true)
            }
        }
    }

    fn leave(&self, index: usize) {
        self.held.release(&self.out.run(&self.plan.runs[index].spec.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_grid_and_bad_ones_are_refused() {
        let a = Shard::parse("1/2").unwrap();
        let b = Shard::parse(" 2 / 2 ").unwrap();
        assert_eq!((0..5).filter(|&i| a.contains(i)).collect::<Vec<_>>(), [0, 2, 4]);
        assert_eq!((0..5).filter(|&i| b.contains(i)).collect::<Vec<_>>(), [1, 3]);
        for bad in ["3/2", "0/2", "1/0", "x", "1/", "-1/2"] {
            assert!(Shard::parse(bad).unwrap_err().contains("1 <= I <= N"), "{bad}");
        }
    }
}
