//! The built-in activations, one entry each: name, aliases, formula,
//! parameters with their defaults and checks, the initialisation `auto`
//! picks, the forward pass from Burn tensor ops, and the fused kernel where
//! one exists. Adding a built-in is one entry here (plus its kernel in
//! `crate::fused::kernels` if it gets one) and one row per point in
//! tests/data/activations_torch.csv (scripts/activations_reference.py).
//! [`ActivationKind`](super::ActivationKind) is an entry with its
//! parameters' values; `actbench activations` prints this table.

use burn::tensor::Tensor;
use burn::tensor::activation as act;

use crate::fused::kernels::Pointwise;

/// One parameter of an activation, with its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamInfo {
    pub name: &'static str,
    pub default: ParamDefault,
    pub help: &'static str,
    /// What a value must satisfy.
    pub rule: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    Float(f64),
    Bool(bool),
}

/// A check of one parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Any,
    Positive,
    NonZero,
}

/// The weight initialisation `init = "auto"` picks for an activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoInit {
    /// He et al. 2015: the ReLU family, whose positive side is linear.
    He,
    /// LeCun normal: what SELU's self-normalisation assumes (Klambauer et al. 2017).
    Lecun,
    /// Glorot & Bengio 2010: the saturating and the rest.
    Glorot,
}

/// Most parameters an activation has.
pub const MAX_PARAMS: usize = 2;

/// The values an activation's forward pass sees: its parameters in catalog
/// order (booleans as 0 or 1), and the learned tensor of an entry with
/// `learned` (PReLU's slope), shaped to broadcast against the input.
pub struct Args {
    pub values: [f64; MAX_PARAMS],
    pub learned: Option<Tensor<2>>,
}

/// A check across an activation's parameters: `Err((parameter, reason))`.
pub type CrossCheck = fn(&[f64; MAX_PARAMS]) -> Result<(), (&'static str, &'static str)>;

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
    pub auto_init: AutoInit,
    /// The parameter whose value starts a learned tensor, trained with the weights.
    pub learned: Option<&'static str>,
    /// A check across parameters.
    pub check: Option<CrossCheck>,
    /// `f(x)` from Burn's tensor ops on every backend; autodiff of these ops
    /// gives PyTorch's derivative, kinks included. Rows are samples (or
    /// samples x channels); the function is element-wise.
    pub forward: fn(Tensor<2>, &Args) -> Tensor<2>,
    /// The fused flex kernel computing the same function, if it has one.
    pub kernel: Option<fn(&[f64; MAX_PARAMS]) -> Pointwise>,
}

impl ActivationInfo {
    /// Every parameter at its default, in catalog order (a boolean as 0 or
    /// 1), as the forward pass sees them.
    pub fn default_values(&self) -> [f64; MAX_PARAMS] {
        let mut values = [0.0; MAX_PARAMS];
        for (slot, param) in values.iter_mut().zip(self.params) {
            *slot = match param.default {
                ParamDefault::Float(v) => v,
                ParamDefault::Bool(b) => f64::from(u8::from(b)),
            };
        }
        values
    }
}

const fn float(name: &'static str, default: f64, help: &'static str) -> ParamInfo {
    ParamInfo { name, default: ParamDefault::Float(default), help, rule: Rule::Any }
}

const fn flag(name: &'static str, default: bool, help: &'static str) -> ParamInfo {
    ParamInfo { name, default: ParamDefault::Bool(default), help, rule: Rule::Any }
}

const fn with_rule(param: ParamInfo, rule: Rule) -> ParamInfo {
    ParamInfo { rule, ..param }
}

/// The fields most entries leave at their usual value.
const BASE: ActivationInfo = ActivationInfo {
    name: "",
    aliases: &[],
    formula: "",
    params: &[],
    source: "",
    auto_init: AutoInit::Glorot,
    learned: None,
    check: None,
    forward: |x, _| x,
    kernel: None,
};

/// What every activation typed as a formula shares (not in [`CATALOG`]):
/// Glorot under `init = "auto"`, computed by `super::formula`.
pub const FORMULA: ActivationInfo =
    ActivationInfo { name: "formula", formula: "as written in the config", source: "the experiment file", ..BASE };

