//! Fused element-wise kernels for the smooth activations: one pass over the
//! input for the value, one pass over (input, upstream gradient) for the
//! backward, in branch-free f32 code that the compiler vectorises (and, on
//! x86-64 with AVX2 + FMA detected at run time, compiles 8 lanes wide).
//!
//! Why: Burn's flex backend evaluates `exp`, `erf` and `tanh` with scalar
//! libm calls and autodiff builds each activation from several ops, each a
//! pass over memory with its own allocation; GELU cost 3x the time of the
//! whole ReLU network (bench w3: 25,000 against 70,000 samples/s, 20% of the
//! profile in `erff`/`expf`).
//!
//! Accuracy (checked against f64 in the tests below and against PyTorch in
//! tests/it/activations_reference.rs): `exp` is Cephes' `expf` polynomial (about
//! 2 ulp); `erf` is Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7), the
//! same formula as PyTorch's vectorised CPU `erf` (aten/src/ATen/cpu/vec/
//! vec256/vec256_float.h, `Vectorized<float>::erf`).

use super::simd::{Path, on_path, widest_path};

/// A smooth activation with a fused kernel, with its parameters resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pointwise {
    /// `max(0, x)`, derivative 0 at 0 (torch.nn.ReLU).
    Relu,
    Sigmoid,
    Tanh,
    /// `0.5 x (1 + erf(x / sqrt 2))`.
    Gelu,
    /// PyTorch's `gelu(approximate="tanh")`.
    GeluTanh,
    /// `x sigmoid(beta x)`.
    Silu {
        beta: f32,
    },
    /// `scale x` for `x > 0`, `scale alpha (exp(x / width) - 1)` otherwise:
    /// ELU (width 1, scale 1), SELU, CELU (width alpha).
    ExpLinear {
        alpha: f32,
        scale: f32,
        width: f32,
    },
}

/// Writes `f(x)` into `out`.
pub fn forward(op: Pointwise, x: &[f32], out: &mut [f32]) {
    forward_on(widest_path(), op, x, out)
}

/// Writes `grad * f'(x)` into `out`.
pub fn backward(op: Pointwise, x: &[f32], grad: &[f32], out: &mut [f32]) {
    backward_on(widest_path(), op, x, grad, out)
}

/// Writes `f(x)` into `out` and `f'(x)` into `slope` in one pass (the
/// formula op's backward wants both; the exp is shared).
pub fn value_and_slope(op: Pointwise, x: &[f32], out: &mut [f32], slope: &mut [f32]) {
    assert!(x.len() == out.len() && x.len() == slope.len());
    on_path!(widest_path(), both_portable, (op: Pointwise, x: &[f32], out: &mut [f32], slope: &mut [f32]))
}

/// The value as `forward_portable` and the slope as `backward_portable` computes them, bit for bit.
#[inline(always)]
fn both_portable(op: Pointwise, x: &[f32], out: &mut [f32], slope: &mut [f32]) {
    match op {
        Pointwise::Relu => {
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                (*o, *d) = relu(v);
            }
        }
        Pointwise::Sigmoid => {
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                let s = sigmoid(v);
                (*o, *d) = (s, s * (1.0 - s));
            }
        }
        // Two passes: the value and the slope use different exps (see backward_portable).
        Pointwise::Tanh => {
            map(x, out, tanh);
            for (d, &v) in slope.iter_mut().zip(x) {
                let s = sigmoid(-2.0 * v.abs());
                *d = 4.0 * s * (1.0 - s);
            }
        }
        Pointwise::Gelu => {
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                (*o, *d) = gelu(v);
            }
        }
        Pointwise::GeluTanh => {
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                (*o, *d) = gelu_tanh(v);
            }
        }
        Pointwise::Silu { beta } => {
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                let s = sigmoid(beta * v);
                (*o, *d) = (v * s, s + beta * v * s * (1.0 - s));
            }
        }
        Pointwise::ExpLinear { alpha, scale, width } => {
            let inv = 1.0 / width;
            for ((o, d), &v) in out.iter_mut().zip(slope.iter_mut()).zip(x) {
                (*o, *d) = exp_linear(v, alpha, scale, inv);
            }
        }
    }
}

