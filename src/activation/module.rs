//! The activation as a Burn module: the one code path used by the models and
//! by `actbench activations --csv`. On flex the entries with a fused kernel
//! run as one op (src/fused/activation.rs); everywhere else, and as their
//! reference, the entry's `forward` builds it from Burn tensor ops whose
//! autodiff reproduces PyTorch's derivative, including at the kinks (both
//! checked point by point against tests/data/activations_torch.csv).

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::ActivationKind;
use super::catalog::Args;
use crate::fused::activation as fused;

#[derive(Module, Debug)]
pub struct Activation {
    #[module(skip)]
    kind: ActivationKind,
    /// The learned tensor of an entry that has one (PReLU's slope), shape [1].
    pub alpha: Option<Param<Tensor<1>>>,
    /// A formula's learned parameters, in the order of [`ActivationKind::learned_names`], shape [1] each.
    pub learned: Vec<Param<Tensor<1>>>,
    /// Formulas through Burn's ops even on flex (the reference the fused op is tested against).
    #[module(skip)]
    pub fused_off: bool,
}

impl Activation {
    /// An activation whose learned parameters are one value each (per layer).
    pub fn new(kind: ActivationKind, device: &Device) -> Self {
        Self::sized(kind, 1, device)
    }

    /// An activation after a layer of `units` units (or channels): a formula
    /// with `learn_per = "unit"` learns one value per unit.
    pub fn sized(kind: ActivationKind, units: usize, device: &Device) -> Self {
        let info = kind.info();
        let scalar = |v: f64| Param::from_tensor(Tensor::from_data(TensorData::new(vec![v as f32], [1]), device));
        let per_unit = kind.custom().is_some_and(|c| c.per_unit);
        let learned_tensor = |v: f64| {
            let n = if per_unit { units.max(1) } else { 1 };
            Param::from_tensor(Tensor::from_data(TensorData::new(vec![v as f32; n], [n]), device))
        };
        let alpha = info.learned.map(|name| {
            let index = info.params.iter().position(|p| p.name == name).expect("the catalog test checks it");
            scalar(kind.values()[index])
        });
        let learned = kind.custom().map_or_else(Vec::new, |c| {
            c.values.iter().zip(&c.learned).filter(|(_, l)| **l).map(|(v, _)| learned_tensor(*v)).collect()
        });
        Self { kind, alpha, learned, fused_off: false }
    }

    pub fn kind(&self) -> ActivationKind {
        self.kind
    }

    /// # Shapes
    /// - input: any
    /// - output: same as input
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if let Some(kernel) = self.kind.info().kernel
            && crate::fused::on_flex_f32(&x)
        {
            return fused::apply(x, kernel(self.kind.values()));
        }
        self.forward_composed(x)
    }

    /// The activation from Burn's tensor ops (the catalog entry's `forward`),
    /// on every backend: what `forward` runs where no fused kernel applies,
    /// and the reference the fused kernels are tested against.
    pub fn forward_composed<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if let Some(custom) = self.kind.custom() {
            return self.forward_formula(custom, x);
        }
        let forward = self.kind.info().forward;
        let alpha = self.alpha.as_ref().map(Param::val);
        if D == 2 {
            // The hidden layers' case: the same tensor, only its static rank named.
            let args = Args { values: *self.kind.values(), learned: alpha.map(|a| a.unsqueeze::<2>()) };
            return Tensor::from_dispatch(forward(Tensor::from_dispatch(x.into_dispatch()), &args).into_dispatch());
        }
        // Element-wise, so a 2-D view of the values will do: [first dim, the rest].
        let dims = x.dims();
        let rows = if D == 1 { 1 } else { dims[0] };
        let columns = dims.iter().product::<usize>() / rows.max(1);
        // The learned tensor broadcast over the other dims in the input's own
        // shape, then viewed in 2-D: its gradient is then reduced dim by dim
        // as for an input of rank D (Burn sums broadcast dims one at a time),
        // the same numbers as without the view.
        let learned = alpha.map(|a| match D {
            1 => a.reshape([1, 1]),
            _ => {
                let mut shape = dims;
                shape[0] = 1;
                a.reshape([1; D]).expand(shape).reshape([1, columns])
            }
        });
        let args = Args { values: *self.kind.values(), learned };
        forward(x.reshape([rows, columns]), &args).reshape(dims)
    }

    /// A formula from Burn's tensor ops, its learned parameters broadcast
    /// as PReLU's slope is (one value per layer).
    fn forward_formula<const D: usize>(&self, custom: &'static super::kind::Custom, x: Tensor<D>) -> Tensor<D> {
        // The fused op reads one value per learned parameter; one per unit goes through Burn's ops.
        if let Some(program) = &custom.program
            && crate::fused::on_flex_f32(&x)
            && !self.fused_off
            && !custom.per_unit
        {
            let params = match self.learned.as_slice() {
                [] => Tensor::zeros([1], &x.device()),
                learned => Tensor::cat(learned.iter().map(Param::val).collect(), 0),
            };
            return crate::fused::formula::apply(x, params, program);
        }
        let dims = x.dims();
        let rows = if D == 1 { 1 } else { dims[0] };
        let columns = dims.iter().product::<usize>() / rows.max(1);
        let mut learned = self.learned.iter();
        let tensors: Vec<Option<Tensor<2>>> = custom
            .learned
            .iter()
            .map(|&is| {
                is.then(|| {
                    let a = learned.next().expect("one tensor per learned parameter").val();
                    let n = a.dims()[0];
                    match D {
                        1 => a.reshape([1, 1]),
                        // [units] along the columns of [batch, units].
                        2 => a.reshape([1, n]),
                        _ => {
                            // One value (per layer) or one per channel (dim 1), broadcast over the rest.
                            let mut shape = dims;
                            shape[0] = 1;
                            let mut view = [1; D];
                            view[1] = n;
                            a.reshape(view).expand(shape).reshape([1, columns])
                        }
                    }
                })
            })
            .collect();
        custom.formula.forward(x.reshape([rows, columns]), &custom.values, &tensors).reshape(dims)
    }
}
