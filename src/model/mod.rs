//! The network. Each kind (`mlp`, `cnn`, `resnet`, `plain`, `resmlp`, `gpt`) is one
//! entry of the table in kinds.rs, with its file: its keys and checks, how
//! it is built, its size (for the budget check) and its description (for
//! report.md). Nothing outside this folder matches on a kind: the rest of
//! actbench sees a [`Network`] with a forward pass, its activation sites
//! ([`Sites`], for the probe), and the kind's entry ([`KindInfo`]).
//!
//! The layers: stack.rs (the MLP and the LeNet-style CNN: convolution
//! blocks, then hidden linear layers), resnet.rs (He et al. 2016's CIFAR
//! ResNet, and the plain network without shortcuts), resmlp.rs (pre-norm
//! residual MLP blocks), gpt.rs (a decoder-only transformer on text); norm.rs (batch and layer normalisation as PyTorch
//! computes them), dropout.rs, init.rs (weights drawn on the host).

pub mod cnn;
pub mod dropout;
pub mod gpt;
pub mod init;
pub mod kind;
pub mod kinds;
pub mod mlp;
pub mod norm;
pub mod resmlp;
pub mod resnet;
pub mod settings;
pub mod stack;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

pub use init::resolve_init;
pub use kind::{KindInfo, Sizes};
pub use settings::POOL;

use crate::activation::{Activation, ActivationKind};
use crate::maths::rng::{self, Stream};
use settings::{InitScheme, Model};

/// Training or evaluation, as PyTorch's `model.train()` / `model.eval()`:
/// batch norm uses (and updates) the batch's statistics in training and
/// its running statistics in evaluation; dropout drops only in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `step` (the optimizer steps taken before it) with the run's `seed`
    /// picks the dropout masks, so a resumed run draws the same ones.
    Train {
        seed: u64,
        step: usize,
    },
    Eval,
}

/// What happens at an activation site: the activation applied to the
/// pre-activation `z` (`[batch, units]` or `[batch, channels, h, w]`). The
/// training path applies it; the probe also records `z` and the output.
pub trait Sites {
    /// Whether a kind may take a fused path that applies the activation
    /// without calling [`Sites::activate`] (the CNN's ReLU and max pooling in one pass).
    const FUSED: bool;
    fn activate<const D: usize>(&mut self, activation: &Activation, z: Tensor<D>) -> Tensor<D>;
}

/// The activation, nothing else: the training and evaluation path.
pub struct Apply;

impl Sites for Apply {
    const FUSED: bool = true;
    fn activate<const D: usize>(&mut self, activation: &Activation, z: Tensor<D>) -> Tensor<D> {
        activation.forward(z)
    }
}

/// The shapes of the data a network sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Features per sample (`c * h * w` for images, stored channel-major).
    pub features: usize,
    /// `[channels, height, width]` of an image dataset.
    pub image: Option<[usize; 3]>,
    pub classes: usize,
}

/// What a network is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    pub model: Model,
    pub inputs: Inputs,
    pub activation: ActivationKind,
    /// Resolved: never `Auto`.
    pub init: InitScheme,
}

#[derive(Module, Debug)]
pub enum Network {
    /// `mlp` and `cnn`.
    Stack(stack::Stack),
    /// `resnet` and `plain`.
    ResNet(resnet::ResNet),
    Resmlp(resmlp::Resmlp),
    Gpt(gpt::Gpt),
}

impl Network {
    /// The network of `spec`, its weights drawn from `seed`'s init stream.
    pub fn new(spec: &NetworkSpec, seed: u64, device: &Device) -> Self {
        let mut rng = rng::stream(seed, Stream::Init);
        (spec.model.kind.info().build)(spec, &mut rng, device)
    }

    /// # Shapes
    /// - input: `[batch, features]` (images flattened channel-major, as
    ///   stored); a `gpt`'s `[batch, t]` token ids
    /// - output: `[batch, classes]` (logits); a `gpt`'s `[batch * t, vocabulary]`
    pub fn forward(&self, x: Tensor<2>, mode: Mode) -> Tensor<2> {
        self.forward_sites(x, mode, &mut Apply)
    }

    /// [`Network::forward`] with every activation site handed to `sites`, in
    /// the order of [`Network::site_names`].
    pub fn forward_sites<S: Sites>(&self, x: Tensor<2>, mode: Mode, sites: &mut S) -> Tensor<2> {
        match self {
            Network::Stack(n) => n.forward(x, mode, sites),
            Network::ResNet(n) => n.forward(x, mode, sites),
            Network::Resmlp(n) => n.forward(x, mode, sites),
            Network::Gpt(n) => n.forward(x, mode, sites),
        }
    }

    /// Every activation module with its path (`conv_activations.0`,
    /// `activations.1`, `stages.0.blocks.1.act2`, `blocks.0.act`), input side
    /// first: where the learned parameters of an activation live.
    pub fn activations(&self) -> Vec<(String, &Activation)> {
        match self {
            Network::Stack(n) => n.activations(),
            Network::ResNet(n) => n.activations(),
            Network::Resmlp(n) => n.activations(),
            Network::Gpt(n) => n.activations(),
        }
    }

    /// The activation sites, input side first: `layers.0`, `convs.1`,
    /// `stages.1.blocks.2.act1`, ...
    pub fn site_names(&self) -> Vec<String> {
        match self {
            Network::Stack(n) => n.site_names(),
            Network::ResNet(n) => n.site_names(),
            Network::Resmlp(n) => n.site_names(),
            Network::Gpt(n) => n.site_names(),
        }
    }
}

/// `[batch, c * h * w]` -> `[batch, c, h, w]`.
pub fn to_image(x: Tensor<2>, [c, h, w]: [usize; 3]) -> Tensor<4> {
    let batch = x.dims()[0];
    x.reshape([batch, c, h, w])
}