/// The same loops compiled for each path: every path computes the same IEEE
/// operations in the same order (no fused multiply-add is introduced by the
/// compiler), so they agree bit for bit (tested).
fn forward_on(path: Path, op: Pointwise, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len());
    on_path!(path, forward_portable, (op: Pointwise, x: &[f32], out: &mut [f32]))
}

fn backward_on(path: Path, op: Pointwise, x: &[f32], grad: &[f32], out: &mut [f32]) {
    assert!(x.len() == grad.len() && x.len() == out.len());
    on_path!(path, backward_portable, (op: Pointwise, x: &[f32], grad: &[f32], out: &mut [f32]))
}

/// One loop per kind, so each loop body is straight-line code the compiler vectorises.
#[inline(always)]
fn forward_portable(op: Pointwise, x: &[f32], out: &mut [f32]) {
    match op {
        Pointwise::Relu => map(x, out, |v| relu(v).0),
        Pointwise::Sigmoid => map(x, out, sigmoid),
        Pointwise::Tanh => map(x, out, tanh),
        Pointwise::Gelu => map(x, out, |v| gelu(v).0),
        Pointwise::GeluTanh => map(x, out, |v| gelu_tanh(v).0),
        Pointwise::Silu { beta } => map(x, out, |v| v * sigmoid(beta * v)),
        Pointwise::ExpLinear { alpha, scale, width } => {
            let inv = 1.0 / width;
            map(x, out, |v| exp_linear(v, alpha, scale, inv).0)
        }
    }
}

#[inline(always)]
fn backward_portable(op: Pointwise, x: &[f32], grad: &[f32], out: &mut [f32]) {
    match op {
        Pointwise::Relu => map2(x, grad, out, |v| relu(v).1),
        Pointwise::Sigmoid => map2(x, grad, out, |v| {
            let s = sigmoid(v);
            s * (1.0 - s)
        }),
        // 1 - tanh^2 = 4 s (1 - s) with s = sigmoid(-2|x|): no cancellation when |tanh| is near 1.
        Pointwise::Tanh => map2(x, grad, out, |v| {
            let s = sigmoid(-2.0 * v.abs());
            4.0 * s * (1.0 - s)
        }),
        Pointwise::Gelu => map2(x, grad, out, |v| gelu(v).1),
        Pointwise::GeluTanh => map2(x, grad, out, |v| gelu_tanh(v).1),
        Pointwise::Silu { beta } => map2(x, grad, out, |v| {
            let s = sigmoid(beta * v);
            s + beta * v * s * (1.0 - s)
        }),
        Pointwise::ExpLinear { alpha, scale, width } => {
            let inv = 1.0 / width;
            map2(x, grad, out, |v| exp_linear(v, alpha, scale, inv).1)
        }
    }
}

/// ReLU's value and slope (0 at 0 and for NaN, as the mask `x > 0`).
#[inline(always)]
fn relu(v: f32) -> (f32, f32) {
    if v > 0.0 { (v, 1.0) } else { (0.0, 0.0) }
}

#[inline(always)]
fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[inline(always)]
fn map2(x: &[f32], grad: &[f32], out: &mut [f32], derivative: impl Fn(f32) -> f32) {
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(grad) {
        *o = g * derivative(v);
    }
}

/// `exp(x)`, Cephes `expf`: x = n ln2 + r with |r| <= ln2/2, a degree-5
/// polynomial for e^r, and 2^n built in the exponent bits. Inputs are clamped
/// to [-87.3, 88.0] so that 2^n stays a normal float (e^-87.3 = 1.2e-38 stands
/// in for anything smaller; e^88 = 1.7e38 for anything larger).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5 * 2^23: adding it rounds to an integer and leaves that integer in
    // the low mantissa bits, so no float-to-int conversion is needed.
    const ROUND: f32 = 12_582_912.0;
    // ln 2 split in two (Cephes): the first part has few mantissa bits, so n * LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5; // Cephes' 5.0000001201e-1, which is 0.5 in f32
    let y = p * (r * r) + r + 1.0;
    // n + 127 in the exponent field; `shifted`'s bits are 0x4B40_0000 + n.
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23);
    y * scale
}

