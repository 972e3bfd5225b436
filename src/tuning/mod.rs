//! `[tuning]`: for each activation (and each setting of the keys not
//! tuned), the setting of the tuned keys with the best mean validation
//! metric over seeds. Only the validation columns of epochs.csv are read,
//! never a test column, so the test accuracy reported at the chosen
//! setting is not selected on (Eger et al. 2018 compare activations each
//! at its best configuration; this chooses that configuration on held-out
//! validation data). The report and `check` share it.

pub mod draw;
pub mod settings;

use settings::{Select, SelectEpoch, Tuning};

use crate::config::Config;
use crate::results::records::{EpochRecord, RunSummary};

/// One setting of one activation: the runs that differ only by seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub activation: String,
    pub sweep: Vec<String>,
    pub lr: f64,
    pub run_ids: Vec<String>,
    /// Per run, the selection metric; NaN where the run has none or diverged.
    pub values: Vec<f64>,
    /// Mean of `values`; `None` when some run has no finite value (a setting
    /// that diverges on one seed is not chosen while another is finite).
    pub score: Option<f64>,
    /// The epoch successive halving stopped it at (`None`: trained to the end).
    pub stopped_at: Option<usize>,
}

/// The settings one activation was tuned over, with what held them fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub activation: String,
    /// The values of the swept keys not tuned (in `Tuned::fixed_keys` order),
    /// and the lr where the lr is not tuned.
    pub fixed: Vec<String>,
    /// Indices into `Tuned::candidates`, in grid order.
    pub candidates: Vec<usize>,
    /// The chosen one (an index into `Tuned::candidates`): the best score,
    /// the first in grid order on a tie or when none has a score.
    pub chosen: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    pub select: Select,
    pub epoch: SelectEpoch,
    /// The tuned keys (`training.lr` and/or swept keys), as `[tuning]` lists them.
    pub tuned_keys: Vec<String>,
    /// The keys a choice holds fixed: swept keys not tuned, then `training.lr` when not tuned.
    pub fixed_keys: Vec<String>,
    pub candidates: Vec<Candidate>,
    pub choices: Vec<Choice>,
}

impl Tuned {
    /// Whether the candidate at `index` is some activation's chosen setting.
    pub fn is_chosen(&self, index: usize) -> bool {
        self.choices.iter().any(|c| c.chosen == index)
    }

    /// The value of tuned key `key` at candidate `c` as the CSVs show it.
    pub fn value_of(&self, keys: &[String], c: &Candidate, key: &str) -> String {
        if key == "training.lr" {
            return crate::activation::format_number(c.lr);
        }
        keys.iter().position(|k| k == key).map_or_else(String::new, |i| c.sweep[i].clone())
    }
}

/// A choice group: the activation, the values of the keys it holds fixed,
/// and its candidates, each the indices of its runs.
pub type Setting = (String, Vec<String>, Vec<Vec<usize>>);

/// Runs (each as its activation label, sweep values and lr) grouped as
/// `[tuning]` compares them: the choice groups (an activation at one setting
/// of the keys not tuned), each with its fixed values and its candidates
/// (settings of the tuned keys), each candidate the indices of its runs; all
/// in the order of `runs`. `None` without `[tuning]`.
pub fn settings<'a>(
    config: &Config,
    runs: impl IntoIterator<Item = (&'a str, &'a [String], f64)>,
) -> Option<Vec<Setting>> {
    let tuning = config.tuning.as_ref()?;
    let keys = config.sweep.keys();
    let tune_lr = tuning.tune.iter().any(|k| k == "training.lr");
    let fixed_at: Vec<usize> = (0..keys.len()).filter(|&i| !tuning.tune.contains(&keys[i])).collect();
    let mut groups: Vec<Setting> = Vec::new();
    let mut seen: Vec<(String, Vec<String>, f64, usize, usize)> = Vec::new();
    for (i, (activation, sweep, lr)) in runs.into_iter().enumerate() {
        if let Some(&(.., g, c)) = seen.iter().find(|s| s.0 == activation && s.1 == sweep && s.2 == lr) {
            groups[g].2[c].push(i);
            continue;
        }
        let mut fixed: Vec<String> = fixed_at.iter().map(|&k| sweep[k].clone()).collect();
        if !tune_lr {
            fixed.push(crate::activation::format_number(lr));
        }
        let g = match groups.iter().position(|(a, f, _)| a == activation && *f == fixed) {
            Some(g) => g,
            None => {
                groups.push((activation.to_string(), fixed, Vec::new()));
                groups.len() - 1
            }
        };
        groups[g].2.push(vec![i]);
        seen.push((activation.to_string(), sweep.to_vec(), lr, g, groups[g].2.len() - 1));
    }
    Some(groups)
}

