//! The top-level `activations` list: each entry a built-in by name, a
//! built-in with parameters, or a formula (activation/formula/), with its
//! own learning rate or initialisation where it overrides the shared one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{LearningRates, number};
use crate::activation::{ActivationKind, ParamValue};
use crate::model::settings::{Ffn, InitScheme};

/// One entry of `activations`: `"relu"` or
/// `{ name = "leaky_relu", slope = 0.1, lr = 0.05, init = "he" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "toml::Value")]
pub struct ActivationEntry {
    pub kind: ActivationKind,
    /// Overrides `training.lr` for this activation (tuned per activation).
    pub lr: Option<LearningRates>,
    /// Overrides `model.init` for this activation.
    pub init: Option<InitScheme>,
    /// `gpt` only: overrides `model.ffn` for this activation; written
    /// `"gated(silu)"` or `{ name = "silu", ffn = "gated" }`.
    pub ffn: Option<Ffn>,
}

impl ActivationEntry {
    /// How the entry is named in results: the activation's label, plus the
    /// init scheme when the entry overrides it, e.g. `tanh[init=he]`.
    pub fn label(&self) -> String {
        let kind = match self.ffn {
            Some(ffn) => format!("{}({})", ffn.name(), self.kind.label()),
            None => self.kind.label(),
        };
        match self.init {
            Some(init) => format!("{kind}[init={init}]"),
            None => kind,
        }
    }

    /// The start of the entry's run ids (`leaky_relu-slope=0.1-init_he`),
    /// which the sweep point, learning rate and seed follow: `=` between a
    /// parameter and its value, so `b1=0` and `b10=...` cannot read alike.
    /// A named formula's is its name alone, as its label.
    pub fn id_stem(&self) -> String {
        let mut id = match self.ffn {
            Some(ffn) => format!("{}_{}", ffn.name(), self.kind.name()),
            None => self.kind.name().to_string(),
        };
        let params = if self.kind.is_named_formula() { String::new() } else { self.kind.params_string() };
        for part in params.split(';').filter(|p| !p.is_empty()) {
            id.push('-');
            id.push_str(&match part.split_once('=') {
                Some((flag, "true")) => flag.to_string(),
                Some((flag, "false")) => format!("no_{flag}"),
                _ => part.to_string(),
            });
        }
        if let Some(init) = self.init {
            id.push_str(&format!("-init_{init}"));
        }
        id
    }
}

/// Two entries of `entries` that would give one run id to two runs, as
/// their indices (the first pair found), ids compared without case
/// (folders on macOS and Windows ignore it). An id is
/// `<stem><point>-lr<rate>-s<seed>`, the point part (`sweep_parts`, each
/// starting with `-`) empty without a sweep; `shared_lr` is the rate list
/// of entries without their own. Digits after the last `-s` are the seed
/// and the text after the last `-lr` the rate, so two ids are one exactly
/// when their rates and seeds are and `<stem><point>` is: equal stems, or
/// (rarely) one stem the other's followed by `-` whose extra part a point
/// part makes up (a formula named `relu-hidden_8` and relu under a sweep of
/// `model.hidden`). Sorted, a stem's `-` extensions follow it at once (`-`
/// sorts before every other character of a stem), so only those pairs are
/// compared point by point.
pub fn run_id_clash(
    entries: &[ActivationEntry],
    sweep_parts: &[String],
    shared_lr: &LearningRates,
) -> Option<(usize, usize)> {
    let mut stems: Vec<(String, usize)> =
        entries.iter().enumerate().map(|(i, e)| (e.id_stem().to_lowercase(), i)).collect();
    stems.sort();
    let rates = |i: usize| -> Vec<String> {
        entries[i].lr.as_ref().unwrap_or(shared_lr).0.iter().map(|&x| crate::activation::format_number(x)).collect()
    };
    let mut parts: Vec<String> = sweep_parts.iter().map(|p| p.to_lowercase()).collect();
    if parts.is_empty() {
        parts.push(String::new());
    }
    parts.sort();
    let known: std::collections::HashSet<&str> = parts.iter().map(String::as_str).collect();
    let extends = |b: &str, a: &str| b.strip_prefix(a).is_some_and(|r| r.is_empty() || r.starts_with('-'));
    for (k, (a, i)) in stems.iter().enumerate() {
        for (b, j) in stems[k + 1..].iter().take_while(|(b, _)| extends(b, a)) {
            // `a + p == b + q` for points p, q: p is b's extra part followed by q.
            let extra = &b[a.len()..];
            let from = parts.partition_point(|p| p.as_str() < extra);
            let one_id =
                parts[from..].iter().take_while(|p| p.starts_with(extra)).any(|p| known.contains(&p[extra.len()..]));
            if one_id && rates(*i).iter().any(|r| rates(*j).contains(r)) {
                return Some((*i.min(j), *i.max(j)));
            }
        }
    }
    None
}

