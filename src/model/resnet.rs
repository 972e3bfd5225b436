//! He et al. 2016's ResNet for CIFAR (section 4.2, "Deep Residual Learning
//! for Image Recognition"): a 3x3 convolution to 16 channels, three stages
//! of n basic blocks with 16, 32 and 64 channels (the first block of the
//! second and third stage halves the map with stride 2), global average
//! pooling and a linear classifier: 6n + 2 layers. A basic block is
//! conv3x3 -> norm -> act -> conv3x3 -> norm, plus the shortcut, -> act.
//! Shortcut option A adds the subsampled input with zero channels where the
//! width grows (no parameters), option B a 1x1 convolution with its norm;
//! the `plain` kind is the same network without shortcuts, the paper's
//! comparison. Convolutions carry no bias (the norm's shift replaces it), as
//! in the paper and torchvision; with `norm = "none"` they stay without.
//!
//! Names follow the PyTorch twin (scripts/models_reference.py):
//! `conv1`, `bn1`, `stages.<s>.blocks.<b>.{conv1,bn1,conv2,bn2}`,
//! `stages.<s>.blocks.<b>.shortcut.{conv,bn}`, `output`.

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor, s};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::init::{self, output_init};
use super::kind::{KindInfo, Sizes, image_of};
use super::norm::{self, Norm};
use super::settings::{InitScheme, Model, ModelKind, NormKind, Shortcut};
use super::{Inputs, Mode, Network, NetworkSpec, Sites, to_image};
use crate::activation::{Activation, ActivationKind};
use crate::config::error::KeyError;
use crate::data::settings::Data;

/// Channels of the three stages (He et al. 2016, section 4.2).
pub const STAGE_CHANNELS: [usize; 3] = [16, 32, 64];

/// Blocks per stage of a depth (6n + 2), or None when the depth is not of that form.
pub fn blocks_per_stage(depth: usize) -> Option<usize> {
    (depth >= 8 && (depth - 2).is_multiple_of(6)).then(|| (depth - 2) / 6)
}

/// A map side after a 3x3 convolution of stride 2 and padding 1.
pub fn halved(side: usize) -> usize {
    side.div_ceil(2)
}

#[derive(Module, Debug)]
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: Option<Norm>,
    pub act1: Activation,
    pub stages: Vec<Stage>,
    pub output: Linear,
    pub image: [usize; 3],
}

#[derive(Module, Debug)]
pub struct Stage {
    pub blocks: Vec<Block>,
}

#[derive(Module, Debug)]
pub struct Block {
    pub conv1: Conv2d,
    pub bn1: Option<Norm>,
    pub act1: Activation,
    pub conv2: Conv2d,
    pub bn2: Option<Norm>,
    pub act2: Activation,
    /// Option B's projection where the shape changes.
    pub shortcut: Option<Projection>,
    #[module(skip)]
    pub join: Join,
    /// Channels the input has, and stride of the block.
    pub channels_in: usize,
    pub channels_out: usize,
    pub stride: usize,
}

/// How a block's input joins its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// No shortcut (the plain network).
    None,
    /// Identity, subsampled and zero-padded where the shape changes (option A).
    Identity,
    /// Through `shortcut` (option B, where the shape changes).
    Projection,
}

#[derive(Module, Debug)]
pub struct Projection {
    pub conv: Conv2d,
    pub bn: Option<Norm>,
}

/// What a ResNet is made of.
pub struct ResNetSpec {
    pub image: [usize; 3],
    pub classes: usize,
    pub depth: usize,
    /// None: the plain network.
    pub shortcut: Option<Shortcut>,
    pub norm: NormKind,
}

impl ResNet {
    pub fn new(
        spec: &ResNetSpec,
        activation: ActivationKind,
        scheme: InitScheme,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let n = blocks_per_stage(spec.depth).expect("the config check keeps depth = 6n + 2");
        let norm = |c: usize| Norm::new(spec.norm, c, device);
        let act = |c: usize| Activation::sized(activation, c, device);
        let conv1 = init::conv2d_no_bias([spec.image[0], STAGE_CHANNELS[0]], 3, 1, 1, scheme, rng, device);
        let mut channels_in = STAGE_CHANNELS[0];
        let mut stages = Vec::with_capacity(3);
        for (s, &channels) in STAGE_CHANNELS.iter().enumerate() {
            let mut blocks = Vec::with_capacity(n);
            for b in 0..n {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let shape = BlockShape { channels: [channels_in, channels], stride };
                blocks.push(Block::new(shape, spec.shortcut, spec.norm, activation, scheme, rng, device));
                channels_in = channels;
            }
            stages.push(Stage { blocks });
        }
        let output = init::linear(channels_in, spec.classes, output_init(scheme), rng, device);
        ResNet { conv1, bn1: norm(STAGE_CHANNELS[0]), act1: act(STAGE_CHANNELS[0]), stages, output, image: spec.image }
    }

