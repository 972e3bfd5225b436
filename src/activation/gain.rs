//! The gain that keeps a signal's second moment through an activation:
//! with weights drawn `N(0, gain^2 / fan_in)`, a pre-activation of unit
//! variance stays of unit variance one layer on when
//! `gain^2 = 1 / E[f(z)^2]`, `z ~ N(0, 1)` (He et al. 2015, section 2.2,
//! derive it for ReLU: `E[relu(z)^2] = 1/2`, gain sqrt(2)). PyTorch's
//! `nn.init.calculate_gain` tabulates it for a few built-ins; this computes
//! it for any formula, numerically, at the formula's starting values
//! (`init = "auto"` for a formula: model/init.rs).

/// `E[f(z)^2]` for `z ~ N(0, 1)`, from `f`'s values at [`POINTS`]: the
/// trapezoid rule over [-10, 10] in steps of 1/1000 (the normal density
/// beyond 10 is below 1e-22, and a function that grows no faster than a
/// polynomial adds nothing from there).
pub fn second_moment(values: &[f64]) -> f64 {
    let density = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let xs = points();
    let terms: Vec<f64> = xs.iter().zip(values).map(|(&x, &f)| f * f * density(x)).collect();
    terms.windows(2).map(|w| 0.5 * (w[0] + w[1]) * STEP).sum()
}

const STEP: f64 = 1e-3;
const REACH: f64 = 10.0;

/// Where [`second_moment`] wants `f`'s values: -10 to 10 in steps of 1/1000.
pub fn points() -> Vec<f64> {
    let n = (2.0 * REACH / STEP).round() as usize;
    (0..=n).map(|i| -REACH + i as f64 * STEP).collect()
}

/// The gain `1 / sqrt(E[f(z)^2])`; `None` when the moment is not a
/// positive finite number (a function that is 0 wherever the signal is, or
/// not finite somewhere), for which no gain keeps the variance.
pub fn gain(values: &[f64]) -> Option<f64> {
    let moment = second_moment(values);
    (moment.is_finite() && moment > 1e-12).then(|| 1.0 / moment.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_of(f: impl Fn(f64) -> f64) -> f64 {
        gain(&points().into_iter().map(f).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn gains_match_their_closed_forms() {
        // ReLU: E = 1/2 (He et al. 2015), gain sqrt(2); identity: E = 1, gain 1 (LeCun);
        // |x| and x: the same second moment; 2x: gain 1/2.
        for (name, got, want) in [
            ("relu", gain_of(|x| x.max(0.0)), 2f64.sqrt()),
            ("identity", gain_of(|x| x), 1.0),
            ("abs", gain_of(f64::abs), 1.0),
            ("2x", gain_of(|x| 2.0 * x), 0.5),
            // E[x^4] = 3: gain 3^-1/2.
            ("x^2", gain_of(|x| x * x), 1.0 / 3f64.sqrt()),
        ] {
            assert!((got / want - 1.0).abs() < 1e-6, "{name}: {got}, want {want}");
        }
        // tanh: E[tanh(z)^2] = 0.3942 (numerically), gain 1.593, near calculate_gain's 5/3.
        assert!((gain_of(f64::tanh) - 1.5927).abs() < 1e-3, "{}", gain_of(f64::tanh));
        assert_eq!(gain(&vec![0.0; points().len()]), None);
        assert_eq!(gain(&vec![f64::NAN; points().len()]), None);
    }
}