/// `1 / (1 + e^-x)`, from e^-|x| so that nothing overflows.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

/// tanh: a Taylor polynomial below |x| = 0.4 (where 1 - e^-2|x| would lose
/// relative precision; the first omitted term is below 1e-8 relative), and
/// (1 - e^-2|x|) / (1 + e^-2|x|) above.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = a * a;
    // Coefficients of tanh's series: 1, -1/3, 2/15, -17/315, 62/2835, -1382/155925, 21844/6081075.
    let series = a
        * (1.0
            + z * (-1.0 / 3.0
                + z * (2.0 / 15.0
                    + z * (-17.0 / 315.0
                        + z * (62.0 / 2835.0 + z * (-1382.0 / 155_925.0 + z * (21844.0 / 6_081_075.0)))))));
    let e = exp(-2.0 * a);
    let ratio = (1.0 - e) / (1.0 + e);
    let t = if a < 0.4 { series } else { ratio };
    t.copysign(x)
}

/// erf(x), given `e = exp(-x^2)` (GELU has it already): Abramowitz & Stegun
/// 7.1.26 for |x| >= 0.5, and below it erf's Maclaurin series to x^11 (the
/// first omitted term is 1.5e-8 at 0.5), where 7.1.26 loses relative precision.
#[inline(always)]
fn erf_with(x: f32, e: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let r = 1.061_405_4;
    let r = r * t - 1.453_152;
    let r = r * t + 1.421_413_8;
    let r = r * t - 0.284_496_74;
    let r = r * t + 0.254_829_6;
    let tail = 1.0 - r * t * e;
    // 2/sqrt(pi) * (a - a^3/3 + a^5/10 - a^7/42 + a^9/216 - a^11/1320)
    let z = a * a;
    let series = std::f32::consts::FRAC_2_SQRT_PI
        * a
        * (1.0 + z * (-1.0 / 3.0 + z * (1.0 / 10.0 + z * (-1.0 / 42.0 + z * (1.0 / 216.0 + z * (-1.0 / 1320.0))))));
    let y = if a < 0.5 { series } else { tail };
    y.copysign(x)
}

/// erf(x), see `erf_with`.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    erf_with(x, exp(-x * x))
}

/// GELU's value and derivative: 0.5 x (1 + erf(x/√2)) and
/// 0.5 (1 + erf(x/√2)) + x φ(x), sharing one exp(-x²/2).
#[inline(always)]
fn gelu(x: f32) -> (f32, f32) {
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    let e = exp(-0.5 * x * x);
    let cdf = 0.5 * (1.0 + erf_with(x * std::f32::consts::FRAC_1_SQRT_2, e));
    (x * cdf, cdf + x * FRAC_1_SQRT_2PI * e)
}

/// Tanh-approximated GELU's value and derivative. PyTorch's formula is
/// 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3); since
/// 0.5 (1 + tanh z) = sigmoid(2z), this computes x sigmoid(2z), which keeps
/// its relative precision in the negative tail where 1 + tanh(z) cancels
/// (at x = -4.6 the tanh form is 5% off in f32).
#[inline(always)]
fn gelu_tanh(x: f32) -> (f32, f32) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const C: f32 = 0.044_715;
    let x2 = x * x;
    let s = sigmoid(2.0 * SQRT_2_OVER_PI * (x + C * x2 * x));
    // d/dx x s(2z) = s + x * 2 s (1 - s) * dz/dx
    let derivative = s + x * 2.0 * s * (1.0 - s) * SQRT_2_OVER_PI * (1.0 + 3.0 * C * x2);
    (x * s, derivative)
}

