//! The built-in activations as plain data: names, aliases, formulas and
//! parameters with their defaults. `spec.rs` turns a config entry into an
//! [`ActivationKind`](super::ActivationKind) by looking names up here, and
//! `actbench activations` prints this table.

/// One parameter of an activation, with its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamInfo {
    pub name: &'static str,
    pub default: ParamDefault,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    Float(f64),
    Bool(bool),
}

/// One built-in activation.
#[derive(Debug, Clone, Copy)]
pub struct ActivationInfo {
    /// Canonical name, as written in configs and in every CSV.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub formula: &'static str,
    pub params: &'static [ParamInfo],
    /// Where the definition (and its convention at kinks) comes from.
    pub source: &'static str,
}

const fn float(name: &'static str, default: f64, help: &'static str) -> ParamInfo {
    ParamInfo { name, default: ParamDefault::Float(default), help }
}

const fn flag(name: &'static str, default: bool, help: &'static str) -> ParamInfo {
    ParamInfo { name, default: ParamDefault::Bool(default), help }
}

/// Every built-in activation, in the order `actbench activations` lists them.
/// Definitions and kink conventions follow PyTorch's `torch.nn` modules, so
/// that values and autograd derivatives match tests/data/activations_torch.csv.
pub const CATALOG: &[ActivationInfo] = &[
    ActivationInfo {
        name: "identity",
        aliases: &["linear", "none"],
        formula: "x",
        params: &[],
        source: "a network with it is one linear map, whatever its depth",
    },
    ActivationInfo {
        name: "step",
        aliases: &["binary_step", "heaviside"],
        formula: "1 if x > 0 else 0",
        params: &[flag(
            "straight_through",
            false,
            "backward passes the gradient where |x| <= 1 (the straight-through estimator of Bengio et al. 2013 / Hubara et al. 2016) instead of the true zero",
        )],
        source: "the perceptron's activation; its derivative is 0 almost everywhere, so nothing below it learns",
    },
    ActivationInfo {
        name: "sigmoid",
        aliases: &["logistic"],
        formula: "1 / (1 + exp(-x))",
        params: &[],
        source: "torch.nn.Sigmoid",
    },
    ActivationInfo {
        name: "tanh",
        aliases: &[],
        formula: "(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
        params: &[],
        source: "torch.nn.Tanh",
    },
    ActivationInfo {
        name: "relu",
        aliases: &[],
        formula: "max(0, x)",
        params: &[],
        source: "torch.nn.ReLU (derivative 0 at x = 0)",
    },
    ActivationInfo {
        name: "leaky_relu",
        aliases: &["lrelu"],
        formula: "x if x > 0 else slope * x",
        params: &[float("slope", 0.01, "negative slope")],
        source: "torch.nn.LeakyReLU (derivative `slope` at x = 0)",
    },
    ActivationInfo {
        name: "prelu",
        aliases: &[],
        formula: "x if x > 0 else a * x, a learned (one per layer)",
        // Not `init`: that key of an activation entry names the weight initialisation.
        params: &[float("slope", 0.25, "initial value of the learned slope a")],
        source: "torch.nn.PReLU (He et al. 2015)",
    },
    ActivationInfo {
        name: "elu",
        aliases: &[],
        formula: "x if x > 0 else alpha * (exp(x) - 1)",
        params: &[float("alpha", 1.0, "value approached as x -> -inf is -alpha")],
        source: "torch.nn.ELU (Clevert et al. 2015)",
    },
    ActivationInfo {
        name: "selu",
        aliases: &[],
        formula: "scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha = 1.6733, scale = 1.0507",
        params: &[],
        source: "torch.nn.SELU (Klambauer et al. 2017; derivative scale * alpha at x = 0)",
    },
    ActivationInfo {
        name: "celu",
        aliases: &[],
        formula: "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
        params: &[float("alpha", 1.0, "scale of the negative part")],
        source: "torch.nn.CELU (Barron 2017)",
    },
    ActivationInfo {
        name: "gelu",
        aliases: &[],
        formula: "x * (1 + erf(x / sqrt(2))) / 2",
        params: &[],
        source: "torch.nn.GELU(approximate='none') (Hendrycks & Gimpel 2016)",
    },
    ActivationInfo {
        name: "gelu_tanh",
        aliases: &["gelu_approximate"],
        formula: "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2",
        params: &[],
        source: "torch.nn.GELU(approximate='tanh')",
    },
    ActivationInfo {
        name: "silu",
        aliases: &["swish"],
        formula: "x * sigmoid(beta * x)",
        params: &[float("beta", 1.0, "1 gives SiLU; other values give Swish-beta (Ramachandran et al. 2017)")],
        source: "torch.nn.SiLU (Elfwing et al. 2017)",
    },
    ActivationInfo {
        name: "mish",
        aliases: &[],
        formula: "x * tanh(softplus(x))",
        params: &[],
        source: "torch.nn.Mish (Misra 2019)",
    },
    ActivationInfo {
        name: "softplus",
        aliases: &[],
        formula: "log(1 + exp(beta * x)) / beta, x where beta * x > threshold",
        params: &[
            float("beta", 1.0, "sharpness"),
            float("threshold", 20.0, "beta * x above which the function is the identity"),
        ],
        source: "torch.nn.Softplus",
    },
    ActivationInfo {
        name: "softsign",
        aliases: &[],
        formula: "x / (1 + |x|)",
        params: &[],
        source: "torch.nn.Softsign",
    },
    ActivationInfo {
        name: "hard_sigmoid",
        aliases: &["hardsigmoid"],
        formula: "relu6(x + 3) / 6",
        params: &[],
        source: "torch.nn.Hardsigmoid (not Burn's default alpha 0.2, beta 0.5; derivative 0 at x = +-3)",
    },
    ActivationInfo {
        name: "hard_swish",
        aliases: &["hardswish"],
        formula: "x * relu6(x + 3) / 6",
        params: &[],
        source: "torch.nn.Hardswish (Howard et al. 2019)",
    },
    ActivationInfo {
        name: "hard_tanh",
        aliases: &["hardtanh"],
        formula: "clamp(x, min, max)",
        params: &[float("min", -1.0, "lower bound"), float("max", 1.0, "upper bound")],
        source: "torch.nn.Hardtanh (derivative 0 at the bounds)",
    },
    ActivationInfo {
        name: "relu6",
        aliases: &[],
        formula: "min(max(0, x), 6)",
        params: &[],
        source: "torch.nn.ReLU6 (derivative 0 at x = 0 and x = 6)",
    },
    ActivationInfo {
        name: "log_sigmoid",
        aliases: &["logsigmoid"],
        formula: "log(sigmoid(x))",
        params: &[],
        source: "torch.nn.LogSigmoid",
    },
    ActivationInfo {
        name: "tanhshrink",
        aliases: &[],
        formula: "x - tanh(x)",
        params: &[],
        source: "torch.nn.Tanhshrink",
    },
];

