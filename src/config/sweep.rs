//! `[sweep]`: any key of the experiment file, each with a list of values;
//! the grid is activations x sweep points (every combination of the
//! values) x learning rates x seeds. Each point is the experiment file with
//! those keys set, checked like a file of its own.
//!
//! A tuned key may instead be a distribution (`{ log_uniform = [1e-4, 0.1] }`,
//! tuning::draw) under `[tuning] budget = N`: the drawn keys then make one
//! axis of N trials, each trial one joint draw of all of them (with
//! `shared = false`, N per activation, each activation running its own).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::KeyError;
use crate::tuning::draw::{self, Distribution};
use crate::tuning::settings::Tuning;

/// Most points one sweep may hold (a point is a whole config, checked when read).
pub const MAX_POINTS: usize = 10_000;

/// The swept keys in the order written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sweep {
    pub lists: Vec<Swept>,
    /// With `tuning.shared = false`: the activation (its index) each trial
    /// of the drawn axis belongs to. Empty when every activation runs every trial.
    owners: Vec<usize>,
}

/// One swept key: its values (for a drawn key, its value in each trial).
#[derive(Debug, Clone, PartialEq)]
pub struct Swept {
    pub key: String,
    pub values: Vec<toml::Value>,
    /// The distribution the values are drawn from (`None`: a list, a grid axis of its own).
    pub draw: Option<Distribution>,
}

/// The learning rate has a column of its own in every table: drawn, it is
/// an item of the trial but never a sweep column.
const LR: &str = "training.lr";

impl Sweep {
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Puts the keys in the order `text` (the file they were read from)
    /// writes them: the parser hands a table over sorted by name.
    pub fn order_as_in(&mut self, text: &str) {
        // `[sweep]`, or `[sweep."key"]` where a distribution is written as a table of its own.
        let from = text.find("[sweep").unwrap_or(0);
        let at = |key: &str| {
            ["\"", "'"].iter().filter_map(|q| text[from..].find(&format!("{q}{key}{q}"))).min().unwrap_or(usize::MAX)
        };
        self.lists.sort_by_key(|s| at(&s.key));
    }

    /// The swept keys, as written (`model.hidden`): one CSV column each (a
    /// drawn `training.lr` is the `lr` column).
    pub fn keys(&self) -> Vec<String> {
        self.columns().map(|s| s.key.clone()).collect()
    }

    fn columns(&self) -> impl Iterator<Item = &Swept> {
        self.lists.iter().filter(|s| s.key != LR)
    }

    /// The distribution `key` is drawn from, if it is drawn.
    pub fn draw_of(&self, key: &str) -> Option<&Distribution> {
        self.lists.iter().find(|s| s.key == key).and_then(|s| s.draw.as_ref())
    }

    /// Whether some key is drawn (random search).
    pub fn is_drawn(&self) -> bool {
        self.lists.iter().any(|s| s.draw.is_some())
    }

    /// Points in the sweep: the product of the list lengths, times the trials.
    pub fn len(&self) -> usize {
        self.axes().iter().product()
    }

    /// The points each activation runs: all of them, or its own trials' share.
    pub fn len_each(&self) -> usize {
        let owners = self.owners.iter().max().map_or(1, |&a| a + 1);
        self.len() / owners
    }

    /// Each axis's length: a list key's values, or the drawn keys' trials (at the first drawn key).
    fn axes(&self) -> Vec<usize> {
        let first = self.first_drawn();
        self.lists
            .iter()
            .enumerate()
            .filter(|(k, s)| s.draw.is_none() || Some(*k) == first)
            .map(|(_, s)| s.values.len())
            .collect()
    }

    fn first_drawn(&self) -> Option<usize> {
        self.lists.iter().position(|s| s.draw.is_some())
    }

    /// Whether a swept key changes the data a run sees.
    pub fn sweeps_data(&self) -> bool {
        self.lists.iter().any(|s| s.key.starts_with("data."))
    }

    /// Every point, the first key varying slowest: the index of each key's
    /// value (every drawn key at the same index, its trial).
    pub fn points(&self) -> Vec<Vec<usize>> {
        let first = self.first_drawn();
        let mut points = vec![Vec::new()];
        for (k, swept) in self.lists.iter().enumerate() {
            if let Some(first) = first.filter(|&f| f != k && swept.draw.is_some()) {
                points.iter_mut().for_each(|p| p.push(p[first]));
                continue;
            }
            let n = swept.values.len();
            points = points
                .into_iter()
                .flat_map(|p: Vec<usize>| {
                    (0..n).map(move |i| {
                        let mut p = p.clone();
                        p.push(i);
                        p
                    })
                })
                .collect();
        }
        points
    }