    pub fn forward<S: Sites>(&self, x: Tensor<2>, mode: Mode, sites: &mut S) -> Tensor<2> {
        let x = to_image(x, self.image);
        let mut h = norm_act(self.bn1.as_ref(), &self.act1, crate::fused::conv::forward(&self.conv1, x), mode, sites);
        for stage in &self.stages {
            for block in &stage.blocks {
                h = block.forward(h, mode, sites);
            }
        }
        // Global average pooling: [batch, channels, h, w] -> [batch, channels].
        let pooled = h.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.output.forward(pooled)
    }

    pub fn activations(&self) -> Vec<(String, &Activation)> {
        let mut all = vec![("act1".to_string(), &self.act1)];
        for (s, stage) in self.stages.iter().enumerate() {
            for (b, block) in stage.blocks.iter().enumerate() {
                all.push((format!("stages.{s}.blocks.{b}.act1"), &block.act1));
                all.push((format!("stages.{s}.blocks.{b}.act2"), &block.act2));
            }
        }
        all
    }

    /// The sites are the activations, named by them.
    pub fn site_names(&self) -> Vec<String> {
        self.activations().into_iter().map(|(name, _)| name).collect()
    }
}

/// A block's input and output channels, and its stride.
#[derive(Debug, Clone, Copy)]
pub struct BlockShape {
    pub channels: [usize; 2],
    pub stride: usize,
}

impl Block {
    /// A basic block; `shortcut` None for the plain network's. Its weights
    /// are drawn in order: conv1, conv2, then option B's projection.
    pub fn new(
        shape: BlockShape,
        shortcut: Option<Shortcut>,
        norm: NormKind,
        activation: ActivationKind,
        scheme: InitScheme,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let BlockShape { channels: [channels_in, channels], stride } = shape;
        let conv1 = init::conv2d_no_bias([channels_in, channels], 3, stride, 1, scheme, rng, device);
        let conv2 = init::conv2d_no_bias([channels, channels], 3, 1, 1, scheme, rng, device);
        let reshaped = stride != 1 || channels_in != channels;
        let projection = (shortcut == Some(Shortcut::B) && reshaped).then(|| Projection {
            conv: init::conv2d_no_bias([channels_in, channels], 1, stride, 0, scheme, rng, device),
            bn: Norm::new(norm, channels, device),
        });
        let join = match shortcut {
            None => Join::None,
            Some(_) if projection.is_some() => Join::Projection,
            Some(_) => Join::Identity,
        };
        Block {
            conv1,
            bn1: Norm::new(norm, channels, device),
            act1: Activation::sized(activation, channels, device),
            conv2,
            bn2: Norm::new(norm, channels, device),
            act2: Activation::sized(activation, channels, device),
            shortcut: projection,
            join,
            channels_in,
            channels_out: channels,
            stride,
        }
    }

    /// `[batch, in, h, w]` -> `[batch, out, h / stride, w / stride]` (rounded up).
    pub fn forward<S: Sites>(&self, x: Tensor<4>, mode: Mode, sites: &mut S) -> Tensor<4> {
        let h =
            norm_act(self.bn1.as_ref(), &self.act1, crate::fused::conv::forward(&self.conv1, x.clone()), mode, sites);
        let h = norm::apply(self.bn2.as_ref(), crate::fused::conv::forward(&self.conv2, h), mode);
        let shortcut = match self.join {
            Join::None => return sites.activate(&self.act2, h),
            Join::Projection => {
                let p = self.shortcut.as_ref().expect("a projection block has its shortcut");
                norm::apply(p.bn.as_ref(), crate::fused::conv::forward(&p.conv, x), mode)
            }
            Join::Identity => self.identity(x),
        };
        if S::FUSED && self.act2.kind().name() == "relu" {
            // The same numbers as relu(h + shortcut) in one pass (see the function).
            return crate::fused::activation::add_relu(h, shortcut);
        }
        sites.activate(&self.act2, h + shortcut)
    }

    /// Option A: the input subsampled by the stride, with zero channels
    /// split evenly before and after where the block widens
    /// (`F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))` in PyTorch).
    fn identity(&self, x: Tensor<4>) -> Tensor<4> {
        let added = self.channels_out - self.channels_in;
        let before = added / 2;
        if self.stride == 1 && added == 0 {
            return x;
        }
        if crate::fused::on_flex_f32(&x) {
            // The same values in one parallel pass each way (see the module).
            return crate::fused::shortcut::option_a(x, self.stride, before, added - before);
        }
        let x = if self.stride == 1 { x } else { subsample(x, self.stride) };
        if added == 0 {
            return x;
        }
        let [n, _, h, w] = x.dims();
        let device = x.device();
        let mut parts = Vec::with_capacity(3);
        if before > 0 {
            parts.push(Tensor::zeros([n, before, h, w], &device));
        }
        parts.push(x);
        parts.push(Tensor::zeros([n, added - before, h, w], &device));
        Tensor::cat(parts, 1)
    }
}