impl TryFrom<toml::Value> for ActivationEntry {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        let table = match v {
            toml::Value::String(name) => {
                // `gated(silu)`: the activation in a gated feed-forward layer.
                let (inner, ffn) = match ffn_form(&name) {
                    Some((ffn, inner)) => (inner, Some(ffn)),
                    None => (name.as_str(), None),
                };
                let kind = ActivationKind::from_parts(inner, &BTreeMap::new()).map_err(|e| e.to_string())?;
                return Ok(ActivationEntry { kind, lr: None, init: None, ffn });
            }
            toml::Value::Table(table) => table,
            _ => {
                return Err(
                    "an activation is a name (\"relu\") or a table ({ name = \"leaky_relu\", slope = 0.1 })".into()
                );
            }
        };
        if table.contains_key("formula") {
            return formula_entry(table);
        }
        let name = match table.get("name") {
            Some(toml::Value::String(name)) => name.clone(),
            Some(_) => return Err("`name` must be a string".into()),
            None => {
                return Err(
                    "an activation table needs `name` (a built-in, e.g. { name = \"elu\", alpha = 0.5 }) or `formula` (e.g. { formula = \"x * sigmoid(x)\" })".into(),
                );
            }
        };
        let mut lr = None;
        let mut init = None;
        let mut ffn = None;
        let mut params = BTreeMap::new();
        let mut mistyped = None;
        let mut per_unit = false;
        for (key, value) in table {
            match key.as_str() {
                "name" => {}
                "learn_per" => per_unit = learn_per(&value)?,
                "lr" => lr = Some(LearningRates::try_from(value).map_err(|e| format!("`lr` {e}"))?),
                "init" => {
                    init = Some(InitScheme::deserialize(value).map_err(|e| format!("`init`: {}", e.message()))?);
                }
                "ffn" => ffn = Some(ffn_value(&value)?),
                _ => {
                    let param = match value {
                        toml::Value::Float(x) => ParamValue::Float(x),
                        toml::Value::Integer(n) => ParamValue::Float(n as f64),
                        toml::Value::Boolean(b) => ParamValue::Bool(b),
                        // Reported below: an unknown key is the likelier mistake.
                        _ => {
                            mistyped = Some(key);
                            continue;
                        }
                    };
                    params.insert(key, param);
                }
            }
        }
        if let Some(key) = mistyped {
            let known =
                crate::activation::catalog::lookup(&name).is_some_and(|info| info.params.iter().any(|p| p.name == key));
            if known {
                return Err(format!("parameter `{key}` must be a number or a boolean"));
            }
            params.insert(key, ParamValue::Bool(false)); // rejected below as unknown
        }
        let mut kind = ActivationKind::from_parts(&name, &params).map_err(|e| e.to_string())?;
        if per_unit {
            kind = kind.learned_per_unit()?;
        }
        Ok(ActivationEntry { kind, lr, init, ffn })
    }
}

/// `gated(silu)` -> (Gated, "silu"); `plain(gelu)` likewise.
fn ffn_form(name: &str) -> Option<(Ffn, &str)> {
    [Ffn::Gated, Ffn::Plain].into_iter().find_map(|ffn| {
        let inner = name.trim().strip_prefix(ffn.name())?.trim_start().strip_prefix('(')?.strip_suffix(')')?;
        Some((ffn, inner.trim()))
    })
}

/// An entry's `ffn`: "plain" or "gated".
fn ffn_value(value: &toml::Value) -> Result<Ffn, String> {
    match value.as_str() {
        Some("plain") => Ok(Ffn::Plain),
        Some("gated") => Ok(Ffn::Gated),
        _ => Err(format!("`ffn` is \"plain\" or \"gated\" (a gpt's feed-forward layer), not {value}")),
    }
}

/// The most entries an `activations` (or `search.baselines`) list may hold:
/// each is parsed, and compiled when a formula, before any training.
pub const MAX_ENTRIES: usize = 1_000;

