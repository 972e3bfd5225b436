//! The experiment file: one TOML document, every key with a documented
//! default (docs/src/reference/config.md), unknown keys and wrong types rejected
//! with the file and line.
//!
//! Each `[section]` lives beside the code it configures, with its defaults
//! and its own checks (`data::settings`, `model::settings`,
//! `train::settings`, `train::logging`, `report::settings`,
//! `check::settings`, `tuning::settings`, `search::settings`); this module
//! holds the document they make up, the `activations` list, `[experiment]`
//! and `[sweep]`, the checks across sections, and the one place a failing
//! key gets its file, line and column ([`Config::parse`]). A new section is
//! its settings file, plus its field in [`Config`] and, if it has checks,
//! one call in `validate_point`.

pub mod activations;
pub mod error;
pub mod experiment;
mod overrides;
pub mod sweep;
pub mod values;

pub use activations::ActivationEntry;
pub use error::{ConfigError, KeyError, line_column};
pub use experiment::Experiment;
pub use sweep::{MAX_POINTS, Sweep, leaf, show};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::settings::Check;
use crate::data::settings::Data;
use crate::model::settings::Model;
use crate::report::settings::Report;
use crate::search::settings::Search;
use crate::train::logging::Logging;
use crate::train::settings::Training;
use crate::tuning::settings::Tuning;

/// A whole experiment file. Field order is the order of the resolved config
/// written next to the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The activations to compare (a top-level key: write it above the first `[section]`).
    #[serde(default = "default_activations", deserialize_with = "activations::entries")]
    pub activations: Vec<ActivationEntry>,
    #[serde(default)]
    pub experiment: Experiment,
    #[serde(default)]
    pub data: Data,
    #[serde(default)]
    pub model: Model,
    #[serde(default)]
    pub training: Training,
    #[serde(default)]
    pub logging: Logging,
    #[serde(default)]
    pub report: Report,
    #[serde(default)]
    pub check: Check,
    /// Keys to vary, each with its values: every combination is a point of the grid.
    #[serde(default, skip_serializing_if = "Sweep::is_empty")]
    pub sweep: Sweep,
    /// Choose each activation's setting of the tuned keys on validation data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<Tuning>,
    /// Search a space of formulas on this experiment as the proxy task (src/search/).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
}

fn default_activations() -> Vec<ActivationEntry> {
    ["relu", "sigmoid"]
        .into_iter()
        .map(|name| ActivationEntry::try_from(toml::Value::String(name.into())).expect("known names"))
        .collect()
}

