//! `run --worker` (and `--shard I/N`): one of any number of processes, on
//! any number of hosts, training the runs of one plan into one shared
//! results folder. Each run is claimed right before it trains (claim.rs), so
//! runs that differ 10x in cost balance themselves without a static
//! partition; `--shard I/N` restricts a worker to the runs whose grid index
//! is I-1 modulo N. Workers take no folder lock and write no combined table:
//! `actbench merge DIR` does that once they are done (merge.rs).

use std::sync::Mutex;

use crate::config::Config;
use crate::progress::GridProgress;
use crate::records::RunSummary;
use crate::results_dir::ResultsDir;

use super::claim::{self, Claimed, Held};
use super::execute::{self, Gate};
use super::store::{self, Found, SavedRun};
use super::{Options, Plan, plan};

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
}

/// Successive halving waits for each rung's results before the next, which
/// workers that each claim runs on their own cannot do.
pub fn refuse_halving(config: &Config) -> anyhow::Result<()> {
    if config.search.is_some() {
        anyhow::bail!(
            "key `search`: a search trains its rungs one after another, each waiting for the one before, which workers sharing a folder cannot: run it with one `actbench run` (--jobs N)"
        );
    }
    if config.tuning.as_ref().is_some_and(|t| t.halving.is_some()) {
        anyhow::bail!(
            "key `tuning.halving`: successive halving waits for each rung's results before the next, which workers sharing a folder cannot: train it with one `actbench run` (--jobs N), or remove [tuning.halving]"
        );
    }
    Ok(())
}

/// Claims runs of the plan one at a time and trains them until none is left.
pub fn work(config: &Config, options: &Options, shard: Option<Shard>) -> anyhow::Result<Worked> {
    refuse_halving(config)?;
    let device = crate::backend::device(options.backend)?;
    super::budget::check(config, options.jobs)?;
    let (plan, mut data) = plan::plan(config, &options.data_dir)?;
    let out = ResultsDir::new(&options.out);
    store::create(&out)?;
    // Every worker writes the same resolved config (atomically).
    store::write_config(&out, &plan.config, options.backend)?;
    let share: Vec<usize> = (0..plan.runs.len()).filter(|&i| shard.is_none_or(|s| s.contains(i))).collect();
    let mut progress = GridProgress::new(options.progress, share.len());
    let (saved, mut pending) = super::sort_runs(&plan, &out, &share, options.force, false, &mut progress);
    let finished_before = saved.iter().flatten().count();
    let gate =
        Claims { plan: &plan, out: &out, held: Held::start(), others: Mutex::new(Vec::new()), force: options.force };
    let mut trained: Vec<(usize, RunSummary)> = Vec::new();
    // Passes over what is left: a run another worker held in one pass may be
    // free in the next (that worker was stopped and released it).
    for pass in 0.. {
        gate.others.lock().expect("claims").clear();
        let executed = execute::execute(
            &plan,
            execute::Subset { runs: &pending, stops: &Default::default() },
            options.jobs,
            &mut data,
            &device,
            &out,
            &mut progress,
            Some(&gate),
            |t| {
                let run = &plan.runs[t.index];
                let manifest = super::manifest(&plan, run, options, &device, t);
                store::write_run(&out, run, &SavedRun::new(&t.records), manifest)?;
                trained.push((t.index, t.records.summary.clone()));
                Ok(())
            },
        );
        if executed? {
            progress.finish();
            anyhow::bail!(
                "interrupted: this worker saved {} runs in '{}'; its run in progress was dropped and its claim released",
                trained.len(),
                out.root().display()
            );
        }
        // What is neither trained here nor finished by another worker, and not held by a live one.
        pending.retain(|&i| {
            !trained.iter().any(|(t, _)| *t == i)
                && !matches!(store::finished(&out, &plan.runs[i]), Found::Finished(_))
                && claim::holder(&out.run(&plan.runs[i].spec.id)).is_none()
        });
        // Each pass claims what the last one left free; the cap only guards
        // against workers that keep releasing runs without training them.
        if pending.is_empty() || pass >= share.len() {
            break;
        }
    }
    progress.finish();
    let trained: Vec<RunSummary> = trained.into_iter().map(|(_, s)| s).collect();
    let mut claimed_by_others = gate.others.into_inner().expect("claims");
    claimed_by_others.sort();
    claimed_by_others.dedup();
    Ok(Worked { trained, finished_before, claimed_by_others, share: share.len() })
}

/// The worker's gate: claim a run before training it, release it after.
struct Claims<'a> {
    plan: &'a Plan,
    out: &'a ResultsDir,
    held: Held,
    /// Runs another live worker held when this one wanted them.
    others: Mutex<Vec<String>>,
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
                // Another worker may have finished it since this one looked.
                if !self.force && matches!(store::finished(self.out, run), Found::Finished(_)) {
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
