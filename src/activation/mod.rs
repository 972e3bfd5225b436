//! Activation functions: the catalog (names, formulas, defaults), the resolved
//! kind with its parameters, the Burn module that computes it (on flex
//! through the fused kernels of `crate::fused`), and the figures of their shapes.

pub mod catalog;
mod figures;
pub mod formula;
pub mod gain;
mod kind;
mod module;
pub mod properties;

pub use figures::{AllShapes, Shape, Shapes};
pub use kind::{ActivationKind, KindError, ParamValue, format_number};
pub use module::Activation;

use burn::tensor::{Device, Tensor, TensorData};

/// Values and derivatives of one activation at the given points, through the
/// same module the models use; the derivative comes from Burn's autodiff
/// (`d sum(f(x)) / dx`), not from a formula.
pub fn evaluate(kind: ActivationKind, points: &[f32], device: &Device) -> (Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let x = Tensor::<1>::from_data(TensorData::new(points.to_vec(), [points.len()]), &device).require_grad();
    let y = Activation::new(kind, &device).forward(x.clone());
    let values = to_vec(y.clone());
    // A function built only from comparisons (the plain step) leaves no graph:
    // its derivative is zero everywhere.
    let derivatives = if y.is_tracked() {
        let grads = y.sum().backward();
        x.grad(&grads).map(to_vec).unwrap_or_else(|| vec![0.0; points.len()])
    } else {
        vec![0.0; points.len()]
    };
    (values, derivatives)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("activations compute in f32")
}