/// The keys a choice holds fixed: the swept keys not tuned, then
/// `training.lr` when it is not tuned.
fn fixed_keys(config: &Config, tuning: &Tuning) -> Vec<String> {
    let mut fixed: Vec<String> = config.sweep.keys().into_iter().filter(|k| !tuning.tune.contains(k)).collect();
    if !tuning.tune.iter().any(|k| k == "training.lr") {
        fixed.push("training.lr".into());
    }
    fixed
}

/// The choices of `config`'s `[tuning]` among the runs of `summaries`
/// (with their `epochs`); `None` without `[tuning]`. Settings stopped early
/// by successive halving (runs that neither finished their epochs nor
/// diverged) are never chosen while a setting of the same group finished.
pub fn choose(config: &Config, summaries: &[RunSummary], epochs: &[EpochRecord]) -> Option<Tuned> {
    let tuning = config.tuning.as_ref()?;
    let groups = settings(config, summaries.iter().map(|s| (s.activation.as_str(), s.sweep.as_slice(), s.lr)))?;
    let full = full_epochs(config);
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut choices: Vec<Choice> = Vec::new();
    for (activation, fixed, settings) in groups {
        let first = candidates.len();
        for runs in settings {
            let s0 = &summaries[runs[0]];
            let values: Vec<f64> = runs
                .iter()
                .map(|&r| {
                    let s = &summaries[r];
                    if s.diverged {
                        f64::NAN
                    } else {
                        score(tuning, epochs.iter().filter(|e| e.run_id == s.run_id), None)
                    }
                })
                .collect();
            let (epochs_full, patience) =
                full.iter().find(|(sweep, ..)| *sweep == s0.sweep).map_or((usize::MAX, None), |f| (f.1, f.2));
            let stopped = runs.iter().map(|&r| &summaries[r]).any(|s| !s.ran_to_its_end(epochs_full, patience));
            candidates.push(Candidate {
                activation: activation.clone(),
                sweep: s0.sweep.clone(),
                lr: s0.lr,
                run_ids: runs.iter().map(|&r| summaries[r].run_id.clone()).collect(),
                score: values.iter().all(|v| v.is_finite()).then(|| values.iter().sum::<f64>() / values.len() as f64),
                values,
                stopped_at: stopped.then(|| runs.iter().map(|&r| summaries[r].epochs_completed).max().unwrap_or(0)),
            });
        }
        let indices: Vec<usize> = (first..candidates.len()).collect();
        let finished: Vec<usize> = indices.iter().copied().filter(|&i| candidates[i].stopped_at.is_none()).collect();
        let eligible = if finished.is_empty() { &indices } else { &finished };
        let scores: Vec<Option<f64>> = eligible.iter().map(|&i| candidates[i].score).collect();
        let chosen = eligible[best(tuning.select, &scores, 1)[0]];
        choices.push(Choice { activation, fixed, candidates: indices, chosen });
    }
    Some(Tuned {
        select: tuning.select,
        epoch: tuning.epoch,
        tuned_keys: tuning.tune.clone(),
        fixed_keys: fixed_keys(config, tuning),
        candidates,
        choices,
    })
}

