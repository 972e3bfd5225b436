//! `[tuning]`: which keys each activation is tuned over, how the setting is
//! chosen on validation data, and successive halving.

use serde::{Deserialize, Serialize};

use crate::config::error::KeyError;
use crate::config::values::Count;
use crate::train::settings::Training;

/// `[tuning]`: which keys each activation is tuned over, and how a setting is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// `training.lr` and/or keys of `[sweep]`.
    pub tune: Vec<String>,
    /// The validation metric, averaged over seeds, that picks the setting.
    #[serde(default)]
    pub select: Select,
    /// Which epoch's value of that metric counts: the last, or each run's best.
    #[serde(default)]
    pub epoch: SelectEpoch,
    /// Successive halving: train every setting a few epochs, keep the best
    /// 1/eta, continue them, and so on up to `training.epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halving: Option<Halving>,
    /// Random search: trials per activation, each a joint draw of the tuned
    /// keys (distributions in `[sweep]`; a tuned list is a choice among its values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Count>,
    /// Every activation gets the same trials (common random numbers);
    /// `false`: each draws its own.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub shared: bool,
    /// The seed of the draws (not of the runs: those are `experiment.seeds`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `[tuning.halving]` (Jamieson and Talwalkar 2016): rungs of
/// `min_epochs`, `min_epochs x eta`, ... epochs, then `training.epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Halving {
    /// Keep the best 1/eta of the settings (rounded up) after each rung.
    pub eta: Count,
    /// Epochs of the first rung.
    pub min_epochs: Count,
}

impl Tuning {
    /// The checks of `[tuning]` against the swept keys (`keys`) and `[training]`.
    pub fn validate(&self, keys: &[String], training: &Training) -> Result<(), KeyError> {
        let tuning = self;
        if tuning.tune.is_empty() {
            return Err(KeyError::new("tuning.tune", "lists no key: e.g. [\"training.lr\"]"));
        }
        for (i, key) in tuning.tune.iter().enumerate() {
            if key != "training.lr" && !keys.contains(key) {
                return Err(KeyError::new(
                    format!("tuning.tune[{i}]"),
                    format!("`{key}` is not swept: tune `training.lr` or a key of [sweep] ({})", keys.join(", ")),
                ));
            }
            if tuning.tune[..i].contains(key) {
                return Err(KeyError::new(format!("tuning.tune[{i}]"), format!("lists `{key}` twice")));
            }
        }
        match tuning.budget {
            Some(Count(0)) => return Err(KeyError::new("tuning.budget", "must be at least 1 trial")),
            None if !tuning.shared => {
                return Err(KeyError::new("tuning.shared", "only applies to random search: add `budget = N`"));
            }
            None if tuning.seed != 0 => {
                return Err(KeyError::new("tuning.seed", "only applies to random search: add `budget = N`"));
            }
            _ => {}
        }
        if let Some(halving) = &tuning.halving {
            if training.patience.is_some() || keys.iter().any(|k| k == "training.patience") {
                return Err(KeyError::new(
                    "training.patience",
                    "cannot go with [tuning.halving]: both stop runs early; keep one",
                ));
            }
            if halving.eta.0 < 2 {
                return Err(KeyError::new("tuning.halving.eta", "must be at least 2 (keep the best 1/eta)"));
            }
            if halving.min_epochs.0 >= training.rounds() && !keys.iter().any(|k| k == "training.epochs") {
                return Err(KeyError::new(
                    "tuning.halving.min_epochs",
                    format!(
                        "({}) must be below training.epochs ({}): the first rung trains fewer epochs than the last",
                        halving.min_epochs.0,
                        training.rounds()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Halving {
    /// The epochs each rung trains to, the last being `epochs`.
    pub fn rungs(&self, epochs: usize) -> Vec<usize> {
        let mut rungs = Vec::new();
        let mut r = self.min_epochs.0;
        while r < epochs {
            rungs.push(r);
            r = r.saturating_mul(self.eta.0);
        }
        rungs.push(epochs);
        rungs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    #[default]
    ValAccuracy,
    ValLoss,
}

impl Select {
    /// The metric a `[search]` ranks by: the validation loss of a language
    /// model (lower is better; its accuracy is the next token's, which says
    /// less), the validation accuracy of a classifier.
    pub fn of_task(text: bool) -> Select {
        if text { Select::ValLoss } else { Select::ValAccuracy }
    }

    /// A run's value of this metric after an epoch.
    pub fn of(self, epoch: &crate::results::records::EpochRecord) -> f64 {
        match self {
            Select::ValAccuracy => epoch.val_accuracy,
            Select::ValLoss => epoch.val_loss,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Select::ValAccuracy => "val_accuracy",
            Select::ValLoss => "val_loss",
        }
    }

    pub fn higher_is_better(self) -> bool {
        self == Select::ValAccuracy
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SelectEpoch {
    #[default]
    Last,
    Best,
}

impl SelectEpoch {
    pub fn name(self) -> &'static str {
        match self {
            SelectEpoch::Last => "last",
            SelectEpoch::Best => "best",
        }
    }
}