impl Config {
    /// Reads, parses and validates an experiment file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = crate::input::read_text(path).map_err(|e| ConfigError::Read(e.to_string()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
        Self::parse(&text, path, stem)
    }

    /// Reads an experiment file with command-line overrides applied, each
    /// `dotted.key=value` (`--set training.epochs=2`): the value is TOML
    /// (`2`, `1e-3`, `[128, 128]`, `true`, `"adam"`) or else a bare word taken
    /// as a string (`adam`). Each override is type-checked on its own, so an
    /// error names it; the checks across keys then run on the whole.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        if overrides.is_empty() {
            return Self::load(path);
        }
        let text = crate::input::read_text(path).map_err(|e| ConfigError::Read(e.to_string()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::from_toml(path, &text, &e))?;
        for arg in overrides {
            let set_error = |message: String| ConfigError::Set { arg: error::shorten_quoted(arg), message };
            let (key, value) = overrides::parse(arg).map_err(set_error)?;
            let mut alone = toml::Table::new();
            overrides::apply(&mut alone, &key, value.clone()).map_err(set_error)?;
            let alone = toml::to_string(&alone).map_err(|e| set_error(e.to_string()))?;
            // Types and key names only: the checks across keys need the whole
            // config, and so do a section's required keys (`--set tuning.budget=20`
            // alone has no `tuning.tune`; the merged file is checked for them below).
            if let Err(ConfigError::Parse { message, .. }) = Self::parse(&alone, path, stem)
                && !message.contains("missing field")
            {
                return Err(set_error(message));
            }
            overrides::apply(&mut table, &key, value).map_err(set_error)?;
        }
        let merged = toml::to_string(&table)
            .map_err(|e| ConfigError::Set { arg: error::printable(&overrides.join(" ")), message: e.to_string() })?;
        // No line: the failing value may come from an override, not the file.
        Self::parse_from(&merged, path, stem, None).map_err(|e| match e {
            ConfigError::Parse { message, .. } => {
                ConfigError::Set { arg: error::shorten_quoted(&overrides.join(" ")), message }
            }
            other => other,
        })
    }

    /// Parses and validates TOML text; `origin` names it in errors, `stem`
    /// is the default experiment name.
    pub fn parse(text: &str, origin: &Path, stem: &str) -> Result<Self, ConfigError> {
        Self::parse_from(text, origin, stem, Some(text))
    }

    /// [`Config::parse`] of text that `written` (the file as the user wrote
    /// it, when it is that file) locates a failing key in: the one place a
    /// check's [`KeyError`] gets its file, line and column.
    fn parse_from(text: &str, origin: &Path, stem: &str, written: Option<&str>) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::from_toml(origin, text, &e))?;
        config.sweep.order_as_in(text);
        config.select_loss_for_text(text);
        if config.experiment.name.is_empty() {
            config.experiment.name = stem.to_string();
        }
        let labels: Vec<String> = config.activations.iter().map(ActivationEntry::label).collect();
        let drawn = config.sweep.draw(config.tuning.as_ref(), &labels);
        drawn.and_then(|()| config.validate(origin)).map_err(|e| ConfigError::Invalid {
            path: origin.to_path_buf(),
            at: written.and_then(|text| e.locate(text)),
            message: error::shorten_quoted(&e.message),
            key: error::printable(&e.key),
        })?;
        Ok(config)
    }

    /// A language model's `[tuning]` without `select` chooses on validation
    /// loss (the next token's accuracy, the default's metric, says less about
    /// a language model); the resolved config.toml then writes it out.
    fn select_loss_for_text(&mut self, text: &str) {
        let Some(tuning) = self.tuning.as_mut() else { return };
        let written = text
            .parse::<toml::Table>()
            .ok()
            .is_some_and(|t| t.get("tuning").and_then(toml::Value::as_table).is_some_and(|t| t.contains_key("select")));
        if self.data.dataset.is_text() && !written {
            tuning.select = crate::tuning::settings::Select::ValLoss;
        }
    }

    /// Checks that span several keys (single values check themselves); with
    /// a sweep, every point is checked as a file of its own instead.
    fn validate(&self, origin: &Path) -> Result<(), KeyError> {
        if let Some(tuning) = &self.tuning {
            tuning.validate(&self.sweep.keys(), &self.training)?;
        }
        if self.sweep.draw_of("training.lr").is_some() {
            // Each trial sets the rate: another list would be silently overridden.
            if self.training.lr.0.len() > 1 {
                return KeyError::fail(
                    "training.lr",
                    "lists several rates, but [sweep] draws training.lr: remove the list",
                );
            }
            if let Some(i) = self.activations.iter().position(|a| a.lr.is_some()) {
                return KeyError::fail(
                    format!("activations[{i}].lr"),
                    "cannot go with a drawn training.lr ([sweep]): remove the entry's own rates",
                );
            }
        }
        if let Some(search) = &self.search {
            search.validate()?;
            self.validate_search_alone()?;
        }
        if self.sweep.is_empty() {
            self.validate_point()?;
        } else {
            self.sweep.check_keys()?;
            self.check_sweep_values(origin)?;
            self.sweep.check()?;
            self.try_points(origin)?;
        }
        self.check_run_ids()
    }

    /// No two runs of the grid share an id, which names their folder: two
    /// entries whose ids coincide (`leaky_relu` with `slope = 1.0` and a
    /// formula named `leaky_relu-slope1`; two unnamed formulas whose 32-bit
    /// hashes agree) are refused, naming both.
    fn check_run_ids(&self) -> Result<(), KeyError> {
        // Without a sweep: one point, whose part is empty.
        let parts: Vec<String> = self.sweep.points().iter().map(|p| self.sweep.id_part(p)).collect();
        let Some((i, j)) = activations::run_id_clash(&self.activations, &parts, &self.training.lr) else {
            return Ok(());
        };
        let (a, b) = (&self.activations[i], &self.activations[j]);
        KeyError::fail(
            format!("activations[{j}]"),
            format!(
                "`{}` would share its run ids (`{}...`, which name the run folders, compared without case) with `activations[{i}]` `{}`: {}",
                b.label(),
                b.id_stem(),
                a.label(),
                match (b.kind.custom().map(|c| c.name.is_some()), a.kind.custom().map(|c| c.name.is_some())) {
                    (Some(true), _) => "give it another `name`",
                    (Some(false), _) => "give it a `name`",
                    (None, Some(true)) => "give the other entry (a formula) another `name`",
                    (None, Some(false)) => "give the other entry (a formula) a `name`",
                    (None, None) => "drop or change one of them",
                }
            ),
        )
    }

    /// `[search]` trains its own grid: nothing else may vary or stop runs.
    fn validate_search_alone(&self) -> Result<(), KeyError> {
        let clash = |key: &str| {
            KeyError::fail(key, "cannot go with [search], whose candidates train by successive halving: remove it")
        };
        if !self.sweep.is_empty() {
            return clash("sweep");
        }
        if self.tuning.is_some() {
            return clash("tuning");
        }
        if self.training.patience.is_some() {
            return clash("training.patience");
        }
        if self.training.lr.0.len() > 1 {
            return KeyError::fail("training.lr", "lists several rates, which [search] cannot tune: give one");
        }
        Ok(())
    }

    /// Each swept value on its own, as if written in its section: types and key names.
    fn check_sweep_values(&self, origin: &Path) -> Result<(), KeyError> {
        for sweep::Swept { key, values, draw } in &self.sweep.lists {
            let path = overrides::split_key(key).map_err(|why| KeyError::new(format!("sweep.\"{key}\""), why))?;
            for (i, value) in values.iter().enumerate() {
                let mut alone = toml::Table::new();
                let name = match draw {
                    Some(_) => format!("sweep.\"{key}\""),
                    None => format!("sweep.\"{key}\"[{i}]"),
                };
                overrides::apply(&mut alone, &path, value.clone()).map_err(|why| KeyError::new(&name, why))?;
                let text = toml::to_string(&alone).map_err(|e| KeyError::new(&name, e.to_string()))?;
                if let Err(ConfigError::Parse { message, .. }) = Self::parse_from(&text, origin, "sweep", None) {
                    let message = message.strip_prefix(&format!("key `{key}`: ")).unwrap_or(&message).to_string();
                    let why = match draw {
                        Some(d) => format!(
                            "{message} (drawn from {}: a key that takes whole numbers needs `int` or `choice`)",
                            d.describe()
                        ),
                        None => format!("{message} (each item of a sweep list is one whole value of the key)"),
                    };
                    return KeyError::fail(name, why);
                }
            }
        }
        Ok(())
    }

    /// The config of every sweep point (the first key varying slowest), each
    /// without `[sweep]` and `[tuning]`; a config without a sweep is its one
    /// point. Every point was checked when the file was read.
    pub fn points(&self) -> Vec<Config> {
        self.try_points(Path::new("config")).expect("the points are checked when the config is read")
    }

    fn try_points(&self, origin: &Path) -> Result<Vec<Config>, KeyError> {
        let mut base = self.clone();
        base.sweep = Sweep::default();
        base.tuning = None;
        if self.sweep.is_empty() {
            return Ok(vec![base]);
        }
        let table = toml::Table::try_from(&base).map_err(|e| KeyError::new("sweep", e.to_string()))?;
        let mut points = Vec::with_capacity(self.sweep.len());
        for point in self.sweep.points() {
            let mut table = table.clone();
            for (sweep::Swept { key, values, .. }, &i) in self.sweep.lists.iter().zip(&point) {
                let swept = || format!("sweep.\"{key}\"");
                let path = overrides::split_key(key).map_err(|why| KeyError::new(swept(), why))?;
                overrides::apply(&mut table, &path, values[i].clone()).map_err(|why| KeyError::new(swept(), why))?;
            }
            if self.sweep.keys().iter().any(|k| k == "model.kind") {
                dormant_model_keys(&mut table, &self.sweep.keys());
            }
            let at = || {
                let keys = self.sweep.keys();
                let shown = self.sweep.shown(&point);
                keys.iter().zip(&shown).map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
            };
            let text = toml::to_string(&table).map_err(|e| KeyError::new("sweep", e.to_string()))?;
            match Self::parse_from(&text, origin, &self.experiment.name, None) {
                Ok(config) => points.push(config),
                Err(ConfigError::Invalid { key, message, .. }) => {
                    // A swept key's failing value is written in [sweep]: its item of this point.
                    let swept = self.sweep.lists.iter().zip(&point).find(|(s, _)| s.key == key);
                    let set_at = swept.map(|(s, i)| match s.draw {
                        Some(_) => format!("sweep.\"{}\"", s.key),
                        None => format!("sweep.\"{}\"[{i}]", s.key),
                    });
                    let message = format!("{message} (at the sweep point {})", at());
                    return Err(KeyError { key, message, set_at });
                }
                Err(other) => return KeyError::fail("sweep", format!("{other} (at the sweep point {})", at())),
            }
        }
        Ok(points)
    }

    /// The checks of one point (a config without a sweep), section by
    /// section in the order of the file, then across sections.
    fn validate_point(&self) -> Result<(), KeyError> {
        if self.activations.is_empty() {
            return KeyError::fail(
                "activations",
                "lists no activation: name at least one, e.g. [\"relu\", \"sigmoid\"]",
            );
        }
        self.experiment.validate()?;
        self.data.validate()?;
        self.model.validate(&self.data)?;
        self.training.validate()?;
        if self.data.dataset.is_text() && self.training.max_steps.is_none() {
            return KeyError::fail(
                "training.max_steps",
                format!(
                    "is missing: a language model on `{}` trains by steps on windows drawn at random, e.g. max_steps = 2000",
                    self.data.dataset.name()
                ),
            );
        }
        if let Some(i) = self.activations.iter().position(|a| a.ffn.is_some())
            && !self.model.kind.info().keys.contains(&"ffn")
        {
            return KeyError::fail(
                format!("activations[{i}]"),
                format!(
                    "sets a feed-forward layer (`{}`), which only `kind = \"gpt\"` has: name the activation alone",
                    self.activations[i].label()
                ),
            );
        }
        let mut labels: Vec<String> = self.activations.iter().map(ActivationEntry::label).collect();
        labels.sort();
        if let Some(dup) = labels.windows(2).find(|w| w[0] == w[1]) {
            return KeyError::fail(
                "activations",
                format!(
                    "lists `{}` twice: each entry must differ (a formula is named by its `name` alone: give each its own)",
                    dup[0]
                ),
            );
        }
        Ok(())
    }

    /// The resolved config as TOML, every default written out.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a config always serialises")
    }
}

#[cfg(test)]
mod tests;

/// Under a sweep of `model.kind`, a point leaves out the `[model]` keys its
/// kind does not take (the file writes them for the other kinds' points),
/// unless the sweep varies them itself.
fn dormant_model_keys(point: &mut toml::Table, swept: &[String]) {
    let Some(toml::Value::Table(model)) = point.get_mut("model") else { return };
    let kind = model.get("kind").and_then(|k| k.as_str()).map(str::to_string);
    let Some(info) = crate::model::kinds::KINDS.iter().find(|k| Some(k.name) == kind.as_deref()) else { return };
    let all: Vec<&str> = crate::model::kinds::KINDS.iter().flat_map(|k| k.keys.iter().copied()).collect();
    model.retain(|key, _| {
        let key: &str = key;
        !all.contains(&key) || info.keys.contains(&key) || swept.contains(&format!("model.{key}"))
    });
}