    /// The activation (its index) that runs `point`, when each draws its own trials.
    pub fn owner(&self, point: &[usize]) -> Option<usize> {
        self.first_drawn().and_then(|f| self.owners.get(point[f]).copied())
    }

    /// `point`'s values as written in CSV columns and reports (`[128, 128]`, `adam`).
    pub fn shown(&self, point: &[usize]) -> Vec<String> {
        self.lists.iter().zip(point).filter(|(s, _)| s.key != LR).map(|(s, &i)| show(&s.values[i])).collect()
    }

    /// `point`'s part of a run id: `-hidden_128x128-optimizer_adam`, each
    /// key by its last name (its whole dotted name where two swept keys
    /// share a last name).
    pub fn id_part(&self, point: &[usize]) -> String {
        let mut part = String::new();
        for (swept, &i) in self.lists.iter().zip(point).filter(|(s, _)| s.key != LR) {
            let key = &swept.key;
            let shared = self.columns().filter(|s| leaf(&s.key) == leaf(key)).count() > 1;
            let name = if shared { key.replace('.', "_") } else { leaf(key).to_string() };
            part.push_str(&format!("-{name}_{}", id_value(&swept.values[i])));
        }
        part
    }

    /// The keys: each one a run can vary, each with a non-empty list, the
    /// lists short enough to make at most [`MAX_POINTS`] points (checked
    /// before any value is read).
    pub fn check_keys(&self) -> Result<(), KeyError> {
        for Swept { key, values, draw } in &self.lists {
            let name = format!("sweep.\"{key}\"");
            if let Some(why) = not_sweepable(key).filter(|_| !(key == LR && draw.is_some())) {
                return Err(KeyError::new(name, why));
            }
            if values.is_empty() && draw.is_none() {
                return Err(KeyError::new(name, "lists no value: give the values to try, e.g. [1, 2]"));
            }
            // Before any value is read: a list longer than this cannot make a grid that fits.
            if values.len() > MAX_POINTS {
                return Err(KeyError::new(
                    name,
                    format!(
                        "lists {} values, more than the {MAX_POINTS} points a sweep may make: sweep fewer values",
                        values.len()
                    ),
                ));
            }
        }
        let points = self.axes().into_iter().try_fold(1usize, |n, len| n.checked_mul(len));
        if points.is_none_or(|n| n > MAX_POINTS) {
            return Err(KeyError::new(
                "sweep",
                format!(
                    "makes more than {MAX_POINTS} points (the product of the list lengths{}): sweep fewer values",
                    if self.is_drawn() { ", times the trials" } else { "" }
                ),
            ));
        }
        Ok(())
    }

    /// Draws the trials of the keys written as distributions (and of the
    /// tuned lists, as choices) when `[tuning]` has a budget; `labels` are
    /// the activations'. Before any point is built: the points are the draws.
    pub fn draw(&mut self, tuning: Option<&Tuning>, labels: &[String]) -> Result<(), KeyError> {
        let budget = tuning.and_then(|t| t.budget).map(|b| b.0);
        let Some((tuning, budget)) = tuning.zip(budget) else {
            if let Some(s) = self.lists.iter().find(|s| s.draw.is_some()) {
                return KeyError::fail(
                    format!("sweep.\"{}\"", s.key),
                    "is a distribution, which random search draws: add `budget = N` (trials per activation) to [tuning] and list the key in `tune`",
                );
            }
            return Ok(());
        };
        for s in &mut self.lists {
            let name = format!("sweep.\"{}\"", s.key);
            let tuned = tuning.tune.contains(&s.key);
            match (&s.draw, tuned) {
                (Some(_), false) => {
                    return KeyError::fail(
                        name,
                        "is a distribution but not tuned: list it in tuning.tune (random search draws the tuned keys)",
                    );
                }
                // Under a budget every tuned key is drawn: a list is a choice among its values.
                (None, true) if s.values.len() >= 2 => {
                    s.draw = Some(Distribution::Choice(std::mem::take(&mut s.values)))
                }
                (None, true) => {
                    return KeyError::fail(
                        name,
                        "is tuned under a budget but lists one value: list two or more, or a distribution",
                    );
                }
                _ => {}
            }
        }
        if tuning.tune.iter().any(|k| k == LR) && self.draw_of(LR).is_none() {
            return KeyError::fail(
                "tuning.tune",
                "tunes training.lr under a budget: give its distribution in [sweep], e.g. \"training.lr\" = { log_uniform = [1e-4, 0.1] } (or { choice = [0.1, 0.01] })",
            );
        }
        let drawn: Vec<usize> = (0..self.lists.len()).filter(|&k| self.lists[k].draw.is_some()).collect();
        let dists: Vec<(&str, &Distribution)> =
            drawn.iter().map(|&k| (self.lists[k].key.as_str(), self.lists[k].draw.as_ref().expect("drawn"))).collect();
        let owners: Vec<Option<&str>> =
            if tuning.shared { vec![None] } else { labels.iter().map(|l| Some(l.as_str())).collect() };
        if owners.len().saturating_mul(budget) > MAX_POINTS {
            return KeyError::fail(
                "tuning.budget",
                format!("({budget}) makes more than the {MAX_POINTS} points a sweep may hold: lower it"),
            );
        }
        let mut all: Vec<Vec<toml::Value>> = Vec::new();
        self.owners.clear();
        for (a, owner) in owners.iter().enumerate() {
            let trials = draw::trials(&dists, budget, tuning.seed, *owner)
                .map_err(|why| KeyError::new("tuning.budget", format!("({budget}) {why}")))?;
            if !tuning.shared {
                self.owners.extend(std::iter::repeat_n(a, trials.len()));
            }
            all.extend(trials);
        }
        for (j, &k) in drawn.iter().enumerate() {
            self.lists[k].values = all.iter().map(|t| t[j].clone()).collect();
        }
        Ok(())
    }

