//! The `cnn` kind: LeNet-style convolution blocks (conv -> [norm] ->
//! activation -> 2x2 pool), then the hidden linear layers of an MLP
//! (stack.rs).

use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;

use super::kind::{KindInfo, Sizes, image_of};
use super::mlp::{dense_sizes, widths};
use super::settings::{Model, ModelKind, NormKind, POOL, Padding, conv_shapes};
use super::stack::{ConvSpec, Stack, StackSpec};
use super::{Inputs, Network, NetworkSpec};
use crate::config::error::KeyError;
use crate::data::settings::Data;

pub const KIND: KindInfo = KindInfo {
    kind: ModelKind::Cnn,
    name: "cnn",
    about: "LeNet-style convolution blocks (`channels`, `kernel_size`, `padding`, `pool`), then hidden layers",
    keys: &["hidden", "channels", "kernel_size", "padding", "pool", "norm", "dropout"],
    default_norm: NormKind::None,
    auto_init: None,
    window: None,
    validate,
    build,
    sizes,
    describe,
    ratio: |_| ["convs.0.weight", "output.weight"],
    flop_per_sample: |_, _| None,
};

fn validate(model: &Model, data: &Data) -> Result<(), KeyError> {
    let image = image_of(data, "cnn", "mlp")?;
    if model.channels.is_empty() {
        return KeyError::fail("model.channels", "lists no convolution block: a CNN needs at least one, e.g. [6, 16]");
    }
    let kernels = &model.kernel_size.0;
    if kernels.len() != 1 && kernels.len() != model.channels.len() {
        return KeyError::fail(
            "model.kernel_size",
            format!(
                "lists {} sizes for {} blocks: give one for all, or one per block",
                kernels.len(),
                model.channels.len()
            ),
        );
    }
    if model.padding == Padding::Same && kernels.iter().any(|k| k % 2 == 0) {
        return KeyError::fail("model.kernel_size", "must be odd with `padding = \"same\"`, e.g. 3 or 5");
    }
    let channels: Vec<usize> = model.channels.iter().map(|c| c.0).collect();
    if let Err(block) = conv_shapes(image, &channels, &model.kernel_sizes(), model.padding) {
        let [_, h, w] = image;
        return KeyError::fail(
            "model.channels",
            format!(
                "block {} would shrink the {h}x{w} images of `{}` to nothing: use fewer blocks, smaller kernels or `padding = \"same\"`",
                block + 1,
                data.dataset.name()
            ),
        );
    }
    Ok(())
}

fn conv_spec(model: &Model, image: [usize; 3]) -> ConvSpec {
    ConvSpec {
        image,
        channels: model.channels.iter().map(|c| c.0).collect(),
        kernel_sizes: model.kernel_sizes(),
        padding: model.padding,
        pool: model.pool,
    }
}

fn build(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Network {
    let hidden = widths(&spec.model);
    let image = spec.inputs.image.expect("the config check requires images for a CNN");
    let stack = StackSpec {
        features: spec.inputs.features,
        conv: Some(conv_spec(&spec.model, image)),
        hidden: &hidden,
        classes: spec.inputs.classes,
        norm: spec.model.norm(),
        dropout: spec.model.dropout(),
    };
    Network::Stack(Stack::new(&stack, spec.activation, spec.init, rng, device))
}

fn sizes(model: &Model, inputs: &Inputs) -> Sizes {
    let mut sizes = Sizes { parameters: 0.0, tensors: 0.0, sites: 0.0, units: 0.0, widest: 0.0, key: "model.hidden" };
    let mut fan_in = inputs.features;
    if let Some([channels, height, width]) = inputs.image {
        let norm = model.norm() != NormKind::None;
        let (mut c_in, mut h, mut w) = (channels as f64, height as f64, width as f64);
        let mut conv_units = 0.0;
        for (&c, k) in model.channels.iter().map(|c| &c.0).zip(model.kernel_sizes()) {
            let (c, k) = (c as f64, k as f64);
            if model.padding == Padding::Valid {
                (h, w) = ((h - k + 1.0).max(1.0), (w - k + 1.0).max(1.0));
            }
            sizes.parameters += c_in * k * k * c + c + if norm { 2.0 * c } else { 0.0 };
            sizes.tensors += if norm { 4.0 } else { 2.0 };
            sizes.sites += 1.0;
            conv_units += c * h * w * if norm { 2.0 } else { 1.0 };
            sizes.widest = sizes.widest.max(c * h * w);
            // Each block pools 2x2 (the config check rejects maps that vanish).
            (c_in, h, w) = (c, (h / POOL as f64).floor().max(1.0), (w / POOL as f64).floor().max(1.0));
        }
        fan_in = (c_in * h * w) as usize;
        sizes.units += conv_units;
    }
    let conv_units = sizes.units;
    dense_sizes(model, fan_in, inputs.classes, &mut sizes);
    if conv_units > sizes.units - conv_units {
        sizes.key = "model.channels";
    }
    sizes
}

fn describe(model: &Model) -> String {
    let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    let channels: Vec<usize> = model.channels.iter().map(|n| n.0).collect();
    format!(
        "CNN: conv blocks of [{}] channels, kernel {}, padding {}, 2x2 {} pooling; then hidden layers [{}]",
        list(&channels),
        list(&model.kernel_size.0),
        model.padding.name(),
        model.pool.name(),
        list(&widths(model))
    )
}