/// ELU-family value and derivative; at 0 the negative branch applies
/// (derivative `scale * alpha / width`, PyTorch's convention).
#[inline(always)]
fn exp_linear(x: f32, alpha: f32, scale: f32, inv_width: f32) -> (f32, f32) {
    let e = exp(x.min(0.0) * inv_width);
    let negative = x <= 0.0;
    let value = if negative { scale * alpha * (e - 1.0) } else { scale * x };
    let derivative = if negative { scale * alpha * inv_width * e } else { scale };
    (value, derivative)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -20..20 in steps of 1/64, plus the edges of the branches.
    fn points() -> Vec<f32> {
        let mut p: Vec<f32> = (-1280..=1280).map(|i| i as f32 / 64.0).collect();
        p.extend([0.399_999_98, 0.4, -0.4, 1e-6, -1e-6, 1e-30, 87.0, -87.0, 100.0, -100.0]);
        p
    }

    fn close(got: f32, want: f64, rel: f64, abs: f64) -> bool {
        (got as f64 - want).abs() <= abs + rel * want.abs()
    }

    #[test]
    fn exp_is_within_a_few_ulp_of_f64() {
        for x in (-8700..=8800).map(|i| i as f32 / 100.0) {
            let want = (x as f64).exp();
            assert!(close(exp(x), want, 3e-7, 0.0), "exp({x}) = {} want {want}", exp(x));
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) < 1.3e-38 && exp(1000.0) > 1e38);
    }

    #[test]
    fn sigmoid_tanh_erf_match_f64() {
        let erf64 = |x: f64| statrs::function::erf::erf(x);
        for x in points() {
            let xd = x as f64;
            let s = 1.0 / (1.0 + (-xd).exp());
            assert!(close(sigmoid(x), s, 4e-7, 1e-37), "sigmoid({x})");
            assert!(close(tanh(x), xd.tanh(), 4e-7, 1e-37), "tanh({x}) = {} want {}", tanh(x), xd.tanh());
            assert!(close(erf(x), erf64(xd), 0.0, 4e-7), "erf({x}) = {} want {}", erf(x), erf64(xd));
        }
    }

    /// Every kind's value and derivative against f64 formulas, through the
    /// public slice functions (both the vectorised and the plain path).
    #[test]
    fn kernels_match_f64_formulas() {
        let x = points();
        let erf64 = |x: f64| statrs::function::erf::erf(x);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        type Reference = Box<dyn Fn(f64) -> (f64, f64)>;
        let cases: Vec<(Pointwise, Reference)> = vec![
            (Pointwise::Relu, Box::new(|x: f64| if x > 0.0 { (x, 1.0) } else { (0.0, 0.0) })),
            (Pointwise::Sigmoid, Box::new(move |x| (sig(x), sig(x) * (1.0 - sig(x))))),
            (Pointwise::Tanh, Box::new(|x: f64| (x.tanh(), 1.0 - x.tanh().powi(2)))),
            (
                Pointwise::Gelu,
                Box::new(move |x: f64| {
                    let cdf = 0.5 * (1.0 + erf64(x / 2f64.sqrt()));
                    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                    (x * cdf, cdf + x * pdf)
                }),
            ),
            (
                Pointwise::GeluTanh,
                Box::new(|x: f64| {
                    let k = (2.0 / std::f64::consts::PI).sqrt();
                    let t = (k * (x + 0.044715 * x.powi(3))).tanh();
                    (
                        0.5 * x * (1.0 + t),
                        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x),
                    )
                }),
            ),
            (
                Pointwise::Silu { beta: 1.5 },
                Box::new(move |x: f64| {
                    (x * sig(1.5 * x), sig(1.5 * x) + 1.5 * x * sig(1.5 * x) * (1.0 - sig(1.5 * x)))
                }),
            ),
            (
                Pointwise::ExpLinear { alpha: 1.673_263_2, scale: 1.050_701, width: 1.0 },
                Box::new(|x: f64| {
                    let (a, s) = (1.673_263_2f32 as f64, 1.050_701f32 as f64);
                    if x > 0.0 { (s * x, s) } else { (s * a * (x.exp() - 1.0), s * a * x.exp()) }
                }),
            ),
            (
                Pointwise::ExpLinear { alpha: 2.0, scale: 1.0, width: 2.0 },
                Box::new(|x: f64| if x > 0.0 { (x, 1.0) } else { (2.0 * ((x / 2.0).exp() - 1.0), (x / 2.0).exp()) }),
            ),
        ];
        let ones = vec![1.0f32; x.len()];
        for (op, reference) in cases {
            let (mut value, mut derivative) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            forward(op, &x, &mut value);
            backward(op, &x, &ones, &mut derivative);
            let (mut plain_value, mut plain_derivative) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            forward_portable(op, &x, &mut plain_value);
            backward_portable(op, &x, &ones, &mut plain_derivative);
            for i in 0..x.len() {
                let (v, d) = reference(x[i] as f64);
                // Relative 1e-6 plus absolute 1e-6 (erf's 1.5e-7 times |x| for GELU).
                assert!(close(value[i], v, 1e-6, 1e-6), "{op:?} value at {}: {} want {v}", x[i], value[i]);
                assert!(
                    close(derivative[i], d, 1e-6, 1e-6),
                    "{op:?} derivative at {}: {} want {d}",
                    x[i],
                    derivative[i]
                );
                assert!(
                    (value[i] - plain_value[i]).abs() <= 1e-6 * value[i].abs().max(1.0),
                    "{op:?} paths differ at {}",
                    x[i]
                );
                assert!((derivative[i] - plain_derivative[i]).abs() <= 1e-6 * derivative[i].abs().max(1.0));
            }
        }
    }

    /// Every code path this CPU has (AVX-512, AVX2, portable) gives the same
    /// bits for every kind, on the test points plus a tail that is not a
    /// multiple of any vector width.
    #[test]
    fn code_paths_agree_bit_for_bit() {
        let mut x = points();
        x.extend((0..37).map(|i| i as f32 * 0.37 - 6.0));
        let grad: Vec<f32> = (0..x.len()).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let ops = [
            Pointwise::Relu,
            Pointwise::Sigmoid,
            Pointwise::Tanh,
            Pointwise::Gelu,
            Pointwise::GeluTanh,
            Pointwise::Silu { beta: 1.5 },
            Pointwise::ExpLinear { alpha: 1.673_263_2, scale: 1.050_701, width: 1.0 },
            Pointwise::ExpLinear { alpha: 2.0, scale: 1.0, width: 2.0 },
        ];
        let paths = crate::fused::simd::paths_here();
        for op in ops {
            let run = |path: Path| {
                let (mut value, mut derivative) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
                forward_on(path, op, &x, &mut value);
                backward_on(path, op, &x, &grad, &mut derivative);
                (
                    value.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    derivative.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                )
            };
            let reference = run(Path::Portable);
            for &path in &paths[1..] {
                assert!(run(path) == reference, "{op:?}: {path:?} differs from the portable path");
            }
        }
    }

    /// The one-pass value and slope are the separate passes' bits.
    #[test]
    fn value_and_slope_matches_forward_and_backward() {
        let mut x = points();
        x.extend((0..37).map(|i| i as f32 * 0.37 - 6.0));
        let ones = vec![1.0f32; x.len()];
        let ops = [
            Pointwise::Sigmoid,
            Pointwise::Tanh,
            Pointwise::Gelu,
            Pointwise::GeluTanh,
            Pointwise::Silu { beta: 1.5 },
            Pointwise::ExpLinear { alpha: 1.673_263_2, scale: 1.050_701, width: 1.0 },
        ];
        for op in ops {
            let (mut value, mut slope) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
            value_and_slope(op, &x, &mut value, &mut slope);
            let (mut want_value, mut want_slope) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
            forward(op, &x, &mut want_value);
            backward(op, &x, &ones, &mut want_slope);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert!(bits(&value) == bits(&want_value), "{op:?}: value differs");
            assert!(bits(&slope) == bits(&want_slope), "{op:?}: slope differs");
        }
    }

    #[test]
    fn backward_scales_by_the_upstream_gradient() {
        let x = [-1.0f32, 0.5, 2.0];
        let grad = [2.0f32, -3.0, 0.0];
        let (mut unit, mut scaled) = ([0.0; 3], [0.0; 3]);
        backward(Pointwise::Tanh, &x, &[1.0; 3], &mut unit);
        backward(Pointwise::Tanh, &x, &grad, &mut scaled);
        for i in 0..3 {
            assert_eq!(scaled[i], unit[i] * grad[i]);
        }
    }
}
