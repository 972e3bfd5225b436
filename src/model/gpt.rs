//! A decoder-only transformer for character-level language modelling, as
//! Karpathy's nanoGPT (model.py) builds GPT-2: token and learned position
//! embeddings, `layers` pre-LayerNorm blocks of causal multi-head
//! self-attention and a feed-forward layer, a final LayerNorm, and the
//! output projection tied to the token embedding. The activation sits in
//! the feed-forward layer, plain (`c_proj(act(c_fc(x)))`, hidden width
//! 4 x `width`) or gated as in Shazeer 2020, "GLU Variants Improve
//! Transformer" (`c_proj(act(c_fc(x)) * c_v(x))`), whose hidden width is
//! 2/3 of the plain one (rounded: 8 x `width` / 3) so both have the same
//! number of parameters. Names follow the PyTorch twin
//! (scripts/models_reference.py): `wte`, `wpe`, `blocks.<i>.{ln_1, attn.c_attn,
//! attn.c_proj, ln_2, mlp.c_fc, mlp.c_v, mlp.c_proj}`, `ln_f`.
//!
//! The network sees a batch of windows of token ids (as floats, `[batch,
//! block]`) and gives the next token's logits at every position, `[batch *
//! block, vocabulary]`, row `b * block + t` for window `b`, position `t`.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::init;
use super::kind::{KindInfo, Sizes};
use super::norm::EPSILON;
use super::settings::{Ffn, InitScheme, Model, ModelKind, NormKind};
use super::{Inputs, Mode, Network, NetworkSpec, Sites, dropout};
use crate::activation::{Activation, ActivationKind};
use crate::config::error::KeyError;
use crate::data::settings::Data;
use crate::maths::rng;

#[derive(Module, Debug)]
pub struct Gpt {
    /// Token embedding `[vocabulary, width]`, also the output projection.
    pub wte: Param<Tensor<2>>,
    /// Position embedding `[block, width]`.
    pub wpe: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub ln_f: TokenNorm,
    pub heads: usize,
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct Block {
    pub ln_1: TokenNorm,
    pub attn: Attention,
    pub ln_2: TokenNorm,
    pub mlp: FeedForward,
}

#[derive(Module, Debug)]
pub struct Attention {
    /// Queries, keys and values of all heads together: `[width, 3 width]`.
    pub c_attn: Linear,
    pub c_proj: Linear,
}

#[derive(Module, Debug)]
pub struct FeedForward {
    pub c_fc: Linear,
    /// The gate's second projection (`xV` in Shazeer's notation), gated layers only.
    pub c_v: Option<Linear>,
    pub act: Activation,
    pub c_proj: Linear,
}

/// LayerNorm over each token's features, with or without a shift (nanoGPT's `bias`).
#[derive(Module, Debug)]
pub struct TokenNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl TokenNorm {
    fn new(width: usize, bias: bool, device: &Device) -> Self {
        TokenNorm {
            weight: Param::from_tensor(Tensor::ones([width], device)),
            bias: bias.then(|| Param::from_tensor(Tensor::zeros([width], device))),
        }
    }

    /// `x`: `[tokens, width]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let bias = self.bias.as_ref().map(|b| b.val());
        if let Some(y) = crate::fused::layer_norm::layer_norm(&x, self.weight.val(), bias, EPSILON) {
            return y;
        }
        let centred = x.clone() - x.mean_dim(1);
        let var = centred.clone().square().mean_dim(1);
        let normed = centred / var.add_scalar(EPSILON).sqrt();
        let scaled = normed * self.weight.val().unsqueeze_dim(0);
        match &self.bias {
            Some(bias) => scaled + bias.val().unsqueeze_dim(0),
            None => scaled,
        }
    }
}

/// What a GPT is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GptShape {
    pub vocabulary: usize,
    pub block: usize,
    pub layers: usize,
    pub heads: usize,
    pub width: usize,
    pub ffn: Ffn,
    pub bias: bool,
    pub dropout: f64,
}

impl GptShape {
    /// The feed-forward layer's hidden width: 4 x width, or 2/3 of that
    /// (rounded) for a gated layer, which has three matrices instead of two.
    pub fn hidden(&self) -> usize {
        hidden(self.width, self.ffn)
    }
}

