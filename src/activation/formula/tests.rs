use super::*;

fn formula(source: &str) -> Formula {
    Formula::new(source, &[]).unwrap_or_else(|e| panic!("{source}: {e}"))
}

fn error(source: &str, params: &[(&str, f64)]) -> String {
    let params: Vec<(String, f64)> = params.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    Formula::new(source, &params).unwrap_err().to_string()
}

/// PyTorch's values and derivatives of `activation` (tests/data/activations_torch.csv).
fn torch(activation: &str) -> Vec<(f32, f64, f64)> {
    let text = include_str!("../../../tests/data/activations_torch.csv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[0] == activation).then(|| (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .collect()
}

#[test]
fn formula_twins_of_built_ins_match_pytorch() {
    for (source, twin) in [
        ("x * sigmoid(x)", "silu"),
        ("x * tanh(softplus(x))", "mish"),
        ("max(x, 0)", "relu"),
        ("where(x > 0, x, 0.01 * x)", "leaky_relu"),
        ("x / (1 + abs(x))", "softsign"),
        ("x - tanh(x)", "tanhshrink"),
        ("0.5 * x * (1 + erf(x / sqrt(2)))", "gelu"),
        ("clamp(x, -1, 1)", "hard_tanh"),
    ] {
        let reference = torch(twin);
        assert!(!reference.is_empty(), "{twin}");
        let points: Vec<f32> = reference.iter().map(|r| r.0).collect();
        let (values, derivatives) = evaluate(&formula(source), &[], &points, &Device::flex());
        for ((x, value, derivative), (v, d)) in reference.iter().zip(values.iter().zip(&derivatives)) {
            assert!((*v as f64 - value).abs() <= 1e-6 * value.abs().max(1.0), "{source} at {x}: {v} vs {value}");
            assert!((*d as f64 - derivative).abs() <= 1e-5, "{source}' at {x}: {d} vs {derivative}");
        }
    }
}

#[test]
fn parameters_are_values_and_every_one_must_be_used() {
    let f = Formula::new("x * sigmoid(beta * x)", &[("beta".into(), 2.0)]).unwrap();
    let (values, _) = evaluate(&f, &[2.0], &[1.0], &Device::flex());
    assert!((values[0] as f64 - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-6);
    assert!(error("x", &[("beta", 1.0)]).contains("parameter `beta` is declared but the formula does not use it"));
    assert!(error("2 * 3", &[]).contains("does not depend on `x`"));
    assert!(error("x > 0", &[]).contains("only be the condition of where"));
    assert!(error("where(x, x, 0)", &[]).contains("takes a comparison as its condition"));
    assert!(error("prelu(x)", &[]).contains("learns a parameter of its own"));
}

#[test]
fn names_used_picks_the_parameters_a_formula_takes() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let given = names(&["slope", "p0", "beta"]);
    assert_eq!(names_used("x * sigmoid(p0 * x) + beta", &given).unwrap(), names(&["p0", "beta"]));
    assert_eq!(names_used("x", &given).unwrap(), Vec::<String>::new());
    assert!(names_used("x * p1", &given).unwrap_err().to_string().contains("unknown name `p1`"));
}

#[test]
fn a_formula_not_finite_on_the_grid_says_where_and_why() {
    let e = error("log(x)", &[]);
    assert!(e.contains("x = -20") && e.contains("log of a number that is not positive"), "{e}");
    assert!(error("1 / x", &[]).contains("x = 0: division by zero"), "{}", error("1 / x", &[]));
    assert!(error("exp(x ^ 2)", &[]).contains("overflows"), "{}", error("exp(x ^ 2)", &[]));
    let e = error("sqrt(abs(x))", &[]);
    assert!(e.contains("derivative that is not finite at x = 0"), "{e}");
    assert!(error("x * sigmod(x)", &[]).starts_with("column 5: unknown function `sigmod` (did you mean `sigmoid`?)"));
}

#[test]
fn derivatives_of_generated_formulas_match_finite_differences() {
    // Random formulas over smooth, everywhere-finite pieces; central
    // differences in f64 of the scalar path against Burn's autodiff.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    fn grow(depth: u32, next: &mut dyn FnMut(u64) -> u64) -> String {
        if depth == 0 {
            return ["x", "x", "0.5", "1.5"][next(4) as usize].to_string();
        }
        let a = grow(depth - 1, next);
        match next(8) {
            0 => format!("({a} + {})", grow(depth - 1, next)),
            1 => format!("({a} * {})", grow(depth - 1, next)),
            2 => format!("tanh({a})"),
            3 => format!("sigmoid({a})"),
            4 => format!("sin({a})"),
            5 => format!("atan({a})"),
            6 => format!("softplus({a})"),
            _ => format!("({a} - {})", grow(depth - 1, next)),
        }
    }
    let mut checked = 0;
    for _ in 0..60 {
        let source = format!("x * {}", grow(3, &mut next));
        let Ok(f) = Formula::new(&source, &[]) else { continue };
        let points = [-1.7f32, -0.3, 0.45, 1.2, 2.5];
        let (_, derivatives) = evaluate(&f, &[], &points, &Device::flex());
        for (&x, d) in points.iter().zip(derivatives) {
            let h = 1e-3;
            let (up, down) = (scalar(&f.expr, x as f64 + h, &[]).unwrap(), scalar(&f.expr, x as f64 - h, &[]).unwrap());
            let numeric = (up - down) / (2.0 * h);
            assert!((d as f64 - numeric).abs() <= 2e-3 * numeric.abs().max(1.0), "{source} at {x}: {d} vs {numeric}");
        }
        checked += 1;
    }
    assert!(checked > 40, "{checked} formulas checked");
}

