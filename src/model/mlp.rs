//! The `mlp` kind: hidden linear layers, each followed by [norm], the
//! activation and [dropout], then the linear classifier (stack.rs).

use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;

use super::kind::{KindInfo, Sizes};
use super::settings::{Model, ModelKind, NormKind};
use super::stack::{Stack, StackSpec};
use super::{Inputs, Network, NetworkSpec};
use crate::config::error::KeyError;
use crate::data::settings::Data;

pub const KIND: KindInfo = KindInfo {
    kind: ModelKind::Mlp,
    name: "mlp",
    about: "fully connected hidden layers (`hidden`), the activation after each",
    keys: &["hidden", "norm", "dropout"],
    default_norm: NormKind::None,
    auto_init: None,
    window: None,
    validate,
    build,
    sizes,
    describe,
    ratio: |_| ["layers.0.weight", "output.weight"],
    flop_per_sample,
};

fn validate(model: &Model, _data: &Data) -> Result<(), KeyError> {
    if model.hidden.is_empty() {
        return KeyError::fail("model.hidden", "lists no hidden layer: an MLP needs at least one, e.g. [64, 64]");
    }
    Ok(())
}

fn build(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Network {
    let hidden = widths(&spec.model);
    let stack = StackSpec {
        features: spec.inputs.features,
        conv: None,
        hidden: &hidden,
        classes: spec.inputs.classes,
        norm: spec.model.norm(),
        dropout: spec.model.dropout(),
    };
    Network::Stack(Stack::new(&stack, spec.activation, spec.init, rng, device))
}

/// The hidden widths.
pub fn widths(model: &Model) -> Vec<usize> {
    model.hidden.iter().map(|h| h.0).collect()
}

/// The sizes of the hidden layers and the classifier after `fan_in`
/// features, added to `sizes`; the norms' scale and shift included.
pub fn dense_sizes(model: &Model, fan_in: usize, classes: usize, sizes: &mut Sizes) {
    let mut fan_in = fan_in as f64;
    let norm = model.norm() != NormKind::None;
    for width in widths(model) {
        let width = width as f64;
        sizes.parameters += fan_in * width + width + if norm { 2.0 * width } else { 0.0 };
        sizes.tensors += if norm { 4.0 } else { 2.0 };
        sizes.units += width * if norm { 2.0 } else { 1.0 };
        sizes.widest = sizes.widest.max(width);
        sizes.sites += 1.0;
        fan_in = width;
    }
    let classes = classes as f64;
    sizes.widest = sizes.widest.max(classes);
    sizes.parameters += fan_in * classes + classes;
    sizes.tensors += 2.0;
}

fn sizes(model: &Model, inputs: &Inputs) -> Sizes {
    let mut sizes = Sizes { parameters: 0.0, tensors: 0.0, sites: 0.0, units: 0.0, widest: 0.0, key: "model.hidden" };
    dense_sizes(model, inputs.features, inputs.classes, &mut sizes);
    sizes
}

fn describe(model: &Model) -> String {
    let hidden: Vec<String> = widths(model).iter().map(usize::to_string).collect();
    format!("MLP, hidden layers [{}]", hidden.join(", "))
}

/// Floating-point operations of one training sample: the forward products
/// (2 x inputs x outputs per layer), as many for the weight gradients, and
/// the input gradients of every layer but the first (the data needs none);
/// the element-wise work is left out. 784-128-128-10: 236,032 + 236,032 +
/// 35,328 = 507,392.
fn flop_per_sample(model: &Model, inputs: &Inputs) -> Option<f64> {
    let widths: Vec<usize> = std::iter::once(inputs.features).chain(widths(model)).chain([inputs.classes]).collect();
    let products: Vec<f64> = widths.windows(2).map(|w| 2.0 * (w[0] * w[1]) as f64).collect();
    Some(2.0 * products.iter().sum::<f64>() + products[1..].iter().sum::<f64>())
}
