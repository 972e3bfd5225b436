//! Successive halving for `[tuning.halving]` (Jamieson and Talwalkar 2016):
//! every setting of each activation trains `min_epochs` epochs, the best
//! 1/eta (by the mean validation metric over seeds, as `[tuning]` chooses)
//! go on to `min_epochs x eta` epochs from their checkpoints, and so on up
//! to `training.epochs`. A setting stopped at a rung keeps its runs' rows so
//! far (saved as runs that stopped early) and a checkpoint to continue from.
//! The rungs depend only on the runs' results, so a resumed grid takes the
//! same decisions.

use std::collections::BTreeMap;

use crate::config::Halving;
use crate::tuning;

use super::plan::Plan;
use super::store::SavedRun;

/// Trains a rung: the runs at these plan indices, each stopping after the
/// epoch `stops` gives it (to the end when absent); `true` when interrupted.
pub(super) type Rung<'a> =
    dyn FnMut(&[usize], &BTreeMap<usize, usize>, &mut Vec<Option<SavedRun>>) -> anyhow::Result<bool> + 'a;

/// Runs every rung; `saved` holds what each run has so far (finished,
/// stopped early, or nothing). Returns whether a rung was interrupted.
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
    let epochs_of = |i: usize| plan.config_of(&plan.runs[i]).training.epochs.0;
    // Per choice group: its rungs and the candidates still in.
    let mut alive: Vec<(Vec<usize>, Vec<&Vec<usize>>)> = groups
        .iter()
        .map(|(_, _, candidates)| {
            let most = candidates.iter().flatten().map(|&i| epochs_of(i)).max().unwrap_or(1);
            (halving.rungs(most), candidates.iter().collect())
        })
        .collect();
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
                            Some(s) if !s.summary.diverged => tuning::score(tuning, s.epochs(&keys).iter(), Some(r)),
                            _ => f64::NAN,
                        })
                        .collect();
                    values.iter().all(|v| v.is_finite()).then(|| values.iter().sum::<f64>() / values.len() as f64)
                })
                .collect();
            let keep = candidates.len().div_ceil(halving.eta.0);
            let mut kept = tuning::best(tuning.select, &scores, keep);
            kept.sort_unstable();
            *candidates = kept.into_iter().map(|j| candidates[j]).collect();
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use crate::config::{Count, Halving};

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
