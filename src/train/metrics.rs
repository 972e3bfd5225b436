//! Per-parameter gradient and weight statistics, named by module path
//! (`layers.0.weight`), and global-norm gradient clipping.
//!
//! The reductions of all parameters are queued on the device and read back
//! together with the loss in one transfer per step (the training loop's
//! record phase reads one concatenated tensor, src/train/step.rs), not one
//! sync per parameter. A step computes them at most once ([`Gradients`]),
//! for the gradient records and for clipping alike.

use std::cell::OnceCell;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Whether a float tensor of a module is trained: not a buffer such as
/// batch norm's running statistics (Burn's `RunningState`), which a visitor
/// sees as a parameter that requires no gradient on the autodiff device.
fn trained<const D: usize>(param: &Param<Tensor<D>>) -> bool {
    let value = param.val();
    !value.device().is_autodiff() || value.is_require_grad()
}

/// Module paths of the trained float parameters, in visiting order. An
/// enum's variant is not part of the path (`layers.0.weight`, whichever
/// kind of network or norm holds it).
pub fn parameter_names<M: Module>(module: &M) -> Vec<String> {
    struct Names {
        path: Vec<Option<String>>,
        names: Vec<String>,
    }
    impl ModuleVisitor for Names {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.path.push((!container.starts_with("Enum:")).then(|| name.to_string()));
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if trained(param) {
                self.names.push(self.path.iter().flatten().cloned().collect::<Vec<_>>().join("."));
            }
        }
    }
    let mut v = Names { path: Vec::new(), names: Vec::new() };
    module.visit(&mut v);
    v.names
}

/// Device-side reductions, two tensors per parameter in visiting order:
/// `[sum of squared gradients, max |gradient|]` and `[sum of squared weights]`
/// (three values per parameter once concatenated).
/// A parameter that received no gradient (everything below a plain step
/// activation) contributes zeros.
pub fn gradient_reductions<M: Module>(module: &M, grads: &GradientsParams) -> Vec<Tensor<1>> {
    struct Reduce<'a> {
        grads: &'a GradientsParams,
        out: Vec<Tensor<1>>,
    }
    impl ModuleVisitor for Reduce<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !trained(param) {
                return;
            }
            let weight = param.val().inner();
            match self.grads.get::<D>(param.id) {
                // [sum of squares, max |g|] in one op (one pass on flex: src/fused/stats.rs).
                Some(g) => self.out.push(crate::fused::stats::square_sum_max_abs(g)),
                None => self.out.push(Tensor::<1>::zeros([2], &weight.device())),
            }
            self.out.push(crate::fused::stats::square_sum_max_abs(weight).slice(0..1));
        }
    }
    let mut v = Reduce { grads, out: Vec::new() };
    module.visit(&mut v);
    v.out
}

/// A step's gradients, with their reductions ([`gradient_reductions`])
/// computed at most once, when first asked for: by a recorder or by clipping.
pub struct Gradients {
    params: GradientsParams,
    reductions: OnceCell<Vec<Tensor<1>>>,
}

impl Gradients {
    pub fn new(params: GradientsParams) -> Self {
        Self { params, reductions: OnceCell::new() }
    }

    /// The reductions of `module`'s gradients (the module they are of).
    pub fn reductions<M: Module>(&self, module: &M) -> &[Tensor<1>] {
        self.reductions.get_or_init(|| gradient_reductions(module, &self.params))
    }

    /// The gradients to step with: clipped to a global norm of `clip` when given.
    pub fn into_params<M: Module>(self, module: &M, clip: Option<f64>) -> GradientsParams {
        let Some(max_norm) = clip else { return self.params };
        // Each parameter's squared gradient sum: the first value of its first tensor.
        let sum_sq =
            Tensor::cat(self.reductions(module).iter().step_by(2).map(|r| r.clone().slice(0..1)).collect(), 0).sum();
        clip_global_norm(module, self.params, sum_sq, max_norm)
    }
}

/// Scales every gradient by `min(1, max_norm / (norm + 1e-6))`, where `norm`
/// is the L2 norm of all gradients together (torch.nn.utils.clip_grad_norm_;
/// Burn's own clipping works per tensor). `sum_sq` is that norm squared, a
/// one-element device tensor, so no value is read back here.
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    sum_sq: Tensor<1>,
    max_norm: f64,
) -> GradientsParams {
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                let factor = self.factor.clone().unsqueeze::<D>();
                self.grads.register(param.id, g * factor);
            }
        }
    }
    // 1e-6 as in clip_grad_norm_.
    let factor = sum_sq.sqrt().add_scalar(1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
    let mut v = Scale { grads: &mut grads, factor };
    module.visit(&mut v);
    grads
}

/// Per-parameter statistics read back from [`gradient_reductions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamStats {
    pub grad_l2: f64,
    pub grad_max_abs: f64,
    pub weight_l2: f64,
}

pub fn unpack(values: &[f32]) -> Vec<ParamStats> {
    values
        .chunks_exact(3)
        .map(|c| ParamStats {
            grad_l2: (c[0] as f64).sqrt(),
            grad_max_abs: c[1] as f64,
            weight_l2: (c[2] as f64).sqrt(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::ActivationKind;
    use crate::config::values::Count;
    use crate::model::settings::{InitScheme, Model};
    use crate::model::{Inputs, Mode, Network, NetworkSpec};
    use burn::tensor::{Device, TensorData};

    fn model_and_grads() -> (Network, GradientsParams) {
        let device = Device::flex().autodiff();
        let spec = NetworkSpec {
            model: Model { hidden: vec![Count(4), Count(4)], ..Model::default() },
            inputs: Inputs { features: 3, image: None, classes: 2 },
            activation: ActivationKind::with("tanh", &[]).unwrap(),
            init: InitScheme::Glorot,
        };
        let model = Network::new(&spec, 7, &device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 1.5, 0.25, -0.75], [2, 3]), &device);
        let loss = model.forward(x, Mode::Eval).square().sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (model, grads)
    }

    fn read(parts: Vec<Tensor<1>>) -> Vec<f32> {
        Tensor::cat(parts, 0).into_data().try_to_vec::<f32>().unwrap()
    }

    fn global_norm(model: &Network, grads: &GradientsParams) -> f64 {
        let stats = unpack(&read(gradient_reductions(model, grads)));
        stats.iter().map(|s| s.grad_l2 * s.grad_l2).sum::<f64>().sqrt()
    }

    #[test]
    fn parameters_are_named_by_module_path() {
        let (model, _) = model_and_grads();
        assert_eq!(
            parameter_names(&model),
            ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "output.weight", "output.bias"]
        );
    }

    #[test]
    fn clipping_rescales_to_the_global_norm_and_only_when_above() {
        let (model, grads) = model_and_grads();
        let before = global_norm(&model, &grads);
        assert!(before > 0.5, "{before}");
        let sum_sq = Tensor::<1>::from_data(TensorData::new(vec![(before * before) as f32], [1]), &Device::flex());
        let clipped = clip_global_norm(&model, grads, sum_sq.clone(), 0.5);
        let after = global_norm(&model, &clipped);
        assert!((after - 0.5).abs() < 1e-4, "{after}");
        // A limit above the norm leaves the gradients as they were.
        let (model, grads) = model_and_grads();
        let untouched = clip_global_norm(&model, grads, sum_sq, 10.0 * before);
        assert!((global_norm(&model, &untouched) - before).abs() < 1e-5 * before);
    }
}
