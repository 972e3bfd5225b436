//! What a model kind is: the entry each kind's file gives the table of
//! kinds (kinds.rs), and the sizes it counts for the budget check.

use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;

use super::settings::{InitScheme, Model, ModelKind, NormKind};
use super::{Inputs, Network, NetworkSpec};
use crate::config::error::KeyError;
use crate::data::settings::Data;

/// One kind of network.
pub struct KindInfo {
    pub kind: ModelKind,
    /// As written in `model.kind`.
    pub name: &'static str,
    /// One line for the reference and report.md.
    pub about: &'static str,
    /// The `[model]` keys it takes besides `kind` and `init`.
    pub keys: &'static [&'static str],
    /// `model.norm` when the config leaves it out.
    pub default_norm: NormKind,
    /// What `init = "auto"` resolves to when the kind has a scheme of its
    /// own, whatever the activation (`None`: the activation's).
    pub auto_init: Option<InitScheme>,
    /// For a model of text (a stream of tokens) rather than of samples with
    /// labels: the length of the windows it reads, from its keys.
    pub window: Option<fn(&Model) -> usize>,
    /// The kind's own checks, after the keys it does not take were refused.
    pub validate: fn(&Model, &Data) -> Result<(), KeyError>,
    pub build: fn(&NetworkSpec, &mut ChaCha8Rng, &Device) -> Network,
    pub sizes: fn(&Model, &Inputs) -> Sizes,
    /// report.md's model line, e.g. `MLP: hidden layers [64, 64]`.
    pub describe: fn(&Model) -> String,
    /// The weights the gradient ratio compares: the input side's first, and the output's.
    pub ratio: fn(&Model) -> [&'static str; 2],
    /// Floating-point operations of one training sample (`actbench bench`'s
    /// share of peak), where the kind counts them.
    pub flop_per_sample: fn(&Model, &Inputs) -> Option<f64>,
}

/// Sizes of a network, counted without building it (the budget check).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    pub parameters: f64,
    /// Parameter tensors: rows of gradients.csv per recorded step.
    pub tensors: f64,
    /// Activation sites: rows of activations.csv per probe.
    pub sites: f64,
    /// Values one sample leaves in memory on its way through (outputs of
    /// every layer, before pooling), to be kept for backward.
    pub units: f64,
    /// The largest single layer output of one sample (evaluation keeps only a few alive).
    pub widest: f64,
    /// The key that sizes it most, for the budget's error.
    pub key: &'static str,
}

/// The image shape of `data`, or the error of a kind that needs images.
pub fn image_of(data: &Data, kind: &str, instead: &str) -> Result<[usize; 3], KeyError> {
    data.dataset.image().ok_or_else(|| {
        KeyError::new(
            "model.kind",
            format!("`{kind}` needs an image dataset; `{}` is not one: use `{instead}`", data.dataset.name()),
        )
    })
}

/// The inputs a dataset gives a network, from its settings.
pub fn inputs_of(data: &Data) -> Inputs {
    Inputs { features: data.dataset.features(), image: data.dataset.image(), classes: data.dataset.classes() }
}