pub fn hidden(width: usize, ffn: Ffn) -> usize {
    match ffn {
        Ffn::Plain => 4 * width,
        Ffn::Gated => (8 * width + 1) / 3,
    }
}

/// GPT-2's initialisation (nanoGPT's `_init_weights`): every weight and
/// embedding N(0, 0.02), biases zero, and the projections into the residual
/// stream (`c_proj`) N(0, 0.02 / sqrt(2 layers)).
use init::GPT2_STD;

fn normal(n: usize, std: f64, rng: &mut impl Rng) -> Vec<f32> {
    (0..n).map(|_| (std * rng::normal(rng)) as f32).collect()
}

fn matrix(rows: usize, cols: usize, std: f64, rng: &mut impl Rng, device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(normal(rows * cols, std, rng), [rows, cols]), device))
}

/// A linear layer `[fan_in, fan_out]`: GPT-2's N(0, std) under `gpt2`,
/// else drawn by `scheme` as every other kind draws them; zero bias or none.
fn linear(
    fan_in: usize,
    fan_out: usize,
    (scheme, std): (InitScheme, f64),
    bias: bool,
    rng: &mut impl Rng,
    device: &Device,
) -> Linear {
    let mut layer = if scheme == InitScheme::Gpt2 {
        Linear {
            weight: matrix(fan_in, fan_out, std, rng, device),
            bias: Some(Param::from_tensor(Tensor::zeros([fan_out], device))),
        }
    } else {
        init::linear(fan_in, fan_out, scheme, rng, device)
    };
    if !bias {
        layer.bias = None;
    }
    layer
}

impl Gpt {
    pub fn new(
        shape: &GptShape,
        activation: ActivationKind,
        scheme: InitScheme,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let GptShape { vocabulary, block, layers, width, bias, .. } = *shape;
        let hidden = shape.hidden();
        let wte = matrix(vocabulary, width, GPT2_STD, rng, device);
        let wpe = matrix(block, width, GPT2_STD, rng, device);
        let inner = (scheme, GPT2_STD);
        let residual = (scheme, GPT2_STD / (2.0 * layers as f64).sqrt());
        let blocks = (0..layers)
            .map(|_| Block {
                ln_1: TokenNorm::new(width, bias, device),
                attn: Attention {
                    c_attn: linear(width, 3 * width, inner, bias, rng, device),
                    c_proj: linear(width, width, residual, bias, rng, device),
                },
                ln_2: TokenNorm::new(width, bias, device),
                mlp: FeedForward {
                    c_fc: linear(width, hidden, inner, bias, rng, device),
                    c_v: (shape.ffn == Ffn::Gated).then(|| linear(width, hidden, inner, bias, rng, device)),
                    act: Activation::sized(activation, hidden, device),
                    c_proj: linear(hidden, width, residual, bias, rng, device),
                },
            })
            .collect();
        Gpt { wte, wpe, blocks, ln_f: TokenNorm::new(width, bias, device), heads: shape.heads, dropout: shape.dropout }
    }

    /// # Shapes
    /// - input: `[batch, t]` token ids as floats, `t` <= the block size
    /// - output: `[batch * t, vocabulary]` logits of the next token
    pub fn forward<S: Sites>(&self, x: Tensor<2>, mode: Mode, sites: &mut S) -> Tensor<2> {
        let [batch, t] = x.dims();
        let width = self.wte.dims()[1];
        let ids = x.int();
        let tokens = burn::tensor::module::embedding(self.wte.val(), ids); // [batch, t, width]
        let positions = self.wpe.val().slice(0..t).unsqueeze_dim::<3>(0); // [1, t, width]
        let h: Tensor<3> = tokens + positions;
        let mut h: Tensor<2> = dropout::apply(h.reshape([batch * t, width]), self.dropout, mode, 0);
        for (i, block) in self.blocks.iter().enumerate() {
            let a = block.attn.forward(
                block.ln_1.forward(h.clone()),
                [batch, t],
                self.heads,
                (self.dropout, mode, 1 + 3 * i),
            );
            h = h + dropout::apply(a, self.dropout, mode, 2 + 3 * i);
            let f = block.mlp.forward(block.ln_2.forward(h.clone()), sites);
            h = h + dropout::apply(f, self.dropout, mode, 3 + 3 * i);
        }
        // The output projection is the token embedding's transpose (weight tying).
        crate::fused::linear::matmul(self.ln_f.forward(h), self.wte.val().transpose())
    }

