//! Value types of the config that check themselves while the TOML is read, so
//! that a bad value is reported with the line it is on.

use serde::{Deserialize, Serialize};

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

/// The most learning rates one list may hold (a log grid from 1e-6 to 10
/// at 100 per decade is 700): a bound before the list is checked for repeats.
pub const MAX_RATES: usize = 1_000;

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
        if values.len() > MAX_RATES {
            return Err(format!("lists {} learning rates, more than the {MAX_RATES} one list may hold", values.len()));
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

pub(super) fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}
