//! The network of the `mlp` and `cnn` kinds: optional convolution blocks
//! (conv -> [norm] -> activation -> pool, LeNet-style), then hidden linear
//! layers each followed by [norm], the activation and [dropout], then a
//! linear output (softmax lives in the cross-entropy loss). With no
//! convolution block it is the plain MLP. Without norm and dropout it is,
//! number for number, the network of actbench's earlier versions.

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use super::init::{self, output_init};
use super::norm::{self, Norm};
use super::settings::{InitScheme, NormKind, POOL, Padding, PoolKind, conv_shapes};
use super::{Mode, Sites, dropout, to_image};
use crate::activation::{Activation, ActivationKind};

#[derive(Module, Debug)]
pub struct Stack {
    /// Convolution blocks; parameters `convs.<i>.weight` `[out, in, k, k]` and `convs.<i>.bias`.
    pub convs: Vec<Conv2d>,
    /// With `model.norm`: `conv_norms.<i>.weight`, `.bias` (and batch norm's running statistics).
    pub conv_norms: Vec<Norm>,
    /// One activation per convolution block.
    pub conv_activations: Vec<Activation>,
    /// Hidden linear layers; parameters are named `layers.<i>.weight` and `layers.<i>.bias`.
    pub layers: Vec<Linear>,
    /// With `model.norm`: `norms.<i>.weight`, `norms.<i>.bias`.
    pub norms: Vec<Norm>,
    /// One activation per hidden layer (PReLU learns one slope per layer).
    pub activations: Vec<Activation>,
    /// `output.weight`, `output.bias`.
    pub output: Linear,
    /// `[channels, height, width]` of an input image; all zero for the MLP.
    pub image: [usize; 3],
    /// Average instead of max pooling.
    pub avg_pool: bool,
    /// The share of units dropout drops after each hidden activation.
    pub dropout: f64,
}

/// The convolutional part of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvSpec {
    /// `[channels, height, width]` of the input images.
    pub image: [usize; 3],
    /// Output channels of each block.
    pub channels: Vec<usize>,
    /// Square kernel side of each block (odd for `same` padding).
    pub kernel_sizes: Vec<usize>,
    pub padding: Padding,
    pub pool: PoolKind,
}

impl ConvSpec {
    /// `[channels, height, width]` after each block, or the first block
    /// (0-based) whose output would be empty.
    pub fn shapes(&self) -> Result<Vec<[usize; 3]>, usize> {
        conv_shapes(self.image, &self.channels, &self.kernel_sizes, self.padding)
    }

    /// Features that reach the first linear layer.
    pub fn flat_features(&self) -> Result<usize, usize> {
        Ok(self.shapes()?.last().map_or(self.image.iter().product(), |s| s.iter().product()))
    }
}

/// What a stack is made of, besides the activation and the init scheme.
pub struct StackSpec<'a> {
    pub features: usize,
    pub conv: Option<ConvSpec>,
    pub hidden: &'a [usize],
    pub classes: usize,
    pub norm: NormKind,
    pub dropout: f64,
}

impl Stack {
    pub fn new(
        spec: &StackSpec,
        activation: ActivationKind,
        scheme: InitScheme,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let mut convs = Vec::new();
        let mut fan_in = spec.features;
        let mut image = [0; 3];
        let mut avg_pool = false;
        let channels: Vec<usize> = spec.conv.as_ref().map_or_else(Vec::new, |c| c.channels.clone());
        if let Some(conv) = &spec.conv {
            let mut channels_in = conv.image[0];
            for (&c, &k) in conv.channels.iter().zip(&conv.kernel_sizes) {
                convs.push(init::conv2d(channels_in, c, k, conv.padding, scheme, rng, device));
                channels_in = c;
            }
            fan_in = conv.flat_features().expect("the config check rejects empty feature maps");
            image = conv.image;
            avg_pool = conv.pool == PoolKind::Avg;
        }
        let conv_norms = channels.iter().filter_map(|&c| Norm::new(spec.norm, c, device)).collect();
        let conv_activations = channels.iter().map(|&c| Activation::sized(activation, c, device)).collect();
        let mut layers = Vec::with_capacity(spec.hidden.len());
        for &width in spec.hidden {
            layers.push(init::linear(fan_in, width, scheme, rng, device));
            fan_in = width;
        }
        let norms = spec.hidden.iter().filter_map(|&w| Norm::new(spec.norm, w, device)).collect();
        let activations = spec.hidden.iter().map(|&width| Activation::sized(activation, width, device)).collect();
        let output = init::linear(fan_in, spec.classes, output_init(scheme), rng, device);
        Self {
            convs,
            conv_norms,
            conv_activations,
            layers,
            norms,
            activations,
            output,
            image,
            avg_pool,
            dropout: spec.dropout,
        }
    }

    pub fn forward<S: Sites>(&self, x: Tensor<2>, mode: Mode, sites: &mut S) -> Tensor<2> {
        let mut h = x;
        if !self.convs.is_empty() {
            let mut maps = to_image(h, self.image);
            for (i, (conv, activation)) in self.convs.iter().zip(&self.conv_activations).enumerate() {
                let z = norm::apply(self.conv_norms.get(i), crate::fused::conv::forward(conv, maps), mode);
                maps = if S::FUSED && activation.kind().name() == "relu" && !self.avg_pool {
                    // The same numbers as pool(relu(z)) in one pass (see the function).
                    crate::fused::pool::max_pool_2x2_relu(z)
                } else {
                    self.pool(sites.activate(activation, z))
                };
            }
            h = maps.flatten(1, 3);
        }
        for (i, (layer, activation)) in self.layers.iter().zip(&self.activations).enumerate() {
            let z = norm::apply(self.norms.get(i), crate::fused::linear::forward(layer, h), mode);
            h = dropout::apply(sites.activate(activation, z), self.dropout, mode, i);
        }
        crate::fused::linear::forward(&self.output, h)
    }

    /// The pooling that ends every convolution block.
    fn pool(&self, x: Tensor<4>) -> Tensor<4> {
        if self.avg_pool {
            avg_pool2d(x, AvgPoolOptions::new([POOL, POOL]))
        } else {
            // POOL is 2: the fused 2x2 op (src/fused/pool.rs).
            crate::fused::pool::max_pool_2x2(x)
        }
    }

    pub fn activations(&self) -> Vec<(String, &Activation)> {
        let convs = self.conv_activations.iter().enumerate().map(|(i, a)| (format!("conv_activations.{i}"), a));
        convs.chain(self.activations.iter().enumerate().map(|(i, a)| (format!("activations.{i}"), a))).collect()
    }

    pub fn site_names(&self) -> Vec<String> {
        let convs = (0..self.convs.len()).map(|i| format!("convs.{i}"));
        convs.chain((0..self.layers.len()).map(|i| format!("layers.{i}"))).collect()
    }
}