/// Constants of SELU, from Klambauer et al. 2017 (the values torch.nn.SELU uses).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// Every built-in activation, in the order `actbench activations` lists them.
/// Definitions and kink conventions follow PyTorch's `torch.nn` modules, so
/// that values and autograd derivatives match tests/data/activations_torch.csv.
pub const CATALOG: &[ActivationInfo] = &[
    ActivationInfo {
        name: "identity",
        aliases: &["linear", "none"],
        formula: "x",
        source: "a network with it is one linear map, whatever its depth",
        forward: |x, _| x,
        ..BASE
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
        forward: |x, a| {
            let step = x.clone().greater_elem(0.0).float();
            if a.values[0] != 0.0 {
                // Value of the step, gradient of the clipped identity.
                let surrogate = hard_tanh(x, -1.0, 1.0);
                surrogate.clone() + (step - surrogate).detach()
            } else {
                // Comparison ops carry no gradient: d/dx = 0, which is the lesson.
                step
            }
        },
        ..BASE
    },
    ActivationInfo {
        name: "sigmoid",
        aliases: &["logistic"],
        formula: "1 / (1 + exp(-x))",
        source: "torch.nn.Sigmoid",
        forward: |x, _| act::sigmoid(x),
        kernel: Some(|_| Pointwise::Sigmoid),
        ..BASE
    },
    ActivationInfo {
        name: "tanh",
        formula: "(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
        source: "torch.nn.Tanh",
        forward: |x, _| tanh(x),
        kernel: Some(|_| Pointwise::Tanh),
        ..BASE
    },
    ActivationInfo {
        name: "relu",
        formula: "max(0, x)",
        source: "torch.nn.ReLU (derivative 0 at x = 0)",
        auto_init: AutoInit::He,
        forward: |x, _| act::relu(x),
        kernel: Some(|_| Pointwise::Relu),
        ..BASE
    },
    ActivationInfo {
        name: "leaky_relu",
        aliases: &["lrelu"],
        formula: "x if x > 0 else slope * x",
        params: &[float("slope", 0.01, "negative slope")],
        source: "torch.nn.LeakyReLU (derivative `slope` at x = 0)",
        auto_init: AutoInit::He,
        forward: |x, a| leaky(x, a.values[0]),
        ..BASE
    },
    ActivationInfo {
        name: "prelu",
        formula: "x if x > 0 else a * x, a learned (one per layer)",
        // Not `init`: that key of an activation entry names the weight initialisation.
        params: &[float("slope", 0.25, "initial value of the learned slope a")],
        source: "torch.nn.PReLU (He et al. 2015)",
        auto_init: AutoInit::He,
        learned: Some("slope"),
        forward: |x, a| {
            let alpha = a.learned.clone().expect("PReLU has its slope");
            let negative = x.clone().lower_equal_elem(0.0);
            let scaled = x.clone() * alpha;
            x.mask_where(negative, scaled)
        },
        ..BASE
    },
    ActivationInfo {
        name: "elu",
        formula: "x if x > 0 else alpha * (exp(x) - 1)",
        params: &[float("alpha", 1.0, "value approached as x -> -inf is -alpha")],
        source: "torch.nn.ELU (Clevert et al. 2015)",
        auto_init: AutoInit::He,
        forward: |x, a| elu(x, a.values[0], 1.0),
        kernel: Some(|p| Pointwise::ExpLinear { alpha: p[0] as f32, scale: 1.0, width: 1.0 }),
        ..BASE
    },
    ActivationInfo {
        name: "selu",
        formula: "scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha = 1.6733, scale = 1.0507",
        source: "torch.nn.SELU (Klambauer et al. 2017; derivative scale * alpha at x = 0)",
        auto_init: AutoInit::Lecun,
        forward: |x, _| elu(x, SELU_ALPHA, SELU_SCALE),
        kernel: Some(|_| Pointwise::ExpLinear { alpha: SELU_ALPHA as f32, scale: SELU_SCALE as f32, width: 1.0 }),
        ..BASE
    },
    ActivationInfo {
        name: "celu",
        formula: "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
        params: &[with_rule(float("alpha", 1.0, "scale of the negative part"), Rule::NonZero)],
        source: "torch.nn.CELU (Barron 2017)",
        auto_init: AutoInit::He,
        forward: |x, a| {
            let alpha = a.values[0];
            let negative = x.clone().lower_equal_elem(0.0);
            let scaled = x.clone().div_scalar(alpha).exp().sub_scalar(1.0).mul_scalar(alpha);
            x.mask_where(negative, scaled)
        },
        kernel: Some(|p| Pointwise::ExpLinear { alpha: p[0] as f32, scale: 1.0, width: p[0] as f32 }),
        ..BASE
    },
    ActivationInfo {
        name: "gelu",
        formula: "x * (1 + erf(x / sqrt(2))) / 2",
        source: "torch.nn.GELU(approximate='none') (Hendrycks & Gimpel 2016)",
        auto_init: AutoInit::He,
        forward: |x, _| act::gelu(x),
        kernel: Some(|_| Pointwise::Gelu),
        ..BASE
    },
    ActivationInfo {
        name: "gelu_tanh",
        aliases: &["gelu_approximate"],
        formula: "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2",
        source: "torch.nn.GELU(approximate='tanh')",
        auto_init: AutoInit::He,
        forward: |x, _| gelu_tanh(x),
        kernel: Some(|_| Pointwise::GeluTanh),
        ..BASE
    },
    ActivationInfo {
        name: "silu",
        aliases: &["swish"],
        formula: "x * sigmoid(beta * x)",
        params: &[float("beta", 1.0, "1 gives SiLU; other values give Swish-beta (Ramachandran et al. 2017)")],
        source: "torch.nn.SiLU (Elfwing et al. 2017)",
        auto_init: AutoInit::He,
        forward: |x, a| {
            let beta = a.values[0];
            if beta == 1.0 { act::silu(x) } else { x.clone() * act::sigmoid(x.mul_scalar(beta)) }
        },
        kernel: Some(|p| Pointwise::Silu { beta: p[0] as f32 }),
        ..BASE
    },
    ActivationInfo {
        name: "mish",
        formula: "x * tanh(softplus(x))",
        source: "torch.nn.Mish (Misra 2019)",
        auto_init: AutoInit::He,
        forward: |x, _| act::mish(x),
        ..BASE
    },
    ActivationInfo {
        name: "softplus",
        formula: "log(1 + exp(beta * x)) / beta, x where beta * x > threshold",
        params: &[
            with_rule(float("beta", 1.0, "sharpness"), Rule::Positive),
            float("threshold", 20.0, "beta * x above which the function is the identity"),
        ],
        source: "torch.nn.Softplus",
        auto_init: AutoInit::He,
        forward: |x, a| act::softplus_with_threshold(x, a.values[0], a.values[1]),
        ..BASE
    },
    ActivationInfo {
        name: "softsign",
        formula: "x / (1 + |x|)",
        source: "torch.nn.Softsign",
        forward: |x, _| act::softsign(x),
        ..BASE
    },
    ActivationInfo {
        name: "hard_sigmoid",
        aliases: &["hardsigmoid"],
        formula: "relu6(x + 3) / 6",
        source: "torch.nn.Hardsigmoid (not Burn's default alpha 0.2, beta 0.5; derivative 0 at x = +-3)",
        forward: |x, _| {
            let low = x.clone().lower_equal_elem(-3.0);
            let high = x.clone().greater_equal_elem(3.0);
            x.div_scalar(6.0).add_scalar(0.5).mask_fill(low, 0.0).mask_fill(high, 1.0)
        },
        ..BASE
    },
    ActivationInfo {
        name: "hard_swish",
        aliases: &["hardswish"],
        formula: "x * relu6(x + 3) / 6",
        source: "torch.nn.Hardswish (Howard et al. 2019)",
        auto_init: AutoInit::He,
        forward: |x, _| {
            // PyTorch 2.15: derivative 0 for x <= -3, 1 for x >= 3, (2x + 3) / 6 between.
            let low = x.clone().lower_equal_elem(-3.0);
            let high = x.clone().greater_equal_elem(3.0);
            let middle = x.clone() * x.clone().add_scalar(3.0).div_scalar(6.0);
            middle.mask_fill(low, 0.0).mask_where(high, x)
        },
        ..BASE
    },
    ActivationInfo {
        name: "hard_tanh",
        aliases: &["hardtanh"],
        formula: "clamp(x, min, max)",
        params: &[float("min", -1.0, "lower bound"), float("max", 1.0, "upper bound")],
        source: "torch.nn.Hardtanh (derivative 0 at the bounds)",
        check: Some(|p| if p[0] < p[1] { Ok(()) } else { Err(("min", "must be below `max`")) }),
        forward: |x, a| hard_tanh(x, a.values[0], a.values[1]),
        ..BASE
    },
    ActivationInfo {
        name: "relu6",
        formula: "min(max(0, x), 6)",
        source: "torch.nn.ReLU6 (derivative 0 at x = 0 and x = 6)",
        auto_init: AutoInit::He,
        forward: |x, _| hard_tanh(x, 0.0, 6.0),
        ..BASE
    },
    ActivationInfo {
        name: "log_sigmoid",
        aliases: &["logsigmoid"],
        formula: "log(sigmoid(x))",
        source: "torch.nn.LogSigmoid",
        forward: |x, _| act::log_sigmoid(x),
        ..BASE
    },
    ActivationInfo {
        name: "tanhshrink",
        formula: "x - tanh(x)",
        source: "torch.nn.Tanhshrink",
        forward: |x, _| x.clone() - tanh(x),
        ..BASE
    },
];