/// The `activations` list, each entry's error naming its index
/// (`activations[2].formula`).
pub fn entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ActivationEntry>, D::Error> {
    let values = Vec::<toml::Value>::deserialize(d)?;
    if values.len() > MAX_ENTRIES {
        return Err(serde::de::Error::custom(format!(
            "lists {} activations, more than the {MAX_ENTRIES} one list may hold: split the comparison",
            values.len()
        )));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            ActivationEntry::try_from(v).map_err(|e| {
                let named = e.replacen("`formula`", &format!("`activations[{i}].formula`"), 1);
                serde::de::Error::custom(if named != e { named } else { format!("`activations[{i}]`: {e}") })
            })
        })
        .collect()
}

/// `{ name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }`:
/// every key but `name`, `formula`, `learn`, `learn_per`, `lr` and `init` is
/// a parameter, its value the default (and the start of a learned one).
fn formula_entry(table: toml::Table) -> Result<ActivationEntry, String> {
    let text = |key: &str| match table.get(key) {
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Ok(None),
    };
    let source = text("formula")?.expect("the caller checked it");
    let name = text("name")?;
    let learn: Vec<String> = match table.get("learn") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or("`learn` lists parameter names, e.g. [\"beta\"]".to_string()))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`learn` lists parameter names, e.g. [\"beta\"]".into()),
    };
    let per_unit = match table.get("learn_per") {
        None => false,
        Some(value) => learn_per(value)?,
    };
    if per_unit && learn.is_empty() {
        return Err("`learn_per = \"unit\"` needs `learn`: which parameters to learn".into());
    }
    let mut lr = None;
    let mut init = None;
    let mut ffn = None;
    let mut params = Vec::new();
    for (key, value) in &table {
        match key.as_str() {
            "name" | "formula" | "learn" | "learn_per" => {}
            "ffn" => ffn = Some(ffn_value(value)?),
            "lr" => lr = Some(LearningRates::try_from(value.clone()).map_err(|e| format!("`lr` {e}"))?),
            "init" => {
                init = Some(InitScheme::deserialize(value.clone()).map_err(|e| format!("`init`: {}", e.message()))?);
            }
            _ => {
                let v = number(value).ok_or_else(|| format!("parameter `{key}` of a formula must be a number"))?;
                if !v.is_finite() {
                    return Err(format!("parameter `{key}` must be finite, got {v}"));
                }
                params.push((key.clone(), v, learn.contains(key)));
            }
        }
    }
    if let Some(missing) = learn.iter().find(|l| !params.iter().any(|p| &p.0 == *l)) {
        let names: Vec<&str> = params.iter().map(|p| p.0.as_str()).collect();
        return Err(format!(
            "`learn` names `{missing}`, which is not a parameter of the entry (its parameters: {}); declare it, e.g. {missing} = 1.0",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ));
    }
    let kind = ActivationKind::from_formula_per(name.as_deref(), &source, &params, per_unit)?;
    Ok(ActivationEntry { kind, lr, init, ffn })
}

/// `learn_per`: `"layer"` (false, the default) or `"unit"` (true).
fn learn_per(value: &toml::Value) -> Result<bool, String> {
    match value.as_str() {
        Some("layer") => Ok(false),
        Some("unit") => Ok(true),
        _ => Err(format!(
            "`learn_per` is \"layer\" (one value per layer) or \"unit\" (one per unit or channel), not {value}"
        )),
    }
}

impl Serialize for ActivationEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(custom) = self.kind.custom() {
            if let Some(name) = &custom.name {
                map.serialize_entry("name", name)?;
            }
            map.serialize_entry("formula", &custom.formula.source)?;
            for (param, value) in custom.formula.params.iter().zip(&custom.values) {
                map.serialize_entry(param, value)?;
            }
            let learn = self.kind.learned_names();
            if !learn.is_empty() {
                map.serialize_entry("learn", &learn)?;
            }
            if custom.per_unit {
                map.serialize_entry("learn_per", "unit")?;
            }
        } else {
            map.serialize_entry("name", self.kind.name())?;
        }
        for (param, value) in self.kind.params().into_iter().filter(|_| self.kind.custom().is_none()) {
            match value {
                ParamValue::Float(x) => map.serialize_entry(param, &x)?,
                ParamValue::Bool(b) => map.serialize_entry(param, &b)?,
            }
        }
        if self.kind.custom().is_none() && self.kind.per_unit() {
            map.serialize_entry("learn_per", "unit")?;
        }
        if let Some(lr) = &self.lr {
            map.serialize_entry("lr", lr)?;
        }
        if let Some(init) = &self.init {
            map.serialize_entry("init", init)?;
        }
        if let Some(ffn) = &self.ffn {
            map.serialize_entry("ffn", ffn.name())?;
        }
        map.end()
    }
}
