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
    /// Infimum and supremum on the grid; infinite where f keeps growing
    /// linearly at the grid's end (f' not decaying).
    pub range: (f64, f64),
    /// E[f(X)] for X ~ N(0, 1): the mean output a layer sees at initialisation.
    pub mean_normal: f64,
    /// |E[f(X)]| < 0.05.
    pub zero_centred: bool,
    pub monotonic: bool,
    pub smooth: bool,
    /// "both", "left", "right" or "no": where f' tends to 0.
    pub saturating: &'static str,
    pub max_derivative: f64,
    pub derivative_at_0: f64,
}

pub fn measure(kind: ActivationKind, device: &Device) -> Properties {
    let n = (2.0 * LIMIT / STEP).round() as usize;
    let xs: Vec<f32> = (0..=n).map(|i| -LIMIT + STEP * i as f32).collect();
    let (f, d) = evaluate(kind, &xs, device);
    let (f, d): (Vec<f64>, Vec<f64>) = (f.iter().map(|&v| v as f64).collect(), d.iter().map(|&v| v as f64).collect());
    let last = f.len() - 1;
    let zero = n / 2;
    let half = |i: usize| if i == 0 { zero / 2 } else { last - zero / 2 };
    // Unbounded on a side where f' stays away from 0 and does not decay
    // (leaky ReLU's 0.01 is linear growth; softsign's 1/x^2 is convergence).
    let grows = |i: usize| d[i].abs() > 1e-3 && d[i].abs() >= 0.5 * d[half(i)].abs();
    let lower = if grows(0) { f64::NEG_INFINITY } else { f.iter().copied().fold(f64::INFINITY, f64::min) };
    let upper = if grows(last) { f64::INFINITY } else { f.iter().copied().fold(f64::NEG_INFINITY, f64::max) };
    let flat = |v: f64| v.abs() < 1e-3;
    let saturating = match (flat(d[0]), flat(d[last])) {
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

/// A Markdown table of `kinds` (named by their labels).
pub fn table(kinds: &[ActivationKind], device: &Device) -> String {
    let mut out = String::from(
        "| activation | range | zero-centred (E[f(X)], X ~ N(0,1)) | monotonic | smooth | saturating | max f' | f'(0) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for &kind in kinds {
        let p = measure(kind, device);
        let bound = |v: f64| {
            if v.is_infinite() { if v < 0.0 { "-inf".to_string() } else { "inf".to_string() } } else { fixed3(v) }
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| {} | [{}, {}] | {} ({}) | {} | {} | {} | {:.4} | {:.4} |",
            kind.label(),
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

        let silu = measure(ActivationKind::with("silu", &[]).unwrap(), &device);
        assert!(!silu.monotonic && silu.smooth);
        assert!((silu.max_derivative - 1.0998).abs() < 1e-3, "{}", silu.max_derivative);
    }
}
