//! Successive halving for `[tuning.halving]` and `[search]` (Jamieson and Talwalkar 2016):
//! every setting of each activation trains `min_epochs` epochs, the best
//! 1/eta (by the mean validation metric over seeds, as `[tuning]` chooses)
//! go on to `min_epochs x eta` epochs from their checkpoints, and so on up
//! to `training.epochs`. A setting stopped at a rung keeps its runs' rows so
//! far (saved as runs that stopped early) and a checkpoint to continue from.
//! The rungs depend only on the runs' results, so a resumed grid takes the
//! same decisions.

use std::collections::BTreeMap;

use crate::tuning;
use crate::tuning::settings::{Halving, Select};

use super::plan::Plan;
use super::store::SavedRun;

/// Trains a rung: the runs at these plan indices, each stopping after the
/// epoch `stops` gives it (to the end when absent); `true` when interrupted.
pub(super) type Rung<'a> =
    dyn FnMut(&[usize], &BTreeMap<usize, usize>, &mut Vec<Option<SavedRun>>) -> anyhow::Result<bool> + 'a;

/// Runs every rung of `[tuning.halving]`; `saved` holds what each run has
/// so far (finished, stopped early, or nothing). Returns whether a rung was
/// interrupted.
pub(super) fn train(
    plan: &Plan,
    halving: &Halving,
    saved: &mut Vec<Option<SavedRun>>,
    rung: &mut Rung,
) -> anyhow::Result<bool> {
    let config = &plan.config;
    let tuning = config.tuning.as_ref().expect("halving is part of [tuning]");
    let keys = config.sweep.keys();
    let runs = plan.runs.iter().map(|r| (r.spec.label.as_str(), r.spec.sweep.as_slice(), r.spec.lr));
    let groups = tuning::settings(config, runs).expect("halving is part of [tuning]");
    let epochs_of = |i: usize| plan.config_of(&plan.runs[i]).training.rounds();
    // Per choice group: its rungs and its candidates (settings).
    let groups = groups
        .into_iter()
        .map(|(_, _, candidates)| {
            let most = candidates.iter().flatten().map(|&i| epochs_of(i)).max().unwrap_or(1);
            (halving.rungs(most), candidates)
        })
        .collect();
    let schedule = Schedule {
        groups,
        keep: &|n| n.div_ceil(halving.eta.0),
        score: &|s, r| tuning::score(tuning, s.epochs(&keys).iter(), Some(r)),
        select: tuning.select,
    };
    successive(plan, &schedule, saved, rung)
}

/// A `[search]`'s rungs: every candidate (an activation, its runs the
/// seeds) in one group; after each rung the best share `keep` (rounded up)
/// by the mean validation metric at that rung's epoch goes on (accuracy, or
/// a language model's loss: `Select::of_task`).
pub(super) fn search(
    plan: &Plan,
    rungs: &[usize],
    keep: f64,
    saved: &mut Vec<Option<SavedRun>>,
    rung: &mut Rung,
) -> anyhow::Result<bool> {
    let mut candidates: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, run) in plan.runs.iter().enumerate() {
        match candidates.iter_mut().find(|(label, _)| *label == run.spec.label) {
            Some((_, runs)) => runs.push(i),
            None => candidates.push((run.spec.label.clone(), vec![i])),
        }
    }
    let keys = plan.config.sweep.keys();
    let select = Select::of_task(plan.config.data.dataset.is_text());
    let schedule = Schedule {
        groups: vec![(rungs.to_vec(), candidates.into_iter().map(|(_, runs)| runs).collect())],
        keep: &|n| keep_of(n, keep),
        score: &|s, r| search_score(&s.epochs(&keys), r, select),
        select,
    };
    successive(plan, &schedule, saved, rung)
}

/// How many of `n` candidates go on when the share `keep` does (at least one).
pub fn keep_of(n: usize, keep: f64) -> usize {
    ((n as f64 * keep).ceil() as usize).clamp(1, n.max(1))
}

/// A search candidate's run's score at rung epoch `r`: its validation
/// metric `select` after that epoch (NaN when it has no row there).
pub fn search_score(epochs: &[crate::results::records::EpochRecord], r: usize, select: Select) -> f64 {
    epochs.iter().find(|e| e.epoch == r).map_or(f64::NAN, |e| select.of(e))
}

/// Groups of candidates, each with its rungs (epochs), and how a rung
/// keeps some: `keep(n)` of `n`, by `score(run, rung epoch)` averaged over
/// a candidate's runs.
struct Schedule<'a> {
    groups: Vec<(Vec<usize>, Vec<Vec<usize>>)>,
    keep: &'a dyn Fn(usize) -> usize,
    score: &'a dyn Fn(&SavedRun, usize) -> f64,
    select: Select,
}