/// Finds an activation by canonical name or alias (case-insensitive, `-` = `_`).
pub fn lookup(name: &str) -> Option<&'static ActivationInfo> {
    let wanted = normalize(name);
    CATALOG.iter().find(|info| info.name == wanted || info.aliases.contains(&wanted.as_str()))
}

/// All canonical names, for error messages.
pub fn names() -> Vec<&'static str> {
    CATALOG.iter().map(|info| info.name).collect()
}

/// The known name (canonical or alias) closest to `name`, if any is close.
pub fn closest(name: &str) -> Option<&'static str> {
    let wanted = normalize(name);
    CATALOG
        .iter()
        .flat_map(|info| std::iter::once(info.name).chain(info.aliases.iter().copied()))
        .map(|candidate| (strsim::jaro_winkler(&wanted, candidate), candidate))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_canonical_names() {
        assert_eq!(lookup("swish").unwrap().name, "silu");
        assert_eq!(lookup("Linear").unwrap().name, "identity");
        assert_eq!(lookup("leaky-relu").unwrap().name, "leaky_relu");
        assert!(lookup("softmax").is_none());
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut all: Vec<&str> =
            CATALOG.iter().flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().copied())).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn closest_suggests_a_near_name() {
        assert_eq!(closest("sigmod"), Some("sigmoid"));
        assert_eq!(closest("rleu"), Some("relu"));
        assert_eq!(closest("zzzzzzzz"), None);
    }
}
