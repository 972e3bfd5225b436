//! Value types of the config that check themselves while the TOML is read, so
//! that a bad value is reported with the line it is on.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::activation::{ActivationKind, ParamValue};

/// A count that must be at least 1 (epochs, batch size, a layer's width).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Count(pub usize);

impl TryFrom<i64> for Count {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if v >= 1 { Ok(Count(v as usize)) } else { Err(format!("must be at least 1, got {v}")) }
    }
}

impl From<Count> for i64 {
    fn from(c: Count) -> i64 {
        c.0 as i64
    }
}

/// A fraction in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Fraction(pub f64);

impl TryFrom<f64> for Fraction {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if (0.0..1.0).contains(&v) { Ok(Fraction(v)) } else { Err(format!("must be a fraction in [0, 1), got {v}")) }
    }
}

impl From<Fraction> for f64 {
    fn from(f: Fraction) -> f64 {
        f.0
    }
}

/// A number that must be >= 0 (weight decay, momentum, noise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct NonNegative(pub f64);

impl TryFrom<f64> for NonNegative {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v >= 0.0 && v.is_finite() {
            Ok(NonNegative(v))
        } else {
            Err(format!("must be a finite number >= 0, got {v}"))
        }
    }
}

impl From<NonNegative> for f64 {
    fn from(v: NonNegative) -> f64 {
        v.0
    }
}

/// One learning rate or a list of them (each becomes a grid point); all > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value", into = "toml::Value")]
pub struct LearningRates(pub Vec<f64>);

impl TryFrom<toml::Value> for LearningRates {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        let values = match v {
            toml::Value::Array(items) => items.iter().map(number).collect::<Option<Vec<_>>>(),
            single => number(&single).map(|x| vec![x]),
        }
        .ok_or("must be a number or a list of numbers, e.g. 0.1 or [0.01, 0.1]")?;
        if values.is_empty() {
            return Err("must list at least one learning rate".into());
        }
        if let Some(bad) = values.iter().find(|x| !(**x > 0.0 && x.is_finite())) {
            return Err(format!("every learning rate must be > 0, got {bad}"));
        }
        // The same rate twice would be the same runs twice (one run id), counted as two seeds' worth.
        if let Some((i, x)) = values.iter().enumerate().find(|(i, x)| values[..*i].contains(x)) {
            return Err(format!("lists the learning rate {x} twice (entry {}): each must differ", i + 1));
        }
        Ok(LearningRates(values))
    }
}

impl From<LearningRates> for toml::Value {
    fn from(lr: LearningRates) -> toml::Value {
        match lr.0.as_slice() {
            [single] => toml::Value::Float(*single),
            many => toml::Value::Array(many.iter().map(|x| toml::Value::Float(*x)).collect()),
        }
    }
}

/// One kernel size for every convolution block, or a list of one per block; all >= 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value", into = "toml::Value")]
pub struct KernelSizes(pub Vec<usize>);

impl TryFrom<toml::Value> for KernelSizes {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        let size = |v: &toml::Value| v.as_integer().filter(|k| *k >= 1).map(|k| k as usize);
        let sizes = match v {
            toml::Value::Array(items) => items.iter().map(size).collect::<Option<Vec<_>>>(),
            single => size(&single).map(|k| vec![k]),
        }
        .ok_or("must be a size >= 1 or a list of them, e.g. 5 or [5, 3]")?;
        if sizes.is_empty() {
            return Err("must list at least one kernel size".into());
        }
        Ok(KernelSizes(sizes))
    }
}

impl From<KernelSizes> for toml::Value {
    fn from(k: KernelSizes) -> toml::Value {
        match k.0.as_slice() {
            [single] => toml::Value::Integer(*single as i64),
            many => toml::Value::Array(many.iter().map(|x| toml::Value::Integer(*x as i64)).collect()),
        }
    }
}

/// `seeds = [0, 1, 2]`, or `seeds = 3` for the first three seeds 0, 1, 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value", into = "Vec<u64>")]
pub struct Seeds(pub Vec<u64>);

/// The most seeds one experiment may name: far beyond any statistics an
/// activation study needs, and a bound before the list is built.
pub const MAX_SEEDS: usize = 100_000;

