//! Properties of each built-in activation, measured numerically on a grid
//! through the model's own code path (not taken from the literature), for
//! `actbench activations --properties`.

use std::fmt::Write;

use burn::tensor::Device;

use super::{ActivationKind, catalog, evaluate};

/// Grid: [-LIMIT, LIMIT] in steps of STEP.
const LIMIT: f32 = 20.0;
const STEP: f32 = 0.01;

#[derive(Debug, Clone, PartialEq)]
pub struct Properties {
    pub name: &'static str,
    /// Infimum and supremum; infinite where f keeps growing at the grid's end.
    pub range: (f64, f64),
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
    // Still changing by more than 1 over the last 5 units: unbounded on that side.
    let ahead = (5.0 / STEP) as usize;
    let lower = if f[ahead] - f[0] > 1.0 { f64::NEG_INFINITY } else { f.iter().copied().fold(f64::INFINITY, f64::min) };
    let upper = if f[last] - f[last - ahead] > 1.0 { f64::INFINITY } else { f.iter().copied().fold(f64::NEG_INFINITY, f64::max) };
    let zero = n / 2;
    let flat = |v: f64| v.abs() < 1e-3;
    let saturating = match (flat(d[0]), flat(d[last])) {
        (true, true) => "both",
        (true, false) => "left",
        (false, true) => "right",
        (false, false) => "no",
    };
    Properties {
        name: kind.name(),
        range: (lower, upper),
        zero_centred: f[zero].abs() < 1e-6 && lower < 0.0 && upper > 0.0,
        monotonic: f.windows(2).all(|w| w[1] >= w[0] - 1e-6),
        // A jump of the derivative between neighbouring points is a kink.
        smooth: d.windows(2).all(|w| (w[1] - w[0]).abs() < 0.05),
        saturating,
        max_derivative: d.iter().copied().fold(0.0, |m, v| m.max(v.abs())),
        derivative_at_0: d[zero],
    }
}

/// A Markdown table of every built-in activation.
pub fn table(device: &Device) -> String {
    let mut out = String::from(
        "| activation | range | zero-centred | monotonic | smooth | saturating | max f' | f'(0) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for info in catalog::CATALOG {
        let p = measure(ActivationKind::default_for(info), device);
        let bound = |v: f64| {
            if v.is_infinite() { if v < 0.0 { "-inf".to_string() } else { "inf".to_string() } } else { format!("{v:.3}") }
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| {} | [{}, {}] | {} | {} | {} | {} | {:.4} | {:.4} |",
            p.name,
            bound(p.range.0),
            bound(p.range.1),
            yes(p.zero_centred),
            yes(p.monotonic),
            yes(p.smooth),
            p.saturating,
            p.max_derivative,
            p.derivative_at_0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_properties_are_measured() {
        let device = Device::flex();
        let sigmoid = measure(ActivationKind::Sigmoid, &device);
        assert_eq!(sigmoid.saturating, "both");
        assert!(sigmoid.monotonic && sigmoid.smooth && !sigmoid.zero_centred);
        assert!((sigmoid.max_derivative - 0.25).abs() < 1e-4);
        assert!(sigmoid.range.0 >= 0.0 && sigmoid.range.1 <= 1.0);

        let relu = measure(ActivationKind::Relu, &device);
        assert!(!relu.smooth && relu.monotonic);
        assert_eq!(relu.saturating, "left");
        assert_eq!(relu.range.1, f64::INFINITY);
        assert_eq!(relu.derivative_at_0, 0.0);

        let tanh = measure(ActivationKind::Tanh, &device);
        assert!(tanh.zero_centred);
        assert!((tanh.derivative_at_0 - 1.0).abs() < 1e-6);

        let silu = measure(ActivationKind::Silu { beta: 1.0 }, &device);
        assert!(!silu.monotonic && silu.smooth);
        assert!((silu.max_derivative - 1.0998).abs() < 1e-3, "{}", silu.max_derivative);
    }
}