    pub fn activations(&self) -> Vec<(String, &Activation)> {
        self.blocks.iter().enumerate().map(|(b, block)| (format!("blocks.{b}.mlp.act"), &block.mlp.act)).collect()
    }

    /// The sites are the feed-forward activations, named by them.
    pub fn site_names(&self) -> Vec<String> {
        self.activations().into_iter().map(|(name, _)| name).collect()
    }
}

/// `[1, 1, t, t]`: 0 where a position may attend (itself and before), -inf after.
fn causal_mask(t: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = (0..t * t).map(|k| if k % t > k / t { f32::NEG_INFINITY } else { 0.0 }).collect();
    Tensor::from_data(TensorData::new(values, [1, 1, t, t]), device)
}

/// A linear layer on `[tokens, in]`.
fn apply(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    crate::fused::linear::forward(layer, x)
}

impl Attention {
    /// `x`: `[batch * t, width]` -> `[batch * t, width]`.
    fn forward(
        &self,
        x: Tensor<2>,
        [batch, t]: [usize; 2],
        heads: usize,
        (p, mode, site): (f64, Mode, usize),
    ) -> Tensor<2> {
        let width = x.dims()[1];
        let head = width / heads;
        let qkv = apply(&self.c_attn, x); // [batch * t, 3 width]
        // One fused op on flex, unless dropout acts on the weights (not fused).
        let dropping = p > 0.0 && matches!(mode, Mode::Train { .. });
        if !dropping && let Some(y) = crate::fused::attention::causal_attention(&qkv, batch, heads) {
            return apply(&self.c_proj, y);
        }
        let part = |k: usize| -> Tensor<4> {
            qkv.clone()
                .slice([0..batch * t, k * width..(k + 1) * width])
                .reshape([batch, t, heads, head])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (part(0), part(1), part(2)); // [batch, heads, t, head]
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (head as f64).sqrt()) + causal_mask(t, &qkv.device());
        let weights = dropout::apply(softmax(scores, 3), p, mode, site);
        let y = weights.matmul(v).swap_dims(1, 2).reshape([batch * t, width]);
        apply(&self.c_proj, y)
    }
}

impl FeedForward {
    fn forward<S: Sites>(&self, x: Tensor<2>, sites: &mut S) -> Tensor<2> {
        let a = sites.activate(&self.act, apply(&self.c_fc, x.clone()));
        let a = match &self.c_v {
            Some(v) => a * apply(v, x),
            None => a,
        };
        apply(&self.c_proj, a)
    }
}

pub const KIND: KindInfo = KindInfo {
    kind: ModelKind::Gpt,
    name: "gpt",
    about: "decoder-only transformer on text (`layers`, `heads`, `width`, `block_size`, `ffn`, `bias`), nanoGPT's GPT-2",
    keys: &["layers", "heads", "width", "block_size", "ffn", "bias", "dropout"],
    default_norm: NormKind::Layer,
    auto_init: Some(InitScheme::Gpt2),
    window: Some(|model| shape_of(model).3),
    validate,
    build,
    sizes,
    describe,
    ratio: |_| ["blocks.0.attn.c_attn.weight", "wte"],
    flop_per_sample: |model, inputs| Some(flop_per_window(model, inputs)),
};

/// The keys' defaults: nanoGPT's CPU recipe (its README: 4 layers, 4 heads,
/// width 128, block 64, no dropout) with biases, plain feed-forward layers.
pub const DEFAULT_LAYERS: usize = 4;
pub const DEFAULT_HEADS: usize = 4;
pub const DEFAULT_WIDTH: usize = 128;
pub const DEFAULT_BLOCK: usize = 64;