/// `act(norm(z))` at an activation site: batch norm and ReLU in one fused
/// pass where the sites allow it (training, no records) and the backend has
/// it; the same numbers as the two apart.
fn norm_act<S: Sites>(norm: Option<&Norm>, act: &Activation, z: Tensor<4>, mode: Mode, sites: &mut S) -> Tensor<4> {
    if S::FUSED
        && act.kind().name() == "relu"
        && let Some(Norm::Batch(bn)) = norm
        && let Some(out) = bn.forward_relu(z.clone(), mode)
    {
        return out;
    }
    sites.activate(act, norm::apply(norm, z, mode))
}

/// `x[:, :, ::stride, ::stride]`: a strided view on flex (no copy), whose
/// backward scatters the gradient back through the same view.
fn subsample(x: Tensor<4>, stride: usize) -> Tensor<4> {
    let step = stride as isize;
    x.slice(s![.., .., ..;step, ..;step])
}

pub const KIND: KindInfo = KindInfo {
    kind: ModelKind::Resnet,
    name: "resnet",
    about: "He et al. 2016's CIFAR ResNet-(6n+2) (`depth`, `shortcut`), batch norm by default",
    keys: &["depth", "shortcut", "norm"],
    default_norm: NormKind::Batch,
    auto_init: None,
    window: None,
    validate,
    build,
    sizes,
    describe,
    ratio: |_| ["conv1.weight", "output.weight"],
    flop_per_sample: |_, _| None,
};

/// The ResNet without shortcuts (He et al. 2016's "plain" networks).
pub const PLAIN: KindInfo = KindInfo {
    kind: ModelKind::Plain,
    name: "plain",
    about: "the ResNet's layers without shortcuts (`depth`), He et al. 2016's plain network",
    keys: &["depth", "norm"],
    ..KIND
};

/// `model.depth` when the config leaves it out: ResNet-20.
pub const DEFAULT_DEPTH: usize = 20;

fn depth(model: &Model) -> usize {
    model.depth.map_or(DEFAULT_DEPTH, |d| d.0)
}

fn shortcut(model: &Model) -> Option<Shortcut> {
    (model.kind == ModelKind::Resnet).then(|| model.shortcut.unwrap_or(Shortcut::A))
}

fn validate(model: &Model, data: &Data) -> Result<(), KeyError> {
    let name = model.kind.info().name;
    image_of(data, name, "resmlp")?;
    let depth = depth(model);
    if blocks_per_stage(depth).is_none() {
        let below = depth.saturating_sub(2) / 6 * 6 + 2;
        let (lower, upper) = (below.max(8), (below + 6).max(8));
        return KeyError::fail(
            "model.depth",
            format!(
                "must be 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), got {depth}: use {lower} or {upper}"
            ),
        );
    }
    Ok(())
}

fn build(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Network {
    let resnet = ResNetSpec {
        image: spec.inputs.image.expect("the config check requires images for a ResNet"),
        classes: spec.inputs.classes,
        depth: depth(&spec.model),
        shortcut: shortcut(&spec.model),
        norm: spec.model.norm(),
    };
    Network::ResNet(ResNet::new(&resnet, spec.activation, spec.init, rng, device))
}

fn sizes(model: &Model, inputs: &Inputs) -> Sizes {
    let mut sizes = Sizes { parameters: 0.0, tensors: 0.0, sites: 0.0, units: 0.0, widest: 0.0, key: "model.depth" };
    let Some([c_in, mut h, mut w]) = inputs.image else { return sizes };
    let norm = model.norm() != NormKind::None;
    let n = blocks_per_stage(depth(model)).unwrap_or(1);
    // A convolution of `c` output channels from `from` on an h x w map, with its norm.
    let mut conv = |from: usize, c: usize, k: usize, h: usize, w: usize| {
        sizes.parameters += (from * c * k * k) as f64 + if norm { 2.0 * c as f64 } else { 0.0 };
        sizes.tensors += if norm { 3.0 } else { 1.0 };
        sizes.units += (c * h * w) as f64 * if norm { 2.0 } else { 1.0 };
        sizes.widest = sizes.widest.max((c * h * w) as f64);
    };
    conv(c_in, STAGE_CHANNELS[0], 3, h, w);
    let mut from = STAGE_CHANNELS[0];
    let mut convs = 0usize;
    for (s, &c) in STAGE_CHANNELS.iter().enumerate() {
        for b in 0..n {
            if s > 0 && b == 0 {
                (h, w) = (halved(h), halved(w));
                if shortcut(model) == Some(Shortcut::B) {
                    conv(from, c, 1, h, w);
                }
            }
            conv(from, c, 3, h, w);
            conv(c, c, 3, h, w);
            convs += 2;
            from = c;
        }
    }
    sizes.sites = 1.0 + convs as f64;
    // Each site's output (the activation) is a tensor of its own too.
    sizes.units *= 1.5;
    sizes.parameters += (from * inputs.classes + inputs.classes) as f64;
    sizes.tensors += 2.0;
    sizes
}

fn describe(model: &Model) -> String {
    match shortcut(model) {
        Some(s) => format!(
            "ResNet-{} (He et al. 2016, CIFAR form: 16/32/64 channels, shortcut option {})",
            depth(model),
            if s == Shortcut::A { "A" } else { "B" }
        ),
        None => format!("plain-{} (the ResNet's layers without shortcuts)", depth(model)),
    }
}