impl TryFrom<toml::Value> for Seeds {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        let too_many = || format!("names more than {MAX_SEEDS} seeds: one experiment holds at most that many");
        let seeds: Vec<u64> = match v {
            toml::Value::Integer(n) if n as u64 > MAX_SEEDS as u64 => return Err(too_many()),
            toml::Value::Integer(n) if n >= 1 => (0..n as u64).collect(),
            toml::Value::Array(items) if items.len() > MAX_SEEDS => return Err(too_many()),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_integer().filter(|n| *n >= 0).map(|n| n as u64))
                .collect::<Option<_>>()
                .ok_or("must list seeds as integers >= 0, e.g. [0, 1, 2]")?,
            _ => return Err("must be a count (e.g. 3 for seeds 0, 1, 2) or a list of integers".into()),
        };
        if seeds.is_empty() {
            return Err("must name at least one seed".into());
        }
        let mut sorted = seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != seeds.len() {
            return Err("lists a seed twice".into());
        }
        Ok(Seeds(seeds))
    }
}

impl From<Seeds> for Vec<u64> {
    fn from(s: Seeds) -> Vec<u64> {
        s.0
    }
}

/// Weight initialisation of the linear layers (biases start at zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InitScheme {
    /// The activation's own (its catalog entry's `auto_init`, resolved by
    /// `model::resolve_init`): He for the ReLU family, LeCun normal for SELU,
    /// Glorot for the rest.
    #[default]
    Auto,
    /// He/Kaiming normal, std = sqrt(2 / fan_in) (He et al. 2015).
    He,
    /// He/Kaiming uniform, bound = sqrt(6 / fan_in).
    HeUniform,
    /// LeCun normal, std = sqrt(1 / fan_in) (LeCun et al. 1998; what SELU needs).
    Lecun,
    /// Glorot/Xavier uniform, bound = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
    Glorot,
    /// Glorot/Xavier normal, std = sqrt(2 / (fan_in + fan_out)).
    GlorotNormal,
    /// PyTorch's default for nn.Linear and nn.Conv2d: weights and biases
    /// uniform in +-1/sqrt(fan_in) (`kaiming_uniform_(a = sqrt(5))`, and
    /// `reset_parameters`' bias rule), the output layer included. Studies
    /// written in PyTorch use it without saying so.
    Pytorch,
    /// Normal weights, each unit's incoming weight vector scaled to L2 norm
    /// 1, zero biases: Hendrycks & Gimpel's GELU experiments (mnist_fcn.py,
    /// `tf.nn.l2_normalize(tf.random_normal([fan_in, fan_out]), 0)`).
    UnitNorm,
}

impl InitScheme {
    pub fn name(self) -> &'static str {
        match self {
            InitScheme::Auto => "auto",
            InitScheme::He => "he",
            InitScheme::HeUniform => "he_uniform",
            InitScheme::Lecun => "lecun",
            InitScheme::Glorot => "glorot",
            InitScheme::GlorotNormal => "glorot_normal",
            InitScheme::Pytorch => "pytorch",
            InitScheme::UnitNorm => "unit_norm",
        }
    }
}

impl fmt::Display for InitScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
}

impl ActivationEntry {
    /// How the entry is named in results: the activation's label, plus the
    /// init scheme when the entry overrides it, e.g. `tanh[init=he]`.
    pub fn label(&self) -> String {
        match self.init {
            Some(init) => format!("{}[init={init}]", self.kind.label()),
            None => self.kind.label(),
        }
    }
}

impl TryFrom<toml::Value> for ActivationEntry {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        let table = match v {
            toml::Value::String(name) => {
                let kind = ActivationKind::from_parts(&name, &BTreeMap::new()).map_err(|e| e.to_string())?;
                return Ok(ActivationEntry { kind, lr: None, init: None });
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
        Ok(ActivationEntry { kind, lr, init })
    }
}

/// The `activations` list, each entry's error naming its index
/// (`activations[2].formula`).
pub(super) fn entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ActivationEntry>, D::Error> {
    let values = Vec::<toml::Value>::deserialize(d)?;
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
    let mut params = Vec::new();
    for (key, value) in &table {
        match key.as_str() {
            "name" | "formula" | "learn" | "learn_per" => {}
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
    Ok(ActivationEntry { kind, lr, init })
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
        map.end()
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}