    /// The lists (after their values are type-checked): no repeats,
    /// distinct and short run ids. Drawn values repeat across trials (each
    /// trial as a whole differs from the others).
    pub fn check(&self) -> Result<(), KeyError> {
        for Swept { key, values, draw } in &self.lists {
            let name = format!("sweep.\"{key}\"");
            // A list's values, or a choice's; drawn numbers are rounded and
            // distinct within a trial set, and short.
            let (values, name): (&[toml::Value], String) = match draw {
                None => (values, name),
                Some(Distribution::Choice(items)) => (items, format!("{name}.choice")),
                Some(_) => (&[], name),
            };
            // Equal values have equal ids: one pass over the ids finds both kinds of repeat.
            let ids: Vec<String> = values.iter().map(id_value).collect();
            let mut seen = std::collections::HashMap::with_capacity(ids.len());
            if let Some((first, i)) =
                ids.iter().enumerate().find_map(|(i, id)| seen.insert(id, i).map(|first| (first, i)))
            {
                let id = &ids[i];
                if values[first] == values[i] {
                    return Err(KeyError::new(
                        format!("{name}[{i}]"),
                        format!("repeats `{}`: each value must differ", show(&values[i])),
                    ));
                }
                return Err(KeyError::new(
                    format!("{name}[{i}]"),
                    format!(
                        "`{}` and `{}` would give the same run id (`{id}`): make them differ in letters or digits",
                        show(&values[first]),
                        show(&values[i])
                    ),
                ));
            }
            if let Some(long) = ids.iter().find(|id| id.len() > MAX_ID_CHARS) {
                return Err(KeyError::new(
                    name,
                    format!(
                        "has a value whose run-id part is {} characters (at most {MAX_ID_CHARS}): sweep shorter values",
                        long.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The most keys one sweep varies (the config has fewer keys than this).
const MAX_KEYS: usize = 64;

/// Longest run-id part of one swept value: ids name folders (255 bytes).
const MAX_ID_CHARS: usize = 40;

/// Why `key` cannot be swept, or `None` when it can.
fn not_sweepable(key: &str) -> Option<String> {
    let section = key.split('.').next().unwrap_or(key);
    Some(match section {
        _ if key == "training.lr" => {
            "is swept by a list of its own: write `lr = [0.01, 0.1]` under [training] (or per activation)".into()
        }
        "activations" => "is the grid's first axis already: list the activations at the top of the file".into(),
        // Which sources the seed drives may differ by point: the spread by source (report/spread.rs).
        _ if key == "experiment.vary" => return None,
        "experiment" => format!(
            "`{key}` is the same for the whole experiment (seeds are an axis of their own; one name, one backend): remove it from [sweep]"
        ),
        "report" | "check" | "sweep" | "tuning" => {
            format!("`{key}` does not change a run: remove it from [sweep] (one report covers every point)")
        }
        _ => return None,
    })
}

/// A key's last name: `model.hidden` -> `hidden`.
pub fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// A value as a CSV field or a report shows it: strings bare, lists in brackets.
pub fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(x) => crate::activation::format_number(*x),
        toml::Value::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// A value as part of a run id (a folder name): lists joined by `x`, every
/// character other than letters, digits, `.`, `+` and `-` made `_`.
fn id_value(value: &toml::Value) -> String {
    let text = match value {
        toml::Value::Array(items) => items.iter().map(id_value).collect::<Vec<_>>().join("x"),
        other => show(other),
    };
    text.chars().map(|c| if c.is_ascii_alphanumeric() || ".+-".contains(c) { c } else { '_' }).collect()
}

impl Serialize for Sweep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.lists.len()))?;
        for s in &self.lists {
            // A drawn key as written: the draws are made again, the same, when the file is read.
            match &s.draw {
                Some(d) => map.serialize_entry(&s.key, &d.to_value())?,
                None => map.serialize_entry(&s.key, &s.values)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Sweep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Sweep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of quoted dotted keys, each with a list of values (or a distribution), e.g. \"model.hidden\" = [[64], [64, 64]]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sweep, A::Error> {
                let mut keys: Vec<Swept> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    // Each key is one dimension of the grid, and `order_as_in` looks each up in the file.
                    if keys.len() == MAX_KEYS {
                        return Err(serde::de::Error::custom(format!(
                            "key `sweep` varies more than {MAX_KEYS} keys: sweep fewer"
                        )));
                    }
                    let value: toml::Value = map.next_value()?;
                    let (values, draw) = match value {
                        toml::Value::Array(values) => (values, None),
                        toml::Value::Table(table) => {
                            let draw = Distribution::from_table(&table)
                                .map_err(|why| serde::de::Error::custom(format!("key `sweep.\"{key}\"`: {why}")))?;
                            (Vec::new(), Some(draw))
                        }
                        _ => {
                            return Err(serde::de::Error::custom(format!(
                                "key `sweep.\"{key}\"` must be a list of the values to try, e.g. [1, 2], or a distribution to draw from, e.g. {{ log_uniform = [1e-4, 0.1] }} (write the key in quotes: \"training.epochs\")"
                            )));
                        }
                    };
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("key `sweep.\"{key}\"` is given twice")));
                    }
                    keys.push(Swept { key, values, draw });
                }
                Ok(Sweep { lists: keys, owners: Vec::new() })
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(text: &str) -> Sweep {
        #[derive(Deserialize)]
        struct Doc {
            sweep: Sweep,
        }
        let mut sweep = toml::from_str::<Doc>(text).unwrap().sweep;
        sweep.order_as_in(text);
        sweep
    }

    #[test]
    fn keys_keep_their_order_and_points_vary_the_last_key_fastest() {
        let s = sweep("[sweep]\n\"z.b\" = [1, 2]\n\"a.c\" = [\"x\", \"y\", \"z\"]\n");
        assert_eq!(s.keys(), ["z.b", "a.c"]);
        assert_eq!(s.len(), 6);
        assert_eq!(s.points(), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
        assert_eq!(s.shown(&[1, 2]), ["2", "z"]);
        assert_eq!(s.id_part(&[1, 0]), "-b_2-c_x");
    }

    #[test]
    fn lists_and_shared_last_names_make_readable_ids() {
        let s = sweep("[sweep]\n\"model.hidden\" = [[128, 128], [64]]\n\"a.x\" = [0.5]\n\"b.x\" = [\"a b\"]\n");
        assert_eq!(s.shown(&[0, 0, 0]), ["[128, 128]", "0.5", "a b"]);
        assert_eq!(s.id_part(&[0, 0, 0]), "-hidden_128x128-a_x_0.5-b_x_a_b");
    }

    #[test]
    fn bad_tables_name_the_key() {
        let check = |text: &str| {
            let s = sweep(text);
            s.check_keys().and_then(|()| s.check()).unwrap_err()
        };
        assert_eq!(check("[sweep]\n\"training.lr\" = [0.1]\n").key, "sweep.\"training.lr\"");
        assert!(check("[sweep]\n\"experiment.seeds\" = [1]\n").message.contains("same for the whole experiment"));
        assert!(check("[sweep]\n\"m.k\" = []\n").message.contains("lists no value"));
        assert_eq!(check("[sweep]\n\"m.k\" = [1, 2, 1]\n").key, "sweep.\"m.k\"[2]");
        assert!(check("[sweep]\n\"m.k\" = [\"a b\", \"a_b\"]\n").message.contains("same run id"));
        let many = format!("[sweep]\n\"a.b\" = [{}]\n\"a.c\" = [{}]\n", numbers(101), numbers(100));
        assert!(check(&many).message.contains("more than 10000 points"));
        let not_a_list = toml::from_str::<toml::Table>("[sweep]\n\"m.k\" = 3\n").unwrap();
        let err = Sweep::deserialize(not_a_list["sweep"].clone()).unwrap_err().to_string();
        assert!(err.contains("must be a list"), "{err}");
    }

    fn numbers(n: usize) -> String {
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    }
}
