//! [`ActivationKind`]: a catalog entry with its parameters' values. Plain
//! data (candle's style): `module.rs` turns it into computation, the config
//! parser builds it from a name or a table.

use std::collections::BTreeMap;
use std::fmt;

use super::catalog::{self, ActivationInfo, MAX_PARAMS, ParamDefault, Rule};
use super::formula::Formula;

/// Which activation, with every parameter resolved (booleans held as 0 or 1).
#[derive(Clone, Copy)]
pub struct ActivationKind {
    info: &'static ActivationInfo,
    values: [f64; MAX_PARAMS],
    /// A formula of the config instead of a built-in (then `info` is [`catalog::FORMULA`]).
    custom: Option<&'static Custom>,
    /// A built-in that learns (PReLU) with `learn_per = "unit"`: one value per
    /// unit or channel (a formula keeps its own in [`Custom::per_unit`]).
    per_unit: bool,
}

impl PartialEq for ActivationKind {
    fn eq(&self, other: &Self) -> bool {
        self.info.name == other.info.name
            && self.values == other.values
            && self.custom == other.custom
            && self.per_unit == other.per_unit
    }
}

/// An activation typed as a formula: its name (if the entry gives one), the
/// checked formula, its parameters' values, and which of them are learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    pub name: Option<String>,
    pub formula: Formula,
    pub values: Vec<f64>,
    /// Per parameter: trained with the weights (one value per layer, or per unit).
    pub learned: Vec<bool>,
    /// `learn_per = "unit"`: one value per unit (channel in a convolution block).
    pub per_unit: bool,
    /// `name`, else `formula_<8 hex digits of the formula's FNV-1a>`: the run-id stem.
    id_name: String,
    /// The fused flex op's program (`None`: a built-in without a fused kernel in it).
    pub program: Option<crate::fused::formula::Program>,
}

/// The formulas parsed in this process, kept for its lifetime so kinds stay
/// `Copy` (one each, however often a config is read).
fn intern(custom: Custom) -> &'static Custom {
    static KNOWN: std::sync::Mutex<Vec<&'static Custom>> = std::sync::Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = known.iter().find(|k| ***k == custom) {
        return found;
    }
    let leaked: &'static Custom = Box::leak(Box::new(custom));
    known.push(leaked);
    leaked
}

impl fmt::Debug for ActivationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A parameter value as written in a config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    Float(f64),
    Bool(bool),
}

