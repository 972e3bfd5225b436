//! [`ActivationKind`]: which activation, with its parameters resolved. Plain
//! data (candle's style): `module.rs` turns it into computation with one
//! `match`, the config parser builds it from a name or a table.

use std::collections::BTreeMap;
use std::fmt;

use super::catalog::{self, ActivationInfo, ParamDefault};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActivationKind {
    Identity,
    Step {
        straight_through: bool,
    },
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu {
        slope: f64,
    },
    /// `slope`: the learned slope's initial value.
    PRelu {
        slope: f64,
    },
    Elu {
        alpha: f64,
    },
    Selu,
    Celu {
        alpha: f64,
    },
    Gelu,
    GeluTanh,
    Silu {
        beta: f64,
    },
    Mish,
    Softplus {
        beta: f64,
        threshold: f64,
    },
    Softsign,
    HardSigmoid,
    HardSwish,
    HardTanh {
        min: f64,
        max: f64,
    },
    Relu6,
    LogSigmoid,
    Tanhshrink,
}

/// A parameter value as written in a config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    Float(f64),
    Bool(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(v) => write!(f, "{v}"),
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
        let p = Params { info, given };
        let kind = match info.name {
            "identity" => Self::Identity,
            "step" => Self::Step { straight_through: p.flag("straight_through")? },
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "leaky_relu" => Self::LeakyRelu { slope: p.float("slope")? },
            "prelu" => Self::PRelu { slope: p.float("slope")? },
            "elu" => Self::Elu { alpha: p.float("alpha")? },
            "selu" => Self::Selu,
            "celu" => Self::Celu { alpha: p.nonzero("alpha")? },
            "gelu" => Self::Gelu,
            "gelu_tanh" => Self::GeluTanh,
            "silu" => Self::Silu { beta: p.float("beta")? },
            "mish" => Self::Mish,
            "softplus" => Self::Softplus { beta: p.positive("beta")?, threshold: p.float("threshold")? },
            "softsign" => Self::Softsign,
            "hard_sigmoid" => Self::HardSigmoid,
            "hard_swish" => Self::HardSwish,
            "hard_tanh" => {
                let (min, max) = (p.float("min")?, p.float("max")?);
                if min >= max {
                    return Err(KindError::BadValue {
                        activation: info.name,
                        param: "min",
                        reason: "must be below `max`",
                    });
                }
                Self::HardTanh { min, max }
            }
            "relu6" => Self::Relu6,
            "log_sigmoid" => Self::LogSigmoid,
            "tanhshrink" => Self::Tanhshrink,
            other => unreachable!("catalog entry `{other}` has no ActivationKind"),
        };
        Ok(kind)
    }

    /// The built-in activation with all parameters at their defaults.
    pub fn default_for(info: &ActivationInfo) -> Self {
        Self::from_parts(info.name, &BTreeMap::new()).expect("catalog defaults are valid")
    }

    pub fn info(&self) -> &'static ActivationInfo {
        catalog::lookup(self.name()).expect("every kind is in the catalog")
    }

    /// Canonical name, as in the catalog.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Step { .. } => "step",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::PRelu { .. } => "prelu",
            Self::Elu { .. } => "elu",
            Self::Selu => "selu",
            Self::Celu { .. } => "celu",
            Self::Gelu => "gelu",
            Self::GeluTanh => "gelu_tanh",
            Self::Silu { .. } => "silu",
            Self::Mish => "mish",
            Self::Softplus { .. } => "softplus",
            Self::Softsign => "softsign",
            Self::HardSigmoid => "hard_sigmoid",
            Self::HardSwish => "hard_swish",
            Self::HardTanh { .. } => "hard_tanh",
            Self::Relu6 => "relu6",
            Self::LogSigmoid => "log_sigmoid",
            Self::Tanhshrink => "tanhshrink",
        }
    }

    /// Every parameter with its value, in catalog order.
    pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
        use ParamValue::{Bool, Float};
        match *self {
            Self::Step { straight_through } => vec![("straight_through", Bool(straight_through))],
            Self::LeakyRelu { slope } => vec![("slope", Float(slope))],
            Self::PRelu { slope } => vec![("slope", Float(slope))],
            Self::Elu { alpha } | Self::Celu { alpha } => vec![("alpha", Float(alpha))],
            Self::Silu { beta } => vec![("beta", Float(beta))],
            Self::Softplus { beta, threshold } => {
                vec![("beta", Float(beta)), ("threshold", Float(threshold))]
            }
            Self::HardTanh { min, max } => vec![("min", Float(min)), ("max", Float(max))],
            _ => vec![],
        }
    }

    /// Parameters that differ from their defaults, as `slope=0.1;beta=2`
    /// (empty when all are defaults).
    pub fn params_string(&self) -> String {
        let defaults = Self::default_for(self.info()).params();
        self.params()
            .iter()
            .zip(defaults.iter())
            .filter(|(given, default)| given.1 != default.1)
            .map(|((name, value), _)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Human label: the name, plus non-default parameters, e.g.
    /// `leaky_relu(slope=0.1)`. Two entries of one experiment never share it.
    pub fn label(&self) -> String {
        let params = self.params_string();
        if params.is_empty() {
            self.name().to_string()
        } else {
            format!("{}({})", self.name(), params.replace(';', ","))
        }
    }

    /// Activations whose positive side is linear (ReLU family): they take He
    /// initialisation by default (He et al. 2015).
    pub fn is_relu_family(&self) -> bool {
        matches!(
            self,
            Self::Relu
                | Self::LeakyRelu { .. }
                | Self::PRelu { .. }
                | Self::Elu { .. }
                | Self::Celu { .. }
                | Self::Relu6
                | Self::Gelu
                | Self::GeluTanh
                | Self::Silu { .. }
                | Self::Mish
                | Self::HardSwish
                | Self::Softplus { .. }
        )
    }
}

struct Params<'a> {
    info: &'static ActivationInfo,
    given: &'a BTreeMap<String, ParamValue>,
}

impl Params<'_> {
    fn default_of(&self, name: &str) -> ParamDefault {
        self.info.params.iter().find(|p| p.name == name).map(|p| p.default).expect("parameter is in the catalog")
    }

    fn float(&self, name: &'static str) -> Result<f64, KindError> {
        match (self.given.get(name), self.default_of(name)) {
            (Some(ParamValue::Float(v)), _) => Ok(*v),
            (None, ParamDefault::Float(v)) => Ok(v),
            _ => Err(KindError::WrongType { activation: self.info.name, param: name.to_string(), expected: "number" }),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, KindError> {
        match (self.given.get(name), self.default_of(name)) {
            (Some(ParamValue::Bool(v)), _) => Ok(*v),
            (None, ParamDefault::Bool(v)) => Ok(v),
            _ => Err(KindError::WrongType {
                activation: self.info.name,
                param: name.to_string(),
                expected: "boolean (true or false)",
            }),
        }
    }

    fn positive(&self, name: &'static str) -> Result<f64, KindError> {
        let v = self.float(name)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(KindError::BadValue { activation: self.info.name, param: name, reason: "must be > 0" })
        }
    }

    fn nonzero(&self, name: &'static str) -> Result<f64, KindError> {
        let v = self.float(name)?;
        if v != 0.0 {
            Ok(v)
        } else {
            Err(KindError::BadValue { activation: self.info.name, param: name, reason: "must not be 0" })
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
        assert_eq!(kind, ActivationKind::LeakyRelu { slope: 0.1 });
        assert_eq!(kind.label(), "leaky_relu(slope=0.1)");
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