/// Successive halving over `schedule`; the rungs depend only on the runs'
/// results, so a resumed grid takes the same decisions.
fn successive(
    plan: &Plan,
    schedule: &Schedule,
    saved: &mut Vec<Option<SavedRun>>,
    rung: &mut Rung,
) -> anyhow::Result<bool> {
    let epochs_of = |i: usize| plan.config_of(&plan.runs[i]).training.rounds();
    let mut alive: Vec<(&Vec<usize>, Vec<&Vec<usize>>)> =
        schedule.groups.iter().map(|(rungs, candidates)| (rungs, candidates.iter().collect())).collect();
    let depth = alive.iter().map(|(rungs, _)| rungs.len()).max().unwrap_or(0);
    for k in 0..depth {
        let mut todo = Vec::new();
        let mut stops = BTreeMap::new();
        for (rungs, candidates) in &alive {
            let Some(&r) = rungs.get(k) else { continue };
            for &i in candidates.iter().copied().flatten() {
                let target = r.min(epochs_of(i));
                let done =
                    saved[i].as_ref().is_some_and(|s| s.summary.diverged || s.summary.epochs_completed >= target);
                if !done {
                    todo.push(i);
                    if target < epochs_of(i) {
                        stops.insert(i, target);
                    }
                }
            }
        }
        todo.sort_unstable();
        if rung(&todo, &stops, saved)? {
            return Ok(true);
        }
        for (rungs, candidates) in &mut alive {
            let (Some(&r), true) = (rungs.get(k), k + 1 < rungs.len()) else { continue };
            let scores: Vec<Option<f64>> = candidates
                .iter()
                .map(|runs| {
                    let values: Vec<f64> = runs
                        .iter()
                        .map(|&i| match &saved[i] {
                            Some(s) if !diverged_by(s, r) => (schedule.score)(s, r),
                            _ => f64::NAN,
                        })
                        .collect();
                    values.iter().all(|v| v.is_finite()).then(|| values.iter().sum::<f64>() / values.len() as f64)
                })
                .collect();
            let mut kept = tuning::best(schedule.select, &scores, (schedule.keep)(candidates.len()));
            kept.sort_unstable();
            *candidates = kept.into_iter().map(|j| candidates[j]).collect();
        }
    }
    Ok(false)
}

/// Whether `saved` had diverged by the end of epoch `r`: a run that
/// diverged in a later rung was scored at `r` on what it was then, so a
/// resumed grid (or a worker reading it back) takes the same decision.
fn diverged_by(saved: &SavedRun, r: usize) -> bool {
    saved.summary.diverged && saved.summary.diverged_epoch.is_none_or(|e| e <= r)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::super::plan::{Plan, PlannedRun};
    use super::super::store::SavedRun;
    use crate::config::Config;
    use crate::config::values::Count;
    use crate::results::records::{EpochRecord, RunRecords, RunSummary};
    use crate::tuning::settings::Halving;

    /// A run of `spec` with validation accuracy `vals[e - 1]` after epoch e;
    /// diverged in the epoch after the last, when `diverged`.
    fn saved(spec: &crate::grid::RunSpec, vals: &[f64], diverged: bool) -> SavedRun {
        let summary = RunSummary {
            diverged,
            diverged_epoch: diverged.then_some(vals.len() + 1),
            diverged_step: diverged.then_some(10),
            epochs_completed: vals.len() + usize::from(diverged),
            ..RunSummary::example(&spec.id, &spec.label, spec.seed)
        };
        let epochs: Vec<EpochRecord> =
            vals.iter().enumerate().map(|(e, &v)| EpochRecord::example(&summary, e + 1, v)).collect();
        let records = RunRecords { epochs, recorded: Vec::new(), summary };
        SavedRun::new(&records)
    }

    /// Four candidates, rungs [1, 4], half kept: `a` led after epoch 1 and
    /// diverged in epoch 2. Taken again from the saved runs (a resumed
    /// search, a worker reading the others' results), the first rung keeps
    /// what it kept when it was decided (a and b), not c in a's place.
    #[test]
    fn a_run_that_diverged_in_a_later_rung_keeps_its_earlier_decision() {
        let text = "activations = [\"relu\", \"tanh\", \"sigmoid\", \"gelu\"]\n[experiment]\nseeds = 1\n[training]\nepochs = 4\n";
        let config = Config::parse(text, Path::new("t.toml"), "t").unwrap();
        let runs: Vec<PlannedRun> =
            crate::grid::expand(&config).into_iter().map(|spec| PlannedRun { spec, hash: String::new() }).collect();
        let mut saved: Vec<Option<SavedRun>> = vec![
            Some(saved(&runs[0].spec, &[0.9], true)),
            Some(saved(&runs[1].spec, &[0.5], false)),
            Some(saved(&runs[2].spec, &[0.4], false)),
            Some(saved(&runs[3].spec, &[0.3], false)),
        ];
        let plan = Plan { config: config.clone(), points: vec![config], runs };
        let mut asked: Vec<(Vec<usize>, BTreeMap<usize, usize>)> = Vec::new();
        let mut rung = |todo: &[usize], stops: &BTreeMap<usize, usize>, _: &mut Vec<Option<SavedRun>>| {
            asked.push((todo.to_vec(), stops.clone()));
            Ok(false)
        };
        assert!(!super::search(&plan, &[1, 4], 0.5, &mut saved, &mut rung).unwrap());
        assert_eq!(asked, [(vec![], BTreeMap::new()), (vec![1], BTreeMap::new())], "only b trains on; a is done");
    }

    #[test]
    fn rungs_multiply_by_eta_up_to_the_epochs() {
        let h = |eta, min| Halving { eta: Count(eta), min_epochs: Count(min) };
        assert_eq!(h(3, 1).rungs(5), [1, 3, 5]);
        assert_eq!(h(2, 1).rungs(8), [1, 2, 4, 8]);
        assert_eq!(h(3, 2).rungs(18), [2, 6, 18]);
        assert_eq!(h(3, 4).rungs(4), [4]);
        assert_eq!(h(1000, 1).rungs(10), [1, 10]);
    }
}
