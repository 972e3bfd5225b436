//! Every built-in activation against PyTorch (tests/data/activations_torch.csv:
//! PyTorch 2.15, float64, derivatives by autograd), and every derivative
//! against a finite difference of the values.

use std::collections::BTreeMap;

use actbench::activation::{self, ActivationKind, catalog};
use burn::tensor::Device;

/// float32 comparison: abs 1e-5 plus rel 1e-5 (float32 carries about 7
/// significant digits; PyTorch's own values are float64 here).
fn close(got: f32, want: f64) -> bool {
    (got as f64 - want).abs() <= 1e-5 + 1e-5 * want.abs()
}

fn reference() -> BTreeMap<String, Vec<(f64, f64, f64)>> {
    let mut rows: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path("tests/data/activations_torch.csv").unwrap();
    for record in reader.records() {
        let r = record.unwrap();
        let num = |i: usize| r[i].parse::<f64>().unwrap();
        rows.entry(r[0].to_string()).or_default().push((num(1), num(2), num(3)));
    }
    rows
}

/// Built-ins without a torch.nn module, absent from the reference file.
pub const NOT_IN_TORCH: &[&str] = &["step"];

#[test]
fn values_and_derivatives_equal_pytorch() {
    let device = Device::flex();
    let reference = reference();
    let mut expected: Vec<&str> = catalog::names().into_iter().filter(|n| !NOT_IN_TORCH.contains(n)).collect();
    expected.sort();
    let mut found: Vec<&str> = reference.keys().map(String::as_str).collect();
    found.sort();
    assert_eq!(found, expected, "the reference covers every built-in PyTorch has (scripts/activations_reference.py)");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, rows) in &reference {
        let info = catalog::lookup(name).unwrap_or_else(|| panic!("`{name}` is not built in"));
        let kind = ActivationKind::default_for(info);
        let xs: Vec<f32> = rows.iter().map(|r| r.0 as f32).collect();
        let (values, derivatives) = activation::evaluate(kind, &xs, &device);
        for (i, &(x, value, derivative)) in rows.iter().enumerate() {
            checked += 1;
            if !close(values[i], value) {
                failures.push(format!("{name}({x}) = {} , torch {value}", values[i]));
            }
            if !close(derivatives[i], derivative) {
                failures.push(format!("{name}'({x}) = {}, torch {derivative}", derivatives[i]));
            }
        }
    }
    assert_eq!(checked, expected.len() * 49);
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn derivatives_match_finite_differences() {
    let device = Device::flex();
    // Points away from every kink (0, +-1, +-3, 6) and the softplus threshold.
    let xs: Vec<f32> = (0..16).map(|i| -5.55 + 0.7 * i as f32).collect();
    let h = 1e-2f32;
    let plus: Vec<f32> = xs.iter().map(|x| x + h).collect();
    let minus: Vec<f32> = xs.iter().map(|x| x - h).collect();
    let mut failures = Vec::new();
    for info in catalog::CATALOG {
        let kind = ActivationKind::default_for(info);
        let (_, derivatives) = activation::evaluate(kind, &xs, &device);
        let (up, _) = activation::evaluate(kind, &plus, &device);
        let (down, _) = activation::evaluate(kind, &minus, &device);
        for i in 0..xs.len() {
            let numeric = (up[i] as f64 - down[i] as f64) / (2.0 * h as f64);
            let tolerance = 1e-3 + 1e-2 * numeric.abs();
            if (derivatives[i] as f64 - numeric).abs() > tolerance {
                failures.push(format!("{}'({}) = {}, finite difference {numeric}", info.name, xs[i], derivatives[i]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parameters_change_the_function() {
    let device = Device::flex();
    let (v, d) =
        activation::evaluate(ActivationKind::with("leaky_relu", &[("slope", 0.2)]).unwrap(), &[-2.0, 2.0], &device);
    assert_eq!((v, d), (vec![-0.4, 2.0], vec![0.2, 1.0]));
    let (v, _) = activation::evaluate(ActivationKind::with("silu", &[("beta", 2.0)]).unwrap(), &[1.0], &device);
    let want = 1.0 / (1.0 + (-2.0f64).exp());
    assert!((v[0] as f64 - want).abs() < 1e-6);
    let (v, d) = activation::evaluate(
        ActivationKind::with("hard_tanh", &[("min", -2.0), ("max", 2.0)]).unwrap(),
        &[-3.0, 1.5, 3.0],
        &device,
    );
    assert_eq!((v, d), (vec![-2.0, 1.5, 2.0], vec![0.0, 1.0, 0.0]));
}

#[test]
fn step_has_zero_gradient_unless_straight_through() {
    let device = Device::flex();
    let xs = [-2.0, -0.5, 0.0, 0.5, 2.0];
    let (v, d) = activation::evaluate(ActivationKind::with("step", &[]).unwrap(), &xs, &device);
    assert_eq!(v, vec![0.0, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!(d, vec![0.0; 5]);
    let (v, d) =
        activation::evaluate(ActivationKind::with("step", &[("straight_through", 1.0)]).unwrap(), &xs, &device);
    for (got, want) in v.iter().zip([0.0, 0.0, 0.0, 1.0, 1.0]) {
        assert!((got - want).abs() < 1e-6, "{v:?}");
    }
    assert_eq!(d, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
}

/// The fused kernels against the composed tensor ops (`forward_composed`,
/// which passed the PyTorch comparison above before the kernels existed) on
/// the same backend, on a 2-D batch large enough for the multi-threaded path,
/// with a non-uniform upstream gradient: `d sum(w * f(x)) / dx = w f'(x)`.
#[test]
fn fused_kernels_equal_the_composed_ops() {
    use burn::tensor::{Tensor, TensorData};
    let (rows, cols) = (600, 256); // 153,600 elements: above the parallel threshold
    let xs: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919) % 2401) as f32 / 200.0 - 6.0).collect();
    let ws: Vec<f32> = (0..rows * cols).map(|i| ((i * 104_729) % 1000) as f32 / 250.0 - 2.0).collect();
    let device = Device::flex().autodiff();
    let run = |kind: ActivationKind, fused: bool| {
        let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [rows, cols]), &device).require_grad();
        let w = Tensor::<2>::from_data(TensorData::new(ws.clone(), [rows, cols]), &device);
        let module = activation::Activation::new(kind, &device);
        let y = if fused { module.forward(x.clone()) } else { module.forward_composed(x.clone()) };
        let grads = (y.clone() * w).sum().backward();
        let values = y.into_data().try_to_vec::<f32>().unwrap();
        let derivatives = x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        (values, derivatives)
    };
    let mut failures = Vec::new();
    for name in ["sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "elu", "selu", "celu"] {
        let kind = ActivationKind::default_for(catalog::lookup(name).unwrap());
        let (fused_v, fused_d) = run(kind, true);
        let (plain_v, plain_d) = run(kind, false);
        // 1 - tanh^2 near saturation cancels to ~1e-6 absolute in either formula.
        let ok = |a: f32, b: f32| (a - b).abs() <= 4e-6 + 2e-6 * b.abs();
        for i in 0..xs.len() {
            if !ok(fused_v[i], plain_v[i]) || !ok(fused_d[i], plain_d[i]) {
                failures.push(format!(
                    "{name} at {} (w {}): value {} vs {}, derivative {} vs {}",
                    xs[i], ws[i], fused_v[i], plain_v[i], fused_d[i], plain_d[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} differences, first: {:?}", failures.len(), &failures[..failures.len().min(5)]);
}
