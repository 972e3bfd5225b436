//! Properties of each built-in activation, measured numerically on a grid
//! through the model's own code path (not taken from the literature), for
//! `actbench activations --properties`.

use std::fmt::Write;

use burn::tensor::Device;

use super::{ActivationKind, evaluate};

/// Grid: [-LIMIT, LIMIT] in steps of STEP.
const LIMIT: f32 = 20.0;
const STEP: f32 = 0.01;

#[derive(Debug, Clone, PartialEq)]
pub struct Properties {
    pub name: &'static str,
    /// Infimum and supremum over the grid and far out on each side;
    /// infinite where f grows without bound there (see [`side`]).
    pub range: (f64, f64),
    /// E[f(X)] for X ~ N(0, 1): the mean output a layer sees at initialisation.
    pub mean_normal: f64,
    /// |E[f(X)]| < 0.05.
    pub zero_centred: bool,
    pub monotonic: bool,
    pub smooth: bool,
    /// "both", "left", "right" or "no": where f' tends to 0 while f stays bounded.
    pub saturating: &'static str,
    pub max_derivative: f64,
    pub derivative_at_0: f64,
}

pub fn measure(kind: ActivationKind, device: &Device) -> Properties {
    let n = (2.0 * LIMIT / STEP).round() as usize;
    let xs: Vec<f32> = (0..=n).map(|i| -LIMIT + STEP * i as f32).collect();
    let (f, d) = evaluate(kind, &xs, device);
    let (f, d): (Vec<f64>, Vec<f64>) = (f.iter().map(|&v| v as f64).collect(), d.iter().map(|&v| v as f64).collect());
    let zero = n / 2;
    // Each side's behaviour far out, not one grid point: f and f' at
    // 20 * 2^k for k = 0..TAIL (out to about 82,000).
    let tail: Vec<f32> = (0..TAIL).map(|k| LIMIT * (1u32 << k) as f32).collect();
    let far: Vec<f32> = tail.iter().map(|t| -t).chain(tail.iter().copied()).collect();
    let (tf, td) = evaluate(kind, &far, device);
    let (left, right) = (side(&tf[..TAIL], &td[..TAIL]), side(&tf[TAIL..], &td[TAIL..]));
    let all = || f.iter().chain(&left.values).chain(&right.values).copied();
    let lower = if left.down || right.down { f64::NEG_INFINITY } else { all().fold(f64::INFINITY, f64::min) };
    let upper = if left.up || right.up { f64::INFINITY } else { all().fold(f64::NEG_INFINITY, f64::max) };
    let saturating = match (left.saturates, right.saturates) {
        (true, true) => "both",
        (true, false) => "left",
        (false, true) => "right",
        (false, false) => "no",
    };
    let max_derivative = d.iter().copied().fold(0.0, |m: f64, v| m.max(v.abs()));
    // Riemann sum of f(x) * phi(x) over the grid (phi negligible beyond |x| = 20).
    let mean_normal: f64 = xs
        .iter()
        .zip(&f)
        .map(|(&x, &y)| y * (-0.5 * (x as f64).powi(2)).exp() / (2.0 * std::f64::consts::PI).sqrt() * STEP as f64)
        .sum();
    // Continuous (no jump in f beyond what its slope allows) and no jump in f'.
    let continuous = f.windows(2).all(|w| (w[1] - w[0]).abs() <= 2.0 * (max_derivative + 1.0) * STEP as f64);
    Properties {
        name: kind.name(),
        range: (lower, upper),
        mean_normal,
        zero_centred: mean_normal.abs() < 0.05,
        monotonic: f.windows(2).all(|w| w[1] >= w[0] - 1e-6),
        // A jump of the derivative between neighbouring points is a kink.
        smooth: continuous && d.windows(2).all(|w| (w[1] - w[0]).abs() < 0.05),
        saturating,
        max_derivative,
        derivative_at_0: d[zero],
    }
}

/// A Markdown table of `shown`: each activation, in the row named by its label.
pub fn table(shown: &[(String, ActivationKind)], device: &Device) -> String {
    let mut out = String::from(
        "| activation | range | zero-centred (E[f(X)], X ~ N(0,1)) | monotonic | smooth | saturating | max f' | f'(0) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (label, kind) in shown {
        let p = measure(*kind, device);
        let bound = |v: f64| {
            if v.is_infinite() { if v < 0.0 { "-inf".to_string() } else { "inf".to_string() } } else { fixed3(v) }
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| {} | [{}, {}] | {} ({}) | {} | {} | {} | {:.4} | {:.4} |",
            label,
            bound(p.range.0),
            bound(p.range.1),
            yes(p.zero_centred),
            fixed3(p.mean_normal),
            yes(p.monotonic),
            yes(p.smooth),
            p.saturating,
            p.max_derivative,
            p.derivative_at_0
        );
    }
    out
}