/// Each sweep point's values (as the CSVs show them) with its `training.epochs`.
fn full_epochs(config: &Config) -> Vec<(Vec<String>, usize, Option<usize>)> {
    config
        .sweep
        .points()
        .iter()
        .map(|p| config.sweep.shown(p))
        .zip(config.points())
        .map(|(shown, c)| (shown, c.training.rounds(), c.training.patience.map(|p| p.0)))
        .collect()
}

/// The positions of the best `keep` of `scores` (at least one): best first,
/// a setting without a score last, ties in the order given.
pub fn best(select: Select, scores: &[Option<f64>], keep: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| match (scores[a], scores[b]) {
        (Some(x), Some(y)) if select.higher_is_better() => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    order.truncate(keep.max(1));
    order
}

/// A run's selection metric from its epoch rows (those up to epoch `up_to`
/// when given): the last epoch's, or the best over epochs; NaN without rows.
pub fn score<'a>(tuning: &Tuning, rows: impl Iterator<Item = &'a EpochRecord>, up_to: Option<usize>) -> f64 {
    let mut values: Vec<(usize, f64)> = rows
        .filter(|e| up_to.is_none_or(|r| e.epoch <= r))
        .map(|e| {
            (
                e.epoch,
                match tuning.select {
                    Select::ValAccuracy => e.val_accuracy,
                    Select::ValLoss => e.val_loss,
                },
            )
        })
        .collect();
    values.sort_by_key(|(epoch, _)| *epoch);
    match tuning.epoch {
        SelectEpoch::Last => values.last().map_or(f64::NAN, |v| v.1),
        SelectEpoch::Best if values.iter().any(|v| !v.1.is_finite()) => f64::NAN,
        SelectEpoch::Best if tuning.select.higher_is_better() => values.iter().map(|v| v.1).fold(f64::NAN, f64::max),
        SelectEpoch::Best => values.iter().map(|v| v.1).fold(f64::NAN, f64::min),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn summary(activation: &str, optimizer: &str, lr: f64, seed: u64, test: f64) -> RunSummary {
        RunSummary {
            run_id: format!("{activation}-{optimizer}-{lr}-{seed}"),
            activation: activation.into(),
            seed,
            lr,
            sweep: vec![optimizer.into()],
            params: String::new(),
            init: "he".into(),
            test_accuracy: test,
            test_loss: 1.0 - test,
            best_val_accuracy: f64::NAN,
            best_val_epoch: 1,
            final_train_loss: 0.1,
            grad_ratio_first_last: None,
            diverged: false,
            diverged_epoch: None,
            diverged_step: None,
            epochs_completed: 2,
            wall_seconds: 0.0,
        }
    }

    fn epoch(s: &RunSummary, epoch: usize, val_accuracy: f64, val_loss: f64) -> EpochRecord {
        EpochRecord {
            run_id: s.run_id.clone(),
            activation: s.activation.clone(),
            seed: s.seed,
            lr: s.lr,
            sweep: s.sweep.clone(),
            epoch,
            train_loss: 0.5,
            train_accuracy: 0.5,
            val_loss,
            val_accuracy,
            epoch_seconds: 0.0,
        }
    }

    /// relu at lr 0.1 / 0.01, two seeds each, under two optimizers; the test
    /// accuracies rank the settings the other way round from validation.
    fn fixture(tuning: &str) -> (Config, Vec<RunSummary>, Vec<EpochRecord>) {
        let text = format!(
            "activations = [\"relu\"]\n[training]\nlr = [0.1, 0.01]\n[sweep]\n\"training.optimizer\" = [\"adam\", \"sgd\"]\n[tuning]\n{tuning}\n"
        );
        let config = Config::parse(&text, Path::new("t.toml"), "t").unwrap();
        // (optimizer, lr, seed, test, [(val_acc, val_loss) per epoch])
        type Run<'a> = (&'a str, f64, u64, f64, [(f64, f64); 2]);
        let runs: [Run; 8] = [
            ("adam", 0.1, 0, 0.99, [(0.70, 0.9), (0.80, 0.6)]),
            ("adam", 0.1, 1, 0.99, [(0.72, 0.9), (0.82, 0.6)]),
            ("adam", 0.01, 0, 0.50, [(0.90, 0.3), (0.84, 0.5)]),
            ("adam", 0.01, 1, 0.50, [(0.90, 0.3), (0.86, 0.5)]),
            ("sgd", 0.1, 0, 0.10, [(0.60, 1.0), (0.95, 0.2)]),
            ("sgd", 0.1, 1, 0.10, [(0.60, 1.0), (0.93, 0.2)]),
            ("sgd", 0.01, 0, 0.99, [(0.50, 1.2), (0.55, 1.1)]),
            ("sgd", 0.01, 1, 0.99, [(0.50, 1.2), (0.57, 1.1)]),
        ];
        let mut summaries = Vec::new();
        let mut epochs = Vec::new();
        for (optimizer, lr, seed, test, vals) in runs {
            let s = summary("relu", optimizer, lr, seed, test);
            for (e, (acc, loss)) in vals.into_iter().enumerate() {
                epochs.push(epoch(&s, e + 1, acc, loss));
            }
            summaries.push(s);
        }
        (config, summaries, epochs)
    }

    fn chosen(tuning: &str) -> Vec<(Vec<String>, String, f64)> {
        let (config, summaries, epochs) = fixture(tuning);
        let tuned = choose(&config, &summaries, &epochs).unwrap();
        tuned
            .choices
            .iter()
            .map(|ch| {
                let c = &tuned.candidates[ch.chosen];
                (ch.fixed.clone(), c.sweep[0].clone(), c.lr)
            })
            .collect()
    }

    #[test]
    fn the_best_mean_validation_metric_is_chosen_never_the_test_accuracy() {
        // Last epoch's val accuracy: adam 0.81 / 0.85, sgd 0.94 / 0.56.
        assert_eq!(
            chosen("tune = [\"training.lr\"]"),
            [(vec!["adam".into()], "adam".into(), 0.01), (vec!["sgd".into()], "sgd".into(), 0.1)]
        );
        // Over both keys: sgd at 0.1 (0.94), though its test accuracy is the lowest.
        assert_eq!(chosen("tune = [\"training.lr\", \"training.optimizer\"]"), [(vec![], "sgd".into(), 0.1)]);
        // Best epoch's val accuracy: adam at 0.01 reaches 0.90.
        assert_eq!(
            chosen("tune = [\"training.lr\"]\nepoch = \"best\"")[0],
            (vec!["adam".to_string()], "adam".to_string(), 0.01)
        );
        // The optimizer tuned at each lr: at 0.1 sgd (0.94), at 0.01 adam (0.85).
        assert_eq!(
            chosen("tune = [\"training.optimizer\"]"),
            [(vec!["0.1".into()], "sgd".into(), 0.1), (vec!["0.01".into()], "adam".into(), 0.01)]
        );
        // Lowest last val loss: adam 0.5 at 0.01 versus 0.6 at 0.1.
        assert_eq!(chosen("tune = [\"training.lr\"]\nselect = \"val_loss\"")[0].2, 0.01);
    }

    #[test]
    fn a_setting_that_diverges_on_one_seed_is_not_chosen() {
        let (config, mut summaries, epochs) = fixture("tune = [\"training.lr\"]");
        summaries[4].diverged = true;
        let tuned = choose(&config, &summaries, &epochs).unwrap();
        let sgd = &tuned.choices[1];
        assert_eq!(tuned.candidates[sgd.chosen].lr, 0.01);
        assert_eq!(tuned.candidates[sgd.candidates[0]].score, None);
    }
}