#[test]
fn random_text_never_panics_and_errors_are_one_line() {
    const PIECES: &[&str] = &[
        "x", "beta", "1", "0.5", "1e3", "-", "+", "*", "/", "^", "(", ")", ",", "<", ">=", "exp", "log", "sqrt",
        "where", "max", "clamp", "gelu", "sigmoid", "pi", "e", " ", "$", "é", "1e999", ".", "abs", "x)", "((",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    const VALID: &[&str] = &[
        "x * sigmoid(beta * x)",
        "where(x > 0, x, beta * x)",
        "max(x, 0) + beta * min(x, 0)",
        "clamp(x, -beta, beta) ^ 2 + x",
        "gelu(beta * x) - 0.5 * tanh(x)",
    ];
    let mut parsed = 0;
    for round in 0..4000 {
        // Random pieces, or a valid formula with one character deleted, doubled or swapped.
        let text: String = if round % 2 == 0 {
            (0..1 + next(12)).map(|_| PIECES[next(PIECES.len())]).collect()
        } else {
            let mut chars: Vec<char> = VALID[next(VALID.len())].chars().collect();
            let at = next(chars.len());
            match next(4) {
                0 => drop(chars.remove(at)),
                1 => chars.insert(at, chars[at]),
                2 => {
                    let other = next(chars.len());
                    chars.swap(at, other);
                }
                _ => {}
            }
            chars.into_iter().collect()
        };
        match Formula::new(&text, &[("beta".into(), 1.5)]) {
            Ok(_) => parsed += 1,
            Err(e) => {
                let message = e.to_string();
                assert!(!message.is_empty() && !message.contains('\n'), "{text:?}: {message:?}");
            }
        }
    }
    assert!(parsed > 0, "some random formulas are valid");
}

/// The fused flex op against Burn's ops: values, input gradients and the
/// learned parameters' gradients, on a [64, 24] batch and a random upstream gradient.
#[test]
fn the_fused_op_matches_burns_ops_values_and_gradients() {
    use crate::activation::{Activation, ActivationKind};
    use burn::module::Param;
    let device = Device::flex().autodiff();
    // (formula, its parameters as (name, value, learned))
    type Case<'a> = (&'a str, &'a [(&'a str, f64, bool)]);
    let cases: &[Case] = &[
        ("x * sigmoid(beta * x)", &[("beta", 1.3, true)]),
        ("where(x > 0, tanh(x), a * tanh(x))", &[("a", 0.25, true)]),
        ("max(x, 0.1 * x) + c * x ^ 2", &[("c", 0.05, false)]),
        ("clamp(x, -1, 1) * exp(-abs(x) / s) + gelu(x)", &[("s", 2.0, true)]),
        ("x * tanh(softplus(x))", &[]),
        ("relu(x) - 0.1 * relu(-x)", &[]),
        ("log1p(x ^ 2) + sin(x) - atan(x) / (1 + abs(x)) + erf(x) + asinh(x)", &[]),
        ("b ^ x - x * b", &[("b", 1.5, true)]),
    ];
    let n = 64 * 24;
    let xs: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 125.0 - 4.0).collect();
    let ws: Vec<f32> = (0..n).map(|i| ((i * 104729) % 997) as f32 / 500.0 - 1.0).collect();
    for (source, params) in cases {
        let params: Vec<(String, f64, bool)> = params.iter().map(|(n, v, l)| (n.to_string(), *v, *l)).collect();
        let kind = ActivationKind::from_formula(None, source, &params).unwrap();
        assert!(kind.custom().unwrap().program.is_some(), "{source} compiles");
        let run = |fused: bool| {
            let mut act = Activation::new(kind, &device);
            act.fused_off = !fused;
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [64, 24]), &device).require_grad();
            let w = Tensor::<2>::from_data(TensorData::new(ws.clone(), [64, 24]), &device);
            let y = act.forward(x.clone());
            let grads = (y.clone() * w).sum().backward();
            let to = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
            let learned: Vec<f32> = act
                .learned
                .iter()
                .map(|p: &Param<Tensor<1>>| p.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap()[0])
                .collect();
            (to(y), to(x.grad(&grads).unwrap()), learned)
        };
        let (fused, composed) = (run(true), run(false));
        let close = |a: &[f32], b: &[f32], what: &str, tol: f32| {
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                assert!((u - v).abs() <= tol * v.abs().max(1.0), "{source}: {what}[{i}] {u} vs {v}");
            }
        };
        close(&fused.0, &composed.0, "value", 1e-5);
        close(&fused.1, &composed.1, "grad x", 1e-4);
        close(&fused.2, &composed.2, "grad param", 1e-3);
        assert_eq!(fused.2.len(), params.iter().filter(|p| p.2).count());
    }
}
