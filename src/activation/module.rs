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
    /// The learned parameters (PReLU's slope, a formula's `learn`), in the
    /// order of [`ActivationKind::learned_names`]: shape [1] each, or [units]
    /// with `learn_per = "unit"`.
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

    /// An activation after a layer of `units` units (or channels): with
    /// `learn_per = "unit"` each learned parameter holds one value per unit.
    pub fn sized(kind: ActivationKind, units: usize, device: &Device) -> Self {
        let n = if kind.per_unit() { units.max(1) } else { 1 };
        let learned = kind
            .learned_values()
            .into_iter()
            .map(|v| Param::from_tensor(Tensor::from_data(TensorData::new(vec![v as f32; n], [n]), device)))
            .collect();
        Self { kind, learned, fused_off: false }
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
            let op = kernel(self.kind.values());
            if fused::pays(op, x.shape().num_elements()) {
                return fused::apply(x, op);
            }
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
        let dims = x.dims();
        let learned = self.learned_views(dims).pop();
        if D == 2 {
            // The hidden layers' case: the same tensor, only its static rank named.
            let args = Args { values: *self.kind.values(), learned };
            return Tensor::from_dispatch(forward(Tensor::from_dispatch(x.into_dispatch()), &args).into_dispatch());
        }
        // Element-wise, so a 2-D view of the values will do: [first dim, the rest].
        let (rows, columns) = rows_columns(dims);
        let args = Args { values: *self.kind.values(), learned };
        forward(x.reshape([rows, columns]), &args).reshape(dims)
    }

    /// Each learned tensor as a [1, columns] view broadcasting against the
    /// input seen as [rows, columns] (see `rows_columns`): one value per
    /// layer everywhere, one per unit along dim 1 (a unit of [batch, units],
    /// a channel of [batch, channels, h, w]). The broadcast is expanded in the
    /// input's own shape before the view, so that the gradient is reduced dim
    /// by dim as for an input of rank D (Burn sums broadcast dims one at a
    /// time): the same numbers as without the view.
    fn learned_views<const D: usize>(&self, dims: [usize; D]) -> Vec<Tensor<2>> {
        let (_, columns) = rows_columns(dims);
        self.learned
            .iter()
            .map(|a| {
                let a = a.val();
                let n = a.dims()[0];
                match D {
                    1 => a.reshape([1, 1]),
                    // [units] (or one value) along the columns of [batch, units].
                    2 => a.reshape([1, n]),
                    _ => {
                        let mut shape = dims;
                        shape[0] = 1;
                        let mut view = [1; D];
                        view[1] = n;
                        a.reshape(view).expand(shape).reshape([1, columns])
                    }
                }
            })
            .collect()
    }

    /// A formula: on flex one fused op (one value per learned parameter),
    /// elsewhere Burn's tensor ops.
    fn forward_formula<const D: usize>(&self, custom: &'static super::kind::Custom, x: Tensor<D>) -> Tensor<D> {
        if let Some(program) = &custom.program
            && crate::fused::on_flex_f32(&x)
            && !self.fused_off
            && !custom.per_unit
        {
            let params = match self.learned.as_slice() {
                [] => Tensor::zeros([1], &x.device()),
                // One learned value (the common case) without a `cat` node in the graph.
                [one] => one.val(),
                learned => Tensor::cat(learned.iter().map(Param::val).collect(), 0),
            };
            return crate::fused::formula::apply(x, params, program);
        }
        let dims = x.dims();
        let (rows, columns) = rows_columns(dims);
        let mut views = self.learned_views(dims).into_iter();
        let tensors: Vec<Option<Tensor<2>>> = custom
            .learned
            .iter()
            .map(|&is| is.then(|| views.next().expect("one tensor per learned parameter")))
            .collect();
        custom.formula.forward(x.reshape([rows, columns]), &custom.values, &tensors).reshape(dims)
    }
}

/// An input of shape `dims` seen as [first dim, the rest] (element-wise ops only).
fn rows_columns<const D: usize>(dims: [usize; D]) -> (usize, usize) {
    let rows = if D == 1 { 1 } else { dims[0] };
    (rows, dims.iter().product::<usize>() / rows.max(1))
}
