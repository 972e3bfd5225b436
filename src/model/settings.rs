//! `[model]`: the network's kind and the keys of every kind (widths,
//! initialisation, normalisation, dropout, convolution blocks, depth). Which
//! keys a kind takes, their defaults there, and the checks against the data
//! it will see are the kind's own (model::kinds); the keys added with the
//! residual kinds are optional, so a config that leaves them out resolves,
//! and hashes, as before.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::values::{Count, Fraction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Model {
    /// `mlp`, `cnn`, `resnet`, `plain`, `resmlp` or `gpt` (model::kinds).
    pub kind: ModelKind,
    /// `mlp` and `cnn`: widths of the hidden linear layers; the activation follows each of them.
    pub hidden: Vec<Count>,
    /// Weight initialisation; `auto` matches it to the activation.
    pub init: InitScheme,
    /// `cnn` only: output channels of each block (conv -> activation -> 2x2 pool).
    pub channels: Vec<Count>,
    /// `cnn` only: square kernel side, one for all blocks or one per block.
    pub kernel_size: KernelSizes,
    /// `cnn` only: `same` (zero padding keeps the size; odd kernels) or `valid` (none).
    pub padding: Padding,
    /// `cnn` only: `max` or `avg` pooling.
    pub pool: PoolKind,
    /// Normalisation before each activation (`none`, `batch`, `layer`); the
    /// default is the kind's (`none` for mlp and cnn, `batch` for resnet and
    /// plain, `layer` for resmlp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm: Option<NormKind>,
    /// The share of units dropped in training after each hidden activation (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<Fraction>,
    /// `resnet` and `plain`: layers, 6n + 2 (20, 32, 44, 56, 110; default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<Count>,
    /// `resnet`: `a` (identity, zero channels added where the width grows;
    /// the default) or `b` (a 1x1 convolution and batch norm where it grows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<Shortcut>,
    /// `resmlp` and `gpt`: the width of the residual stream (default 128).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<Count>,
    /// `resmlp`: residual blocks (default 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Count>,
    /// `gpt`: transformer blocks (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Count>,
    /// `gpt`: attention heads per block, dividing `width` (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<Count>,
    /// `gpt`: the longest window of tokens it reads (default 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size: Option<Count>,
    /// `gpt`: `plain` (act(xW1)W2, hidden 4 x width; the default) or `gated`
    /// (act(xW) * xV, hidden 8 x width / 3: the same parameters; Shazeer 2020).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffn: Option<Ffn>,
    /// `gpt`: biases in the linear layers and layer norms (default true; nanoGPT's `bias`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<bool>,
}

/// A transformer's feed-forward layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ffn {
    #[default]
    Plain,
    Gated,
}

impl Ffn {
    pub fn name(self) -> &'static str {
        match self {
            Ffn::Plain => "plain",
            Ffn::Gated => "gated",
        }
    }
}

impl Default for Model {
    fn default() -> Self {
        Self {
            kind: ModelKind::Mlp,
            hidden: vec![Count(64), Count(64)],
            init: InitScheme::Auto,
            channels: vec![Count(6), Count(16)],
            kernel_size: KernelSizes(vec![5]),
            padding: Padding::Same,
            pool: PoolKind::Max,
            norm: None,
            dropout: None,
            depth: None,
            shortcut: None,
            width: None,
            blocks: None,
            layers: None,
            heads: None,
            block_size: None,
            ffn: None,
            bias: None,
        }
    }
}

impl Model {
    /// Kernel side of each convolution block.
    pub fn kernel_sizes(&self) -> Vec<usize> {
        match self.kernel_size.0.as_slice() {
            [one] => vec![*one; self.channels.len()],
            many => many.to_vec(),
        }
    }
}

/// The kinds of network; each is one entry of model::kinds' table, where
/// its keys, checks, sizes and description live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    #[default]
    Mlp,
    Cnn,
    Resnet,
    Plain,
    Resmlp,
    Gpt,
}

/// Normalisation before each activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    None,
    /// Ioffe & Szegedy 2015, as torch.nn.BatchNorm1d/2d: batch statistics in
    /// training, running statistics (momentum 0.1, eps 1e-5) in evaluation.
    Batch,
    /// Ba et al. 2016, as torch.nn.LayerNorm over the features (eps 1e-5);
    /// on feature maps over channels, height and width together
    /// (torch.nn.GroupNorm(1, C)), with a scale and shift per channel.
    Layer,
}

impl NormKind {
    pub fn name(self) -> &'static str {
        match self {
            NormKind::None => "none",
            NormKind::Batch => "batch",
            NormKind::Layer => "layer",
        }
    }
}

/// How a residual block's shortcut meets a wider output (He et al. 2016, section 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shortcut {
    /// Identity, subsampled, with zero channels added: no parameters.
    A,
    /// A 1x1 convolution (and the block's normalisation) where the shape changes.
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    #[default]
    Same,
    Valid,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Padding::Same => "same",
            Padding::Valid => "valid",
        }
    }
}

/// Pooling window and stride of every convolution block (LeNet's 2x2).
pub const POOL: usize = 2;

/// `[channels, height, width]` after each convolution block (conv, then
/// POOL x POOL pooling) of `image`, or the first block (0-based) whose
/// output would be empty: the config check and the model share it.
pub fn conv_shapes(
    image: [usize; 3],
    channels: &[usize],
    kernel_sizes: &[usize],
    padding: Padding,
) -> Result<Vec<[usize; 3]>, usize> {
    let [_, mut h, mut w] = image;
    let mut shapes = Vec::with_capacity(channels.len());
    for (i, (&c, &k)) in channels.iter().zip(kernel_sizes).enumerate() {
        if padding == Padding::Valid {
            if h < k || w < k {
                return Err(i);
            }
            (h, w) = (h - k + 1, w - k + 1);
        }
        (h, w) = (h / POOL, w / POOL);
        if h == 0 || w == 0 {
            return Err(i);
        }
        shapes.push([c, h, w]);
    }
    Ok(shapes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    #[default]
    Max,
    Avg,
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
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
    /// GPT-2's (nanoGPT's `_init_weights`): weights N(0, 0.02), biases zero;
    /// what `auto` resolves to for `kind = "gpt"`, whose projections into
    /// the residual stream it scales by 1 / sqrt(2 layers).
    Gpt2,
    /// Normal weights, std = gain / sqrt(fan_in), zero biases: what `auto`
    /// resolves to for a formula, the gain keeping the signal's second
    /// moment through it (activation/gain.rs). Not written in a config.
    #[serde(skip)]
    Gain(Gain),
}

/// A weight gain, held as the bits of its f64 so that a scheme stays `Eq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gain(u64);

impl Gain {
    pub fn new(gain: f64) -> Self {
        Gain(gain.to_bits())
    }

    pub fn value(self) -> f64 {
        f64::from_bits(self.0)
    }
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
            InitScheme::Gpt2 => "gpt2",
            InitScheme::Gain(_) => "gain",
        }
    }
}

impl fmt::Display for InitScheme {
    /// The name; a gain with its value, `gain(1.593)` (summary.csv's `init`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitScheme::Gain(g) => write!(f, "gain({:.4})", g.value()),
            _ => f.write_str(self.name()),
        }
    }
}