/// A number as labels and run ids write it: Rust's shortest form (`0.1`,
/// `1e-5` reads `0.00001`), or scientific notation where that would run
/// long (`1e308`, `1e-300`), so an id stays a usable file name.
pub fn format_number(x: f64) -> String {
    let plain = x.to_string();
    if plain.len() > 24 { format!("{x:e}") } else { plain }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(v) => f.write_str(&format_number(*v)),
            ParamValue::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// Why a name and parameters do not make an activation. The message is meant
/// to be shown as is, after the file and key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KindError {
    #[error("unknown activation `{name}`{suggestion}; known: {known}")]
    UnknownName { name: String, suggestion: String, known: String },
    #[error("`{activation}` has no parameter `{param}`; {allowed}")]
    UnknownParam { activation: &'static str, param: String, allowed: String },
    #[error("parameter `{param}` of `{activation}` must be a {expected}")]
    WrongType { activation: &'static str, param: String, expected: &'static str },
    #[error("parameter `{param}` of `{activation}`: {reason}")]
    BadValue { activation: &'static str, param: &'static str, reason: &'static str },
    /// A formula at other values that no longer checks (e.g. not finite on [-20, 20]).
    #[error("`{activation}` {reason}")]
    Formula { activation: String, reason: String },
}

impl ActivationKind {
    /// Resolves a name (or alias) and the parameters given for it; missing
    /// parameters take their documented defaults.
    pub fn from_parts(name: &str, given: &BTreeMap<String, ParamValue>) -> Result<Self, KindError> {
        let info = catalog::lookup(name).ok_or_else(|| KindError::UnknownName {
            name: name.to_string(),
            suggestion: catalog::closest(name).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
            known: catalog::names().join(", "),
        })?;
        for key in given.keys() {
            if !info.params.iter().any(|p| p.name == key) {
                let allowed = if info.params.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    let names: Vec<_> = info.params.iter().map(|p| p.name).collect();
                    format!("its parameters are: {}", names.join(", "))
                };
                return Err(KindError::UnknownParam { activation: info.name, param: key.clone(), allowed });
            }
        }
        let mut values = [0.0; MAX_PARAMS];
        for (slot, param) in values.iter_mut().zip(info.params) {
            let wrong = |expected| KindError::WrongType { activation: info.name, param: param.name.into(), expected };
            *slot = match (given.get(param.name).copied(), param.default) {
                (Some(ParamValue::Float(v)), ParamDefault::Float(_)) | (None, ParamDefault::Float(v)) => v,
                (Some(ParamValue::Bool(b)), ParamDefault::Bool(_)) | (None, ParamDefault::Bool(b)) => {
                    f64::from(u8::from(b))
                }
                (Some(_), ParamDefault::Float(_)) => return Err(wrong("number")),
                (Some(_), ParamDefault::Bool(_)) => return Err(wrong("boolean (true or false)")),
            };
            let reason = match param.rule {
                _ if !slot.is_finite() => "must be a finite number",
                Rule::Positive if *slot <= 0.0 => "must be > 0",
                Rule::NonZero if *slot == 0.0 => "must not be 0",
                _ => continue,
            };
            return Err(KindError::BadValue { activation: info.name, param: param.name, reason });
        }
        if let Some(Err((param, reason))) = info.check.map(|check| check(&values)) {
            return Err(KindError::BadValue { activation: info.name, param, reason });
        }
        Ok(Self { info, values, custom: None, per_unit: false })
    }

    /// A built-in by name with some parameters, for code and tests:
    /// `ActivationKind::with("leaky_relu", &[("slope", 0.2)])`; booleans as 0 or 1.
    pub fn with(name: &str, params: &[(&str, f64)]) -> Result<Self, KindError> {
        let info = catalog::lookup(name).ok_or_else(|| KindError::UnknownName {
            name: name.to_string(),
            suggestion: String::new(),
            known: catalog::names().join(", "),
        })?;
        let given = params
            .iter()
            .map(|&(key, v)| {
                let value = match info.params.iter().find(|p| p.name == key).map(|p| p.default) {
                    Some(ParamDefault::Bool(_)) => ParamValue::Bool(v != 0.0),
                    _ => ParamValue::Float(v),
                };
                (key.to_string(), value)
            })
            .collect();
        Self::from_parts(name, &given)
    }

    /// An activation typed as a formula, with its parameters (name, value,
    /// learned) in the order given; `name` names it in results when given.
    pub fn from_formula(name: Option<&str>, source: &str, params: &[(String, f64, bool)]) -> Result<Self, String> {
        Self::from_formula_per(name, source, params, false)
    }

    /// As [`Self::from_formula`], the learned parameters one per unit when `per_unit`.
    pub fn from_formula_per(
        name: Option<&str>,
        source: &str,
        params: &[(String, f64, bool)],
        per_unit: bool,
    ) -> Result<Self, String> {
        if let Some(name) = name {
            if name.is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                || name.len() > 40
            {
                return Err(format!(
                    "`name` {name:?} of a formula must be up to 40 letters, digits, `_` or `-` (it names run folders)"
                ));
            }
            if catalog::lookup(name).is_some() {
                return Err(format!("`name` `{name}` is a built-in activation: give the formula a name of its own"));
            }
        }
        let values: Vec<(String, f64)> = params.iter().map(|(n, v, _)| (n.clone(), *v)).collect();
        let formula = Formula::new(source, &values).map_err(|e| format!("`formula` {e}"))?;
        let id_name = match name {
            Some(name) => name.to_string(),
            None => format!("formula_{}", &crate::maths::hash::fnv1a(source.trim())[..8]),
        };
        let (values, learned): (Vec<f64>, Vec<bool>) = params.iter().map(|p| (p.1, p.2)).unzip();
        let program = super::formula::compile(&formula.expr, &values, &learned);
        let custom = Custom { name: name.map(str::to_string), formula, values, learned, per_unit, id_name, program };
        Ok(Self { info: &catalog::FORMULA, values: [0.0; MAX_PARAMS], custom: Some(intern(custom)), per_unit: false })
    }

    /// The same activation with some parameters at other values (a
    /// built-in's booleans as 0 or 1), the others kept: a formula at the
    /// values a run learned, a built-in with `--param slope=0.2`. Checked
    /// as the config's values are; an unknown name is an error listing the
    /// activation's parameters.
    pub fn with_values(&self, given: &[(&str, f64)]) -> Result<Self, KindError> {
        let mut params = self.params();
        for &(name, value) in given {
            let Some(slot) = params.iter_mut().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
                let allowed = if names.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("its parameters are: {}", names.join(", "))
                };
                return Err(KindError::UnknownParam { activation: self.name(), param: name.to_string(), allowed });
            };
            slot.1 = match slot.1 {
                ParamValue::Bool(_) => ParamValue::Bool(value != 0.0),
                ParamValue::Float(_) => ParamValue::Float(value),
            };
        }
        match self.custom {
            Some(c) => {
                let params: Vec<(String, f64, bool)> = params
                    .iter()
                    .zip(&c.learned)
                    .map(|((name, value), learned)| {
                        let value = match value {
                            ParamValue::Float(v) => *v,
                            ParamValue::Bool(b) => f64::from(u8::from(*b)),
                        };
                        (name.to_string(), value, *learned)
                    })
                    .collect();
                Self::from_formula_per(c.name.as_deref(), &c.formula.source, &params, c.per_unit).map_err(|reason| {
                    KindError::Formula {
                        activation: self.label(),
                        reason: reason.trim_start_matches("`formula` ").to_string(),
                    }
                })
            }
            None => {
                let given: BTreeMap<String, ParamValue> =
                    params.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
                Ok(Self { per_unit: self.per_unit, ..Self::from_parts(self.info.name, &given)? })
            }
        }
    }

    /// This built-in learning one value per unit or channel (`learn_per = "unit"`).
    pub fn learned_per_unit(self) -> Result<Self, String> {
        match self.info.learned {
            Some(_) if self.custom.is_none() => Ok(Self { per_unit: true, ..self }),
            _ => Err(format!(
                "`learn_per`: `{}` learns no parameter (PReLU does, and a formula with `learn`)",
                self.info.name
            )),
        }
    }

    /// The names of the learned parameters, in order: a formula's `learn`,
    /// a built-in's own (PReLU's `slope`).
    pub fn learned_names(&self) -> Vec<&'static str> {
        match self.custom {
            Some(c) => c.formula.params.iter().zip(&c.learned).filter(|(_, l)| **l).map(|(n, _)| n.as_str()).collect(),
            None => self.info.learned.into_iter().collect(),
        }
    }

    /// The learned parameters' starting values, in the order of [`Self::learned_names`].
    pub fn learned_values(&self) -> Vec<f64> {
        match self.custom {
            Some(c) => c.values.iter().zip(&c.learned).filter(|(_, l)| **l).map(|(v, _)| *v).collect(),
            None => self
                .info
                .learned
                .map(|name| {
                    let index =
                        self.info.params.iter().position(|p| p.name == name).expect("the catalog test checks it");
                    self.values[index]
                })
                .into_iter()
                .collect(),
        }
    }

    /// Whether the learned parameters hold one value per unit (or channel) rather than per layer.
    pub fn per_unit(&self) -> bool {
        self.custom.map_or(self.per_unit, |c| c.per_unit)
    }

    /// The formula of an activation typed as one.
    pub fn custom(&self) -> Option<&'static Custom> {
        self.custom
    }

    /// The built-in activation with all parameters at their defaults.
    pub fn default_for(info: &'static ActivationInfo) -> Self {
        Self::from_parts(info.name, &BTreeMap::new()).expect("catalog defaults are valid")
    }

    pub fn info(&self) -> &'static ActivationInfo {
        self.info
    }

    /// Canonical name, as in the catalog; a formula's name, or
    /// `formula_<hash>` for one without (the stem of its run ids).
    pub fn name(&self) -> &'static str {
        match self.custom {
            Some(c) => &c.id_name,
            None => self.info.name,
        }
    }

    /// The parameters' values in catalog order, as the forward pass sees them.
    pub fn values(&self) -> &[f64; MAX_PARAMS] {
        &self.values
    }

    /// Every parameter with its value, in catalog order (a formula's in the order given).
    pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
        if let Some(c) = self.custom {
            return c.formula.params.iter().zip(&c.values).map(|(n, v)| (n.as_str(), ParamValue::Float(*v))).collect();
        }
        self.info
            .params
            .iter()
            .zip(self.values)
            .map(|(p, v)| {
                let value = match p.default {
                    ParamDefault::Float(_) => ParamValue::Float(v),
                    ParamDefault::Bool(_) => ParamValue::Bool(v != 0.0),
                };
                (p.name, value)
            })
            .collect()
    }

    /// Parameters that differ from their defaults, as `slope=0.1;beta=2`
    /// (empty when all are defaults).
    pub fn params_string(&self) -> String {
        if let Some(custom) = self.custom {
            // A formula's values are its own: every one is shown.
            let mut parts: Vec<String> = self.params().iter().map(|(n, v)| format!("{n}={v}")).collect();
            if custom.per_unit {
                parts.push("learn_per=unit".into());
            }
            return parts.join(";");
        }
        let defaults = Self::default_for(self.info).params();
        let mut parts: Vec<String> = self
            .params()
            .iter()
            .zip(defaults.iter())
            .filter(|(given, default)| given.1 != default.1)
            .map(|((name, value), _)| format!("{name}={value}"))
            .collect();
        if self.per_unit {
            parts.push("learn_per=unit".into());
        }
        parts.join(";")
    }

    /// A formula's gain for `init = "auto"` (activation/gain.rs), at its
    /// starting values; `None` for a built-in (its catalog entry says) or a
    /// formula whose second moment is not a positive number.
    pub fn formula_gain(&self) -> Option<f64> {
        let custom = self.custom?;
        super::gain::gain(&custom.formula.values_at(&custom.values, &super::gain::points()))
    }

    /// A formula given a `name`: labelled (and its runs named) by it alone.
    pub fn is_named_formula(&self) -> bool {
        self.custom.is_some_and(|c| c.name.is_some())
    }

    /// Human label: the name, plus non-default parameters, e.g.
    /// `leaky_relu(slope=0.1)`; a named formula's `name` alone (its
    /// parameters are the ones it declares), an unnamed one's source with
    /// its values. Two entries of one experiment never share it.
    pub fn label(&self) -> String {
        if let Some(Custom { name: Some(name), .. }) = self.custom {
            return name.clone();
        }
        let params = self.params_string();
        let name = self.display_name();
        if params.is_empty() { name } else { format!("{name}({})", params.replace(';', ",")) }
    }

    /// The label without its parameters: the name, or an unnamed formula as
    /// written (spaces collapsed), e.g. `x * sigmoid(beta * x)`.
    pub fn display_name(&self) -> String {
        match self.custom {
            Some(Custom { name: None, formula, .. }) => formula.source.split_whitespace().collect::<Vec<_>>().join(" "),
            _ => self.name().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn every_catalog_entry_builds_with_defaults() {
        for info in catalog::CATALOG {
            let kind = ActivationKind::default_for(info);
            assert_eq!(kind.name(), info.name);
            assert_eq!(kind.label(), info.name);
            assert_eq!(kind.params().len(), info.params.len());
        }
    }

    #[test]
    fn parameters_override_defaults_and_show_in_the_label() {
        let kind = ActivationKind::from_parts("leaky_relu", &params(&[("slope", ParamValue::Float(0.1))])).unwrap();
        assert_eq!(kind, ActivationKind::with("leaky_relu", &[("slope", 0.1)]).unwrap());
        assert_eq!(kind.values()[0], 0.1);
        assert_eq!(kind.label(), "leaky_relu(slope=0.1)");
    }

    #[test]
    fn other_values_replace_the_given_parameters_only() {
        let leaky = ActivationKind::with("leaky_relu", &[("slope", 0.1)]).unwrap();
        let steeper = leaky.with_values(&[("slope", 0.3)]).unwrap();
        assert_eq!(steeper, ActivationKind::with("leaky_relu", &[("slope", 0.3)]).unwrap());
        let err = leaky.with_values(&[("beta", 1.0)]).unwrap_err().to_string();
        assert!(err.contains("`leaky_relu` has no parameter `beta`; its parameters are: slope"), "{err}");
        assert!(leaky.with_values(&[("slope", f64::NAN)]).is_err());
        let prelu = ActivationKind::with("prelu", &[]).unwrap().learned_per_unit().unwrap();
        let moved = prelu.with_values(&[("slope", 0.1)]).unwrap();
        assert!(moved.per_unit() && moved.learned_values() == [0.1]);

        let params = [("beta".to_string(), 1.0, true), ("gamma".to_string(), 2.0, false)];
        let swish =
            ActivationKind::from_formula_per(Some("sw"), "gamma * x * sigmoid(beta * x)", &params, true).unwrap();
        let learned = swish.with_values(&[("beta", 1.5)]).unwrap();
        assert_eq!(learned.name(), "sw");
        assert_eq!(learned.params(), [("beta", ParamValue::Float(1.5)), ("gamma", ParamValue::Float(2.0))]);
        assert_eq!(
            (learned.learned_names(), learned.learned_values(), learned.per_unit()),
            (vec!["beta"], vec![1.5], true)
        );
        let log = ActivationKind::from_formula(None, "log(1 + a * x * x)", &[("a".into(), 1.0, true)]).unwrap();
        let err = log.with_values(&[("a", -1.0)]).unwrap_err().to_string();
        assert!(err.contains("is not finite at x = "), "{err}");
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let err = ActivationKind::from_parts("sigmiod", &BTreeMap::new()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean `sigmoid`"), "{msg}");
        assert!(msg.contains("relu, leaky_relu"), "{msg}");
    }

    #[test]
    fn unknown_and_mistyped_parameters_are_errors() {
        let err = ActivationKind::from_parts("relu", &params(&[("slope", ParamValue::Float(0.1))])).unwrap_err();
        assert!(err.to_string().contains("takes no parameters"), "{err}");
        let err = ActivationKind::from_parts("elu", &params(&[("alpha", ParamValue::Bool(true))])).unwrap_err();
        assert!(err.to_string().contains("must be a number"), "{err}");
        let err = ActivationKind::from_parts("hard_tanh", &params(&[("min", ParamValue::Float(2.0))])).unwrap_err();
        assert!(err.to_string().contains("must be below `max`"), "{err}");
    }
}