/// tanh(x) = 2 sigmoid(2x) - 1. On the flex backend this is 1.7x faster
/// than `Tensor::tanh` for a tanh MLP (bench w4: 18,100-18,600 against
/// 10,700-10,800 samples/s): flex evaluates tanh with glibc's scalar
/// `tanhf` (half of w4's profile, `__expm1f` + `__tanhf`), and autodiff
/// evaluates it again in the backward pass; its fused sigmoid is cheaper.
/// Values and derivatives stay within 3e-7 of PyTorch's (tests/it/activations_reference.rs).
fn tanh(x: Tensor<2>) -> Tensor<2> {
    act::sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// PyTorch's `gelu(approximate="tanh")`: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
/// computed as x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (the same function;
/// no cancellation in 1 + tanh for negative x), with x^3 as products (Burn's
/// version uses `powf`, a scalar `powf` per element on flex).
fn gelu_tanh(x: Tensor<2>) -> Tensor<2> {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube.mul_scalar(0.044_715)).mul_scalar(2.0 * SQRT_2_OVER_PI);
    x * act::sigmoid(inner)
}

/// `x` where `x > 0`, `slope * x` elsewhere: derivative `slope` at 0, as PyTorch.
fn leaky(x: Tensor<2>, slope: f64) -> Tensor<2> {
    let negative = x.clone().lower_equal_elem(0.0);
    let scaled = x.clone().mul_scalar(slope);
    x.mask_where(negative, scaled)
}

/// `scale * x` where `x > 0`, `scale * alpha * (exp(x) - 1)` elsewhere, so the
/// derivative at 0 is `scale * alpha` (PyTorch's convention for ELU and SELU).
fn elu(x: Tensor<2>, alpha: f64, scale: f64) -> Tensor<2> {
    let negative = x.clone().lower_equal_elem(0.0);
    let exp_part = x.clone().exp().sub_scalar(1.0).mul_scalar(alpha * scale);
    x.mul_scalar(scale).mask_where(negative, exp_part)
}

/// Clamp with zero derivative at and beyond the bounds (torch.nn.Hardtanh).
fn hard_tanh(x: Tensor<2>, min: f64, max: f64) -> Tensor<2> {
    let low = x.clone().lower_equal_elem(min);
    let high = x.clone().greater_equal_elem(max);
    x.mask_fill(low, min).mask_fill(high, max)
}

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
    fn parameters_fit_and_learned_ones_exist() {
        for info in CATALOG {
            assert!(info.params.len() <= MAX_PARAMS, "{}", info.name);
            if let Some(learned) = info.learned {
                assert!(info.params.iter().any(|p| p.name == learned), "{}", info.name);
            }
        }
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