/// Three decimals, without a sign on values that round to zero.
fn fixed3(v: f64) -> String {
    if v.abs() < 5e-4 { "0.000".into() } else { format!("{v:.3}") }
}

/// Tail points per side (20 * 2^k, k < TAIL).
const TAIL: usize = 13;

/// One side of a function far out: its values there, whether it grows
/// without bound upwards or downwards, whether its derivative tends to 0
/// while it stays bounded.
struct Side {
    values: Vec<f64>,
    up: bool,
    down: bool,
    saturates: bool,
}

/// From f and f' at 20 * 2^k, k = 0..TAIL, outwards. Unbounded upwards
/// (downwards): f over the outer half of the points beyond (below) 1.05
/// times plus 0.01 the largest |f| over the inner half. That holds for
/// linear, square-root and logarithmic growth and for growth with
/// oscillation (x * (1 + sin(x))), and not for convergence (softsign's
/// 1 - 1/x) or a bounded oscillation (sin). A bounded side saturates when
/// |f'| stays below 1e-3 over its outer half.
fn side(f: &[f32], d: &[f32]) -> Side {
    let values: Vec<f64> = f.iter().map(|&v| v as f64).collect();
    let mid = values.len() / 2;
    let inner = values[..mid].iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let beyond = 1.05 * inner + 0.01;
    let up = values[mid..].iter().any(|v| *v > beyond || *v == f64::INFINITY);
    let down = values[mid..].iter().any(|v| *v < -beyond || *v == f64::NEG_INFINITY);
    let flat = d[mid..].iter().all(|v| v.is_finite() && (*v as f64).abs() < 1e-3);
    Side { values, up, down, saturates: flat && !up && !down }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_properties_are_measured() {
        let device = Device::flex();
        let sigmoid = measure(ActivationKind::with("sigmoid", &[]).unwrap(), &device);
        assert_eq!(sigmoid.saturating, "both");
        assert!(sigmoid.monotonic && sigmoid.smooth && !sigmoid.zero_centred);
        assert!((sigmoid.max_derivative - 0.25).abs() < 1e-4);
        assert!(sigmoid.range.0 >= 0.0 && sigmoid.range.1 <= 1.0);

        let relu = measure(ActivationKind::with("relu", &[]).unwrap(), &device);
        assert!(!relu.smooth && relu.monotonic);
        assert_eq!(relu.saturating, "left");
        assert_eq!(relu.range.1, f64::INFINITY);
        assert_eq!(relu.derivative_at_0, 0.0);

        let leaky = measure(ActivationKind::with("leaky_relu", &[("slope", 0.01)]).unwrap(), &device);
        assert_eq!(leaky.range, (f64::NEG_INFINITY, f64::INFINITY));
        assert!(!leaky.zero_centred);
        // E[relu(X)] = 1 / sqrt(2 pi).
        assert!((relu.mean_normal - 0.398_942).abs() < 1e-4, "{}", relu.mean_normal);
        let softsign = measure(ActivationKind::with("softsign", &[]).unwrap(), &device);
        assert!(softsign.range.0 > -1.0 && softsign.range.1 < 1.0);
        let step = measure(ActivationKind::with("step", &[]).unwrap(), &device);
        assert!(!step.smooth);

        let tanh = measure(ActivationKind::with("tanh", &[]).unwrap(), &device);
        assert!(tanh.zero_centred);
        assert!((tanh.derivative_at_0 - 1.0).abs() < 1e-6);

        // Growth far beyond the grid, or a derivative that happens to be 0 at its end, is not saturation.
        let formula = |text: &str| ActivationKind::from_formula(None, text, &[]).unwrap();
        let log = measure(formula("log(1 + abs(x))"), &device);
        assert_eq!((log.range.1, log.saturating), (f64::INFINITY, "no"), "{log:?}");
        let wavy = measure(formula("x * (1 + sin(x))"), &device);
        assert_eq!((wavy.range.1, wavy.saturating), (f64::INFINITY, "no"), "{wavy:?}");
        let sine = measure(formula("sin(x)"), &device);
        assert!(sine.range.0 >= -1.0 && sine.range.1 <= 1.0 && sine.saturating == "no", "{sine:?}");
        let elu = measure(ActivationKind::with("elu", &[]).unwrap(), &device);
        assert_eq!((elu.range.1, elu.saturating), (f64::INFINITY, "left"), "{elu:?}");
        assert!(elu.range.0 >= -1.0, "{elu:?}");

        let silu = measure(ActivationKind::with("silu", &[]).unwrap(), &device);
        assert!(!silu.monotonic && silu.smooth);
        assert!((silu.max_derivative - 1.0998).abs() < 1e-3, "{}", silu.max_derivative);
    }
}