/// (layers, heads, width, block size, ffn, bias) of `model`, defaults filled in.
pub fn shape_of(model: &Model) -> (usize, usize, usize, usize, Ffn, bool) {
    (
        model.layers.map_or(DEFAULT_LAYERS, |c| c.0),
        model.heads.map_or(DEFAULT_HEADS, |c| c.0),
        model.width.map_or(DEFAULT_WIDTH, |c| c.0),
        model.block_size.map_or(DEFAULT_BLOCK, |c| c.0),
        model.ffn.unwrap_or_default(),
        model.bias.unwrap_or(true),
    )
}

fn validate(model: &Model, data: &Data) -> Result<(), KeyError> {
    if !data.dataset.is_text() {
        return KeyError::fail(
            "model.kind",
            format!(
                "`gpt` needs a text dataset; `{}` is not one: use dataset = \"shakespeare_char\" or \"text\"",
                data.dataset.name()
            ),
        );
    }
    let (_, heads, width, _, _, _) = shape_of(model);
    if width % heads != 0 {
        return KeyError::fail(
            "model.heads",
            format!("({heads}) must divide model.width ({width}): each head gets width / heads features"),
        );
    }
    if model.norm.is_some_and(|n| n != NormKind::Layer) {
        return KeyError::fail("model.norm", "of `gpt` is layer norm (pre-LN blocks, as GPT-2): remove the key");
    }
    Ok(())
}

fn build(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Network {
    let (layers, heads, width, block, ffn, bias) = shape_of(&spec.model);
    let shape = GptShape {
        vocabulary: spec.inputs.classes,
        block,
        layers,
        heads,
        width,
        ffn,
        bias,
        dropout: spec.model.dropout(),
    };
    Network::Gpt(Gpt::new(&shape, spec.activation, spec.init, rng, device))
}

fn sizes(model: &Model, inputs: &Inputs) -> Sizes {
    let (layers, heads, width, block, ffn, bias) = shape_of(model);
    let hidden = hidden(width, ffn) as f64;
    let (l, c, t, v, b) =
        (layers as f64, width as f64, block as f64, inputs.classes as f64, if bias { 1.0 } else { 0.0 });
    let linear = |from: f64, to: f64| from * to + b * to;
    let norm = c * (1.0 + b);
    let mlp = match ffn {
        Ffn::Plain => linear(c, hidden) + linear(hidden, c),
        Ffn::Gated => 2.0 * linear(c, hidden) + linear(hidden, c),
    };
    let matrices = match ffn {
        Ffn::Plain => 4.0,
        Ffn::Gated => 5.0,
    };
    Sizes {
        parameters: v * c + t * c + l * (2.0 * norm + linear(c, 3.0 * c) + linear(c, c) + mlp) + norm,
        tensors: 2.0 + l * (matrices * (1.0 + b) + 2.0 * (1.0 + b)) + (1.0 + b),
        sites: l,
        // Per window: the stream, norms, q/k/v, attention's scores and
        // weights, the feed-forward layer's hidden values, per block.
        units: t * c + l * (t * 10.0 * c + 3.0 * t * hidden + 2.0 * heads as f64 * t * t) + t * v,
        widest: (t * hidden).max(heads as f64 * t * t).max(t * v),
        key: "model.width",
    }
}

/// Multiply-adds x 2 x 3 (forward and backward) of one window.
fn flop_per_window(model: &Model, inputs: &Inputs) -> f64 {
    let (layers, _, width, block, ffn, _) = shape_of(model);
    let (c, t, h) = (width as f64, block as f64, hidden(width, ffn) as f64);
    let matrices = match ffn {
        Ffn::Plain => 2.0 * c * h,
        Ffn::Gated => 3.0 * c * h,
    };
    let per_token = layers as f64 * (4.0 * c * c + matrices + 2.0 * t * c) + c * inputs.classes as f64;
    6.0 * t * per_token
}

fn describe(model: &Model) -> String {
    let (layers, heads, width, block, ffn, bias) = shape_of(model);
    let ffn = match ffn {
        Ffn::Plain => format!("plain feed-forward layers (hidden {})", hidden(width, ffn)),
        Ffn::Gated => format!("gated feed-forward layers (hidden {})", hidden(width, ffn)),
    };
    let bias = if bias { "" } else { ", no biases" };
    format!("GPT: {layers} layers, {heads} heads, width {width}, block {block}, {ffn}{bias}")
}
