//! Residual MLP blocks for vector data and flattened images, pre-norm as in
//! the transformer's feed-forward sublayer (Xiong et al. 2020): a linear
//! input projection to the residual stream's `width`, then `blocks` blocks
//! `x + fc2(dropout(act(fc1(norm(x)))))`, a final norm, and the linear
//! classifier. No activation sits outside the blocks, so every site is a
//! block's. Names follow the PyTorch twin (scripts/models_reference.py):
//! `input`, `blocks.<b>.{norm,fc1,fc2}`, `norm`, `output`.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::init::{self, output_init};
use super::kind::{KindInfo, Sizes};
use super::norm::{self, Norm};
use super::settings::{InitScheme, Model, ModelKind, NormKind};
use super::{Inputs, Mode, Network, NetworkSpec, Sites, dropout};
use crate::activation::{Activation, ActivationKind};

#[derive(Module, Debug)]
pub struct Resmlp {
    pub input: Linear,
    pub blocks: Vec<ResBlock>,
    pub norm: Option<Norm>,
    pub output: Linear,
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct ResBlock {
    pub norm: Option<Norm>,
    pub fc1: Linear,
    pub act: Activation,
    pub fc2: Linear,
}

/// What a residual MLP is made of.
pub struct ResmlpSpec {
    pub features: usize,
    pub classes: usize,
    pub width: usize,
    pub blocks: usize,
    pub norm: NormKind,
    pub dropout: f64,
}

impl Resmlp {
    pub fn new(
        spec: &ResmlpSpec,
        activation: ActivationKind,
        scheme: InitScheme,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let width = spec.width;
        let input = init::linear(spec.features, width, scheme, rng, device);
        let blocks = (0..spec.blocks)
            .map(|_| ResBlock {
                norm: Norm::new(spec.norm, width, device),
                fc1: init::linear(width, width, scheme, rng, device),
                act: Activation::sized(activation, width, device),
                fc2: init::linear(width, width, scheme, rng, device),
            })
            .collect();
        let output = init::linear(width, spec.classes, output_init(scheme), rng, device);
        Resmlp { input, blocks, norm: Norm::new(spec.norm, width, device), output, dropout: spec.dropout }
    }

    pub fn forward<S: Sites>(&self, x: Tensor<2>, mode: Mode, sites: &mut S) -> Tensor<2> {
        let mut h = crate::fused::linear::forward(&self.input, x);
        for (i, block) in self.blocks.iter().enumerate() {
            let z = crate::fused::linear::forward(&block.fc1, norm::apply(block.norm.as_ref(), h.clone(), mode));
            let a = dropout::apply(sites.activate(&block.act, z), self.dropout, mode, i);
            h = h + crate::fused::linear::forward(&block.fc2, a);
        }
        crate::fused::linear::forward(&self.output, norm::apply(self.norm.as_ref(), h, mode))
    }

    pub fn activations(&self) -> Vec<(String, &Activation)> {
        self.blocks.iter().enumerate().map(|(b, block)| (format!("blocks.{b}.act"), &block.act)).collect()
    }

    /// The sites are the activations, named by them.
    pub fn site_names(&self) -> Vec<String> {
        self.activations().into_iter().map(|(name, _)| name).collect()
    }
}

pub const KIND: KindInfo = KindInfo {
    kind: ModelKind::Resmlp,
    name: "resmlp",
    about: "pre-norm residual MLP blocks (`width`, `blocks`), layer norm by default",
    keys: &["width", "blocks", "norm", "dropout"],
    default_norm: NormKind::Layer,
    auto_init: None,
    window: None,
    validate: |_, _| Ok(()),
    build,
    sizes,
    describe,
    ratio: |_| ["input.weight", "output.weight"],
    flop_per_sample: |_, _| None,
};

/// `model.width` and `model.blocks` when the config leaves them out.
pub const DEFAULT_WIDTH: usize = 128;
pub const DEFAULT_BLOCKS: usize = 2;

fn shape(model: &Model) -> (usize, usize) {
    (model.width.map_or(DEFAULT_WIDTH, |w| w.0), model.blocks.map_or(DEFAULT_BLOCKS, |b| b.0))
}

fn build(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Network {
    let (width, blocks) = shape(&spec.model);
    let resmlp = ResmlpSpec {
        features: spec.inputs.features,
        classes: spec.inputs.classes,
        width,
        blocks,
        norm: spec.model.norm(),
        dropout: spec.model.dropout(),
    };
    Network::Resmlp(Resmlp::new(&resmlp, spec.activation, spec.init, rng, device))
}

fn sizes(model: &Model, inputs: &Inputs) -> Sizes {
    let (width, blocks) = shape(model);
    let (width, blocks, norm) = (width as f64, blocks as f64, model.norm() != NormKind::None);
    let norm_parameters = if norm { 2.0 * width } else { 0.0 };
    let linear = |from: f64, to: f64| from * to + to;
    Sizes {
        parameters: linear(inputs.features as f64, width)
            + blocks * (norm_parameters + 2.0 * linear(width, width))
            + norm_parameters
            + linear(width, inputs.classes as f64),
        tensors: 4.0 + blocks * (4.0 + if norm { 2.0 } else { 0.0 }) + if norm { 2.0 } else { 0.0 },
        sites: blocks,
        // The stream, its norm, fc1's output and the activation's, fc2's, per block.
        units: width * (1.0 + 5.0 * blocks),
        widest: width.max(inputs.classes as f64),
        key: "model.width",
    }
}

fn describe(model: &Model) -> String {
    let (width, blocks) = shape(model);
    format!("residual MLP: {blocks} pre-norm blocks of width {width}")
}
