//! The table of model kinds: one entry per kind, each from its own file.
//! An entry says which `[model]` keys the kind takes and checks them, builds
//! the network, counts its size for the budget check, describes it for
//! report.md, and names the parameters the gradient ratio compares.
//!
//! Adding a kind: a variant of `settings::ModelKind`, a file with its
//! network and its [`KindInfo`] (kind.rs), its line in [`KINDS`], and a
//! variant of `model::Network` when it brings a new network type.

use super::kind::KindInfo;
use super::settings::{Model, ModelKind, NormKind};
use super::{cnn, gpt, mlp, resmlp, resnet};
use crate::config::error::KeyError;
use crate::data::settings::Data;

/// The most activation layers (sites) a network may have.
pub const MAX_SITES: usize = 5_000;

/// Every kind, in the order the reference lists them.
pub static KINDS: [KindInfo; 6] = [mlp::KIND, cnn::KIND, resnet::KIND, resnet::PLAIN, resmlp::KIND, gpt::KIND];

impl ModelKind {
    /// This kind's entry of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        KINDS.iter().find(|k| k.kind == self).expect("every ModelKind has its entry in model::kinds::KINDS")
    }
}

impl Model {
    /// The checks of `[model]` across its keys, against the data it will
    /// see: no key the kind does not take, then the kind's own checks.
    pub fn validate(&self, data: &Data) -> Result<(), KeyError> {
        let info = self.kind.info();
        let default = Model::default();
        let set: [(&str, bool); 16] = [
            ("hidden", self.hidden != default.hidden),
            ("channels", self.channels != default.channels),
            ("kernel_size", self.kernel_size != default.kernel_size),
            ("padding", self.padding != default.padding),
            ("pool", self.pool != default.pool),
            ("norm", self.norm.is_some()),
            ("dropout", self.dropout.is_some()),
            ("depth", self.depth.is_some()),
            ("shortcut", self.shortcut.is_some()),
            ("width", self.width.is_some()),
            ("blocks", self.blocks.is_some()),
            ("layers", self.layers.is_some()),
            ("heads", self.heads.is_some()),
            ("block_size", self.block_size.is_some()),
            ("ffn", self.ffn.is_some()),
            ("bias", self.bias.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(key, set)| *set && !info.keys.contains(key)) {
            return KeyError::fail(
                format!("model.{key}"),
                format!(
                    "is not a key of `kind = \"{}\"` (its keys: {}): remove it, or choose a kind that takes it",
                    info.name,
                    info.keys.join(", ")
                ),
            );
        }
        if data.dataset.is_text() && info.window.is_none() {
            return KeyError::fail(
                "model.kind",
                format!(
                    "`{}` classifies samples; `{}` is a text (a stream of tokens): use kind = \"gpt\"",
                    info.name,
                    data.dataset.name()
                ),
            );
        }
        (info.validate)(self, data)?;
        // A long list of narrow layers fits in memory but would take hours
        // to build and step through: bounded before anything is built.
        let sizes = (info.sizes)(self, &super::kind::inputs_of(data));
        if sizes.sites > MAX_SITES as f64 {
            let takes = |key: &str| info.keys.contains(&key);
            let key = match ["depth", "blocks"].into_iter().find(|k| takes(k)) {
                Some(key) => key,
                None if takes("channels") && self.channels.len() > self.hidden.len() => "channels",
                None => "hidden",
            };
            return KeyError::fail(
                format!("model.{key}"),
                format!(
                    "makes a network of {:.0} activation layers, more than the {MAX_SITES} one may have (ResNet-1202 has 1201): use fewer layers",
                    sizes.sites
                ),
            );
        }
        Ok(())
    }

    /// The normalisation in effect: the key, or the kind's default.
    pub fn norm(&self) -> NormKind {
        self.norm.unwrap_or(self.kind.info().default_norm)
    }

    /// The dropout share in effect (0 by default).
    pub fn dropout(&self) -> f64 {
        self.dropout.map_or(0.0, |d| d.0)
    }

    /// report.md's description of the network, with its normalisation and dropout.
    pub fn describe(&self) -> String {
        let mut text = (self.kind.info().describe)(self);
        if self.norm() != NormKind::None {
            text += &format!(", {} norm", self.norm().name());
        }
        if self.dropout() > 0.0 {
            text += &format!(", dropout {}", self.dropout());
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::ActivationKind;
    use crate::config::values::Count;
    use crate::model::kind::inputs_of;
    use crate::model::settings::{InitScheme, Shortcut};
    use crate::model::{Network, NetworkSpec};
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::{Device, Tensor};

    /// Trained values of a network (its parameters, not batch norm's statistics).
    fn trained_values(network: &Network) -> usize {
        struct Count(usize);
        impl ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let value = param.val();
                if value.is_require_grad() {
                    self.0 += value.dims().iter().product::<usize>();
                }
            }
        }
        let mut count = Count(0);
        network.visit(&mut count);
        count.0
    }

    #[test]
    fn every_kind_counts_the_parameters_it_builds() {
        let device = Device::flex().autodiff();
        let data = |name: &str| crate::data::settings::Data {
            dataset: crate::data::DatasetKind::named(name),
            ..Default::default()
        };
        let cases = [
            (Model { hidden: vec![Count(32), Count(16)], norm: Some(NormKind::Batch), ..Model::default() }, "digits"),
            (Model { kind: ModelKind::Cnn, channels: vec![Count(4), Count(8)], ..Model::default() }, "mnist"),
            (
                Model {
                    kind: ModelKind::Resnet,
                    depth: Some(Count(8)),
                    shortcut: Some(Shortcut::B),
                    ..Model::default()
                },
                "cifar10",
            ),
            (
                Model {
                    kind: ModelKind::Plain,
                    depth: Some(Count(14)),
                    norm: Some(NormKind::None),
                    ..Model::default()
                },
                "digits",
            ),
            (
                Model { kind: ModelKind::Resmlp, width: Some(Count(24)), blocks: Some(Count(3)), ..Model::default() },
                "digits",
            ),
            (
                Model { kind: ModelKind::Gpt, width: Some(Count(16)), layers: Some(Count(2)), ..Model::default() },
                "shakespeare_char",
            ),
            (
                Model {
                    kind: ModelKind::Gpt,
                    width: Some(Count(24)),
                    heads: Some(Count(3)),
                    block_size: Some(Count(8)),
                    ffn: Some(crate::model::settings::Ffn::Gated),
                    bias: Some(false),
                    ..Model::default()
                },
                "shakespeare_char",
            ),
        ];
        for (model, dataset) in cases {
            let data = data(dataset);
            model.validate(&data).unwrap();
            let inputs = inputs_of(&data);
            let sizes = (model.kind.info().sizes)(&model, &inputs);
            let spec = NetworkSpec {
                model: model.clone(),
                inputs,
                activation: ActivationKind::with("relu", &[]).unwrap(),
                init: InitScheme::He,
            };
            let network = Network::new(&spec, 0, &device);
            assert_eq!(sizes.parameters, trained_values(&network) as f64, "{:?} on {dataset}", model.kind);
            assert_eq!(sizes.sites, network.site_names().len() as f64, "{:?}", model.kind);
            assert_eq!(
                sizes.tensors,
                crate::train::metrics::parameter_names(&network).len() as f64,
                "{:?}: tensors",
                model.kind
            );
        }
    }

    #[test]
    fn every_kind_has_one_entry_named_as_serde_writes_it() {
        for info in &KINDS {
            let written = toml::Value::try_from(info.kind).unwrap();
            assert_eq!(written.as_str(), Some(info.name));
            assert!(std::ptr::eq(info.kind.info(), info));
        }
    }
}
