//! A formula activation as one fused op on flex: the formula compiled into a
//! short program (activation/formula/compile.rs), run over the input in
//! chunks that stay in cache, one register per node. The forward pass is one
//! pass; the backward pass runs the program once more with forward-mode
//! tangents (d/dx and d/d of each learned parameter) and gives `grad * f'(x)`
//! and the learned parameters' gradients (sums over all elements) together.
//! Autodiff's chain of element-wise ops is one pass over memory per node
//! forward and several backward; this is what brings a typed formula near
//! a built-in's fused kernel.
//!
//! The kinks follow the composed ops of `activation::formula` (the reference
//! the tests compare against): a `select` takes the value and the tangents
//! of the branch it chooses, `abs` has derivative 0 at 0.

use std::cell::RefCell;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::kernels::{self, Pointwise};
use super::simd::{Path, on_path, widest_path};
use super::{contiguous, f32_tensor, values};

/// An element-wise function of one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    Neg,
    Exp,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Sin,
    Cos,
    Tan,
    Atan,
    Sinh,
    Asinh,
    Erf,
    /// `a ^ c` for a constant `c`.
    PowConst(f32),
    /// PyTorch's softplus at its defaults: `log(1 + exp(x))`, `x` above 20.
    Softplus,
    /// A built-in activation's fused kernel.
    Kernel(Pointwise),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
}

/// One instruction; its result is the register of its own index, its
/// operands registers of earlier instructions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ins {
    Const(f32),
    X,
    /// The learned parameter at this index of the op's parameter tensor.
    Learned(usize),
    Unary(Unary, usize),
    Binary(Binary, usize, usize),
    /// `if l CMP r { a } else { b }`.
    Select(Compare, usize, usize, usize, usize),
}

/// A compiled formula: its instructions (the last is the output) and how
/// many learned parameters it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub code: Vec<Ins>,
    pub learned: usize,
}

#[backend_extension(Flex, Autodiff)]
pub trait FusedFormula: Backend {
    /// The program over `x`; `params` holds the learned parameters (at least one value).
    fn fused_formula(x: FloatTensor<Self>, params: FloatTensor<Self>, program: &'static Program) -> FloatTensor<Self>;
}

/// The backward kernel, called by the autodiff implementation on the inner backend.
pub trait FusedFormulaBackward: Backend {
    /// `(grad * f'(x), sum(grad * df/dp))`.
    fn fused_formula_backward(
        x: FloatTensor<Self>,
        params: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        program: &'static Program,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `program` over `x` through the fused op; call only where `super::on_flex_f32(&x)`.
/// `params` are the learned values (shape [max(1, learned)]).
pub fn apply<const D: usize>(x: Tensor<D>, params: Tensor<1>, program: &'static Program) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::fused_formula(x.into_dispatch(), params.into_dispatch(), program))
}

/// Elements per chunk: the registers of a chunk stay in L1/L2.
const CHUNK: usize = 1024;

/// What a register's tangent in one direction is, known from the program
/// alone: most are zero (a constant, or x in a parameter's direction), and
/// x's own is one, so neither is filled nor multiplied.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tan {
    Zero,
    One,
    Dense,
}

/// Per register and direction (x, then each learned parameter).
fn tangent_kinds(program: &Program) -> Vec<Vec<Tan>> {
    let dirs = 1 + program.learned;
    let mut kinds: Vec<Vec<Tan>> = Vec::with_capacity(program.code.len());
    for ins in &program.code {
        let dense_if = |any: bool| if any { Tan::Dense } else { Tan::Zero };
        let row = (0..dirs)
            .map(|d| match *ins {
                Ins::Const(_) => Tan::Zero,
                Ins::X => {
                    if d == 0 {
                        Tan::One
                    } else {
                        Tan::Zero
                    }
                }
                Ins::Learned(j) => {
                    if d == j + 1 {
                        Tan::One
                    } else {
                        Tan::Zero
                    }
                }
                Ins::Unary(_, a) => dense_if(kinds[a][d] != Tan::Zero),
                Ins::Binary(_, a, b) | Ins::Select(_, _, _, a, b) => {
                    dense_if(kinds[a][d] != Tan::Zero || kinds[b][d] != Tan::Zero)
                }
            })
            .collect();
        kinds.push(row);
    }
    kinds
}

/// The registers of one chunk: values, and with `tangents`, d/dx then d/dp_j
/// of each (filled only where [`Tan::Dense`]); and scratch space, so a chunk
/// allocates nothing once warm.
struct Registers {
    values: Vec<Vec<f32>>,
    /// Per register, per direction (x, then each learned parameter).
    tangents: Vec<Vec<Vec<f32>>>,
    kinds: Vec<Vec<Tan>>,
    slope: Vec<f32>,
    ones: Vec<f32>,
    zeros: Vec<f32>,
}

fn registers(program: &Program) -> Registers {
    let n = program.code.len();
    Registers {
        values: vec![Vec::new(); n],
        tangents: vec![Vec::new(); n],
        kinds: tangent_kinds(program),
        slope: Vec::new(),
        ones: Vec::new(),
        zeros: Vec::new(),
    }
}

/// `out[k] = f(a[k], b[k])`: straight-line loops the compiler vectorises.
#[inline(always)]
fn zip2(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = f(*x, *y);
    }
}

#[inline(always)]
fn zip4(out: &mut [f32], a: &[f32], b: &[f32], c: &[f32], d: &[f32], f: impl Fn(f32, f32, f32, f32) -> f32) {
    for (o, ((a, b), (c, d))) in out.iter_mut().zip(a.iter().zip(b).zip(c.iter().zip(d))) {
        *o = f(*a, *b, *c, *d);
    }
}

/// `out[k] = if l[k] CMP r[k] { a[k] } else { b[k] }`, one loop per comparison.
#[inline(always)]
fn select(cmp: Compare, l: &[f32], r: &[f32], a: &[f32], b: &[f32], out: &mut [f32]) {
    match cmp {
        Compare::Lt => zip4(out, l, r, a, b, |l, r, a, b| if l < r { a } else { b }),
        Compare::Le => zip4(out, l, r, a, b, |l, r, a, b| if l <= r { a } else { b }),
        Compare::Gt => zip4(out, l, r, a, b, |l, r, a, b| if l > r { a } else { b }),
        Compare::Ge => zip4(out, l, r, a, b, |l, r, a, b| if l >= r { a } else { b }),
    }
}

/// The program over one chunk `x`: every register's value, and with
/// `with_tangents` its tangents. Compiled once per code path (see `on_widest`).
#[inline(always)]
fn run_body(program: &Program, params: &[f32], x: &[f32], regs: &mut Registers, with_tangents: bool) {
    let n = x.len();
    let dirs = 1 + program.learned;
    let Registers { values, tangents, kinds, slope, ones, zeros } = regs;
    ones.resize(n, 1.0);
    zeros.resize(n, 0.0);
    slope.resize(n, 0.0);
    for (i, ins) in program.code.iter().enumerate() {
        let (before, rest) = values.split_at_mut(i);
        let out = &mut rest[0];
        out.resize(n, 0.0);
        let out = &mut out[..n];
        let (tbefore, trest) = tangents.split_at_mut(i);
        let tout = &mut trest[0];
        if with_tangents {
            tout.resize_with(dirs, Vec::new);
            for (t, kind) in tout.iter_mut().zip(&kinds[i]) {
                if *kind == Tan::Dense {
                    t.resize(n, 0.0);
                }
            }
        }
        // An operand's tangent in direction d as a slice (zeros and ones from scratch).
        let tan = |r: usize, d: usize| -> &[f32] {
            match kinds[r][d] {
                Tan::Zero => &zeros[..n],
                Tan::One => &ones[..n],
                Tan::Dense => &tbefore[r][d][..n],
            }
        };
        match *ins {
            Ins::Const(c) => out.fill(c),
            Ins::X => out.copy_from_slice(x),
            Ins::Learned(j) => out.fill(params[j]),
            Ins::Unary(f, a) => {
                let av = &before[a][..n];
                let slope = &mut slope[..n];
                unary(f, av, out, with_tangents.then_some(&mut *slope));
                if with_tangents {
                    for (d, t) in tout.iter_mut().enumerate() {
                        match kinds[a][d] {
                            Tan::Zero => {}
                            Tan::One => t[..n].copy_from_slice(slope),
                            Tan::Dense => zip2(&mut t[..n], slope, &tbefore[a][d][..n], |s, t| s * t),
                        }
                    }
                }
            }
            Ins::Binary(op, a, b) => {
                let (av, bv) = (&before[a][..n], &before[b][..n]);
                match op {
                    Binary::Add => zip2(out, av, bv, |x, y| x + y),
                    Binary::Sub => zip2(out, av, bv, |x, y| x - y),
                    Binary::Mul => zip2(out, av, bv, |x, y| x * y),
                    Binary::Div => zip2(out, av, bv, |x, y| x / y),
                    Binary::Pow => zip2(out, av, bv, |x, y| x.powf(y)),
                }
                if with_tangents {
                    let out = &*out;
                    for (d, t) in tout.iter_mut().enumerate() {
                        if kinds[i][d] == Tan::Zero {
                            continue;
                        }
                        let (ka, kb) = (kinds[a][d], kinds[b][d]);
                        let (ta, tb) = (tan(a, d), tan(b, d));
                        let t = &mut t[..n];
                        match (op, ka, kb) {
                            (Binary::Mul, Tan::Zero, Tan::One) => t.copy_from_slice(av),
                            (Binary::Mul, Tan::One, Tan::Zero) => t.copy_from_slice(bv),
                            (Binary::Mul, Tan::Zero, _) => zip2(t, av, tb, |x, y| x * y),
                            (Binary::Mul, _, Tan::Zero) => zip2(t, ta, bv, |x, y| x * y),
                            (Binary::Mul, ..) => zip4(t, ta, bv, av, tb, |ta, b, a, tb| ta * b + a * tb),
                            (Binary::Add, ..) => zip2(t, ta, tb, |x, y| x + y),
                            (Binary::Sub, ..) => zip2(t, ta, tb, |x, y| x - y),
                            (Binary::Div, ..) => zip4(t, ta, bv, av, tb, |ta, b, a, tb| (ta * b - a * tb) / (b * b)),
                            // d(a^b) = a^b (b da / a + ln(a) db); the db term only where it is used.
                            (Binary::Pow, ..) => {
                                for (t, (((a, b), (ta, tb)), y)) in
                                    t.iter_mut().zip(av.iter().zip(bv).zip(ta.iter().zip(tb)).zip(out))
                                {
                                    let base = b * a.powf(b - 1.0) * ta;
                                    *t = if *tb == 0.0 { base } else { base + y * a.ln() * tb };
                                }
                            }
                        }
                    }
                }
            }
            Ins::Select(cmp, l, r, a, b) => {
                let (lv, rv) = (&before[l][..n], &before[r][..n]);
                select(cmp, lv, rv, &before[a][..n], &before[b][..n], out);
                if with_tangents {
                    for (d, t) in tout.iter_mut().enumerate() {
                        if kinds[i][d] != Tan::Zero {
                            select(cmp, lv, rv, tan(a, d), tan(b, d), &mut t[..n]);
                        }
                    }
                }
            }
        }
    }
}

/// `f` over `a` into `out`, and its derivative into `slope` when asked.
#[inline(always)]
fn unary(f: Unary, a: &[f32], out: &mut [f32], slope: Option<&mut [f32]>) {
    if let Unary::Kernel(op) = f {
        match slope {
            Some(slope) => kernels::value_and_slope(op, a, out, slope),
            None => kernels::forward(op, a, out),
        }
        return;
    }
    let map = |out: &mut [f32], g: &dyn Fn(f32) -> f32| out.iter_mut().zip(a).for_each(|(o, x)| *o = g(*x));
    match f {
        Unary::Neg => out.iter_mut().zip(a).for_each(|(o, x)| *o = -x),
        Unary::Exp => out.iter_mut().zip(a).for_each(|(o, x)| *o = kernels::exp(*x)),
        Unary::Log => map(out, &f32::ln),
        Unary::Log1p => map(out, &f32::ln_1p),
        Unary::Sqrt => out.iter_mut().zip(a).for_each(|(o, x)| *o = x.sqrt()),
        Unary::Abs => out.iter_mut().zip(a).for_each(|(o, x)| *o = x.abs()),
        Unary::Sin => map(out, &f32::sin),
        Unary::Cos => map(out, &f32::cos),
        Unary::Tan => map(out, &f32::tan),
        Unary::Atan => map(out, &f32::atan),
        Unary::Sinh => map(out, &f32::sinh),
        Unary::Asinh => map(out, &f32::asinh),
        Unary::Erf => out.iter_mut().zip(a).for_each(|(o, x)| *o = kernels::erf(*x)),
        Unary::PowConst(2.0) => out.iter_mut().zip(a).for_each(|(o, x)| *o = x * x),
        Unary::PowConst(c) => map(out, &|x| x.powf(c)),
        Unary::Softplus => map(out, &|x| if x > 20.0 { x } else { kernels::exp(x).ln_1p() }),
        Unary::Kernel(_) => unreachable!("handled above"),
    }
    let Some(slope) = slope else { return };
    let set = |slope: &mut [f32], g: &dyn Fn(f32, f32) -> f32| {
        slope.iter_mut().zip(a.iter().zip(out.iter())).for_each(|(s, (x, y))| *s = g(*x, *y))
    };
    match f {
        Unary::Neg => slope.fill(-1.0),
        Unary::Exp => slope.copy_from_slice(out),
        Unary::Log => slope.iter_mut().zip(a).for_each(|(s, x)| *s = 1.0 / x),
        Unary::Log1p => slope.iter_mut().zip(a).for_each(|(s, x)| *s = 1.0 / (1.0 + x)),
        Unary::Sqrt => slope.iter_mut().zip(out.iter()).for_each(|(s, y)| *s = 0.5 / y),
        // Derivative 0 at 0, as Burn's abs.
        Unary::Abs => slope.iter_mut().zip(a).for_each(|(s, x)| {
            *s = if *x > 0.0 {
                1.0
            } else if *x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }),
        Unary::Sin => set(slope, &|x, _| x.cos()),
        Unary::Cos => set(slope, &|x, _| -x.sin()),
        Unary::Tan => slope.iter_mut().zip(out.iter()).for_each(|(s, y)| *s = 1.0 + y * y),
        Unary::Atan => slope.iter_mut().zip(a).for_each(|(s, x)| *s = 1.0 / (1.0 + x * x)),
        Unary::Sinh => set(slope, &|x, _| x.cosh()),
        Unary::Asinh => set(slope, &|x, _| 1.0 / (x * x + 1.0).sqrt()),
        Unary::Erf => {
            slope.iter_mut().zip(a).for_each(|(s, x)| *s = std::f32::consts::FRAC_2_SQRT_PI * kernels::exp(-x * x))
        }
        Unary::PowConst(2.0) => slope.iter_mut().zip(a).for_each(|(s, x)| *s = 2.0 * x),
        Unary::PowConst(c) => set(slope, &|x, _| c * x.powf(c - 1.0)),
        Unary::Softplus => {
            slope.iter_mut().zip(a).for_each(|(s, x)| *s = if *x > 20.0 { 1.0 } else { 1.0 / (1.0 + kernels::exp(-x)) })
        }
        Unary::Kernel(_) => unreachable!("handled above"),
    }
}

/// The forward pass of one chunk into `out`.
#[inline(always)]
fn forward_body(program: &Program, params: &[f32], x: &[f32], out: &mut [f32], regs: &mut Registers) {
    run_body(program, params, x, regs, false);
    out.copy_from_slice(&regs.values[program.code.len() - 1][..x.len()]);
}

/// The backward pass of one chunk: `grad * f'(x)` into `out`, and the sums
/// of `grad * df/dp_j` over the chunk.
#[inline(always)]
fn backward_body(
    program: &Program,
    params: &[f32],
    x: &[f32],
    grad: &[f32],
    out: &mut [f32],
    regs: &mut Registers,
) -> Vec<f64> {
    let n = x.len();
    run_body(program, params, x, regs, true);
    let last = program.code.len() - 1;
    let (t, kinds) = (&regs.tangents[last], &regs.kinds[last]);
    match kinds[0] {
        Tan::Zero => out.fill(0.0),
        Tan::One => out.copy_from_slice(grad),
        Tan::Dense => zip2(out, grad, &t[0][..n], |g, t| g * t),
    }
    (1..=program.learned)
        .map(|d| match kinds[d] {
            Tan::Zero => 0.0,
            Tan::One => lane_sum(grad, None),
            Tan::Dense => lane_sum(grad, Some(&t[d][..n])),
        })
        .collect()
}

/// `sum(a)` or `sum(a * b)` in 8 f32 lanes (no serial chain of adds), then in f64.
#[inline(always)]
fn lane_sum(a: &[f32], b: Option<&[f32]>) -> f64 {
    let mut lanes = [0.0f32; 8];
    let (head, tail) = a.split_at(a.len() - a.len() % 8);
    match b {
        None => head.chunks_exact(8).for_each(|c| lanes.iter_mut().zip(c).for_each(|(l, v)| *l += v)),
        Some(b) => head
            .chunks_exact(8)
            .zip(b.chunks_exact(8))
            .for_each(|(c, d)| lanes.iter_mut().zip(c.iter().zip(d)).for_each(|(l, (v, w))| *l += v * w)),
    }
    let rest: f64 = match b {
        None => tail.iter().map(|v| *v as f64).sum(),
        Some(b) => tail.iter().zip(&b[head.len()..]).map(|(v, w)| (v * w) as f64).sum(),
    };
    lanes.iter().map(|l| *l as f64).sum::<f64>() + rest
}

// Each chunk's passes compiled for the widest code path this CPU has, as
// the built-in kernels are: AVX2 doubles the lanes of every loop.
fn forward_chunk(path: Path, program: &Program, params: &[f32], x: &[f32], out: &mut [f32], regs: &mut Registers) {
    on_path!(
        path,
        forward_body,
        (program: &Program, params: &[f32], x: &[f32], out: &mut [f32], regs: &mut Registers)
    )
}

fn backward_chunk(
    path: Path,
    program: &Program,
    params: &[f32],
    x: &[f32],
    grad: &[f32],
    out: &mut [f32],
    regs: &mut Registers,
) -> Vec<f64> {
    on_path!(
        path,
        backward_body,
        (program: &Program, params: &[f32], x: &[f32], grad: &[f32], out: &mut [f32], regs: &mut Registers) -> Vec<f64>
    )
}

/// Below this many elements one thread does the pass (as the fused activations).
const PARALLEL_ABOVE: usize = 1 << 16;

impl FusedFormula for Flex {
    fn fused_formula(x: FlexTensor, params: FlexTensor, program: &'static Program) -> FlexTensor {
        let (x, params) = (contiguous(&x), contiguous(&params));
        let (input, params) = (values(&x), values(&params));
        let path = widest_path();
        let mut out = vec![0.0f32; input.len()];
        let chunk =
            |regs: &mut Registers, (o, i): (&mut [f32], &[f32])| forward_chunk(path, program, params, i, o, regs);
        if input.len() > PARALLEL_ABOVE {
            out.par_chunks_mut(CHUNK).zip(input.par_chunks(CHUNK)).for_each_init(|| registers(program), chunk);
        } else {
            let mut regs = registers(program);
            out.chunks_mut(CHUNK).zip(input.chunks(CHUNK)).for_each(|pair| chunk(&mut regs, pair));
        }
        f32_tensor(out, x.shape().to_vec())
    }
}

impl FusedFormulaBackward for Flex {
    fn fused_formula_backward(
        x: FlexTensor,
        params: FlexTensor,
        grad: FlexTensor,
        program: &'static Program,
    ) -> (FlexTensor, FlexTensor) {
        let (x, p, grad) = (contiguous(&x), contiguous(&params), contiguous(&grad));
        let (input, values_p, upstream) = (values(&x), values(&p), values(&grad));
        let path = widest_path();
        let mut gx = vec![0.0f32; input.len()];
        let chunk = |regs: &mut Registers, (o, (i, g)): (&mut [f32], (&[f32], &[f32]))| {
            backward_chunk(path, program, values_p, i, g, o, regs)
        };
        let add = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).map(|(x, y)| x + y).collect::<Vec<f64>>();
        let sums: Vec<f64> = if input.len() > PARALLEL_ABOVE {
            gx.par_chunks_mut(CHUNK)
                .zip(input.par_chunks(CHUNK).zip(upstream.par_chunks(CHUNK)))
                .map_init(|| registers(program), chunk)
                .reduce(|| vec![0.0; program.learned], add)
        } else {
            let mut regs = registers(program);
            gx.chunks_mut(CHUNK)
                .zip(input.chunks(CHUNK).zip(upstream.chunks(CHUNK)))
                .map(|pair| chunk(&mut regs, pair))
                .fold(vec![0.0; program.learned], add)
        };
        let mut gp = vec![0.0f32; p.shape().num_elements()];
        for (j, s) in sums.iter().enumerate() {
            gp[j] = *s as f32;
        }
        (f32_tensor(gx, x.shape().to_vec()), f32_tensor(gp, p.shape().to_vec()))
    }
}

impl<B: FusedFormula + FusedFormulaBackward, C: CheckpointStrategy> FusedFormula for Autodiff<B, C> {
    fn fused_formula(x: FloatTensor<Self>, params: FloatTensor<Self>, program: &'static Program) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct FormulaBackward(&'static Program);

        impl<B: FusedFormulaBackward> Backward<B, 2> for FormulaBackward {
            /// The input and the learned values: the derivatives are computed from them.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (input, params) = ops.state;
                let program = self.0;
                // Both gradients come from one tangent pass, made by whichever side asks first.
                let both: RefCell<Option<(FloatTensor<B>, FloatTensor<B>)>> = RefCell::new(None);
                let get = |grad: FloatTensor<B>| {
                    both.borrow_mut()
                        .get_or_insert_with(|| B::fused_formula_backward(input.clone(), params.clone(), grad, program))
                        .clone()
                };
                binary::<B, _, _>(ops.parents, ops.node, grads, |g| get(g).0, |g| get(g).1);
            }
        }

        match FormulaBackward(program).prepare::<C>([x.node(), params.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (input, values) = (x.into_primitive(), params.into_primitive());
                let output = B::fused_formula(input.clone(), values.clone(), program);
                prep.finish((input, values), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_formula(x.into_primitive(), params.into_primitive(), program))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code path this CPU has gives the portable path's bits, forward and backward.
    #[test]
    fn code_paths_agree_bit_for_bit() {
        // where(x > 0, x * sigmoid(beta * x), (x - 1) / (beta + x * x)), beta learned.
        let code = vec![
            Ins::X,
            Ins::Learned(0),
            Ins::Binary(Binary::Mul, 1, 0),
            Ins::Unary(Unary::Kernel(Pointwise::Sigmoid), 2),
            Ins::Binary(Binary::Mul, 0, 3),
            Ins::Const(1.0),
            Ins::Binary(Binary::Sub, 0, 5),
            Ins::Unary(Unary::PowConst(2.0), 0),
            Ins::Binary(Binary::Add, 1, 7),
            Ins::Binary(Binary::Div, 6, 8),
            Ins::Const(0.0),
            Ins::Select(Compare::Gt, 0, 10, 4, 9),
        ];
        let program = Program { code, learned: 1 };
        let x: Vec<f32> = (0..1037).map(|i| i as f32 * 0.0191 - 9.7).collect();
        let grad: Vec<f32> = (0..x.len()).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let run = |path: Path| {
            let mut regs = registers(&program);
            let (mut y, mut gx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            forward_chunk(path, &program, &[1.3], &x, &mut y, &mut regs);
            let sums = backward_chunk(path, &program, &[1.3], &x, &grad, &mut gx, &mut regs);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            (bits(&y), bits(&gx), sums)
        };
        let reference = run(Path::Portable);
        let widest = widest_path();
        #[cfg(target_arch = "x86_64")]
        for path in [Path::Avx2, Path::Avx512] {
            let has = match path {
                Path::Avx512 => widest == Path::Avx512,
                _ => widest != Path::Portable,
            };
            if has {
                let got = run(path);
                assert!(got.0 == reference.0 && got.1 == reference.1, "{path:?} differs from the portable path");
                // The lane sums add in the same order on every path.
                assert_eq!(got.2, reference.2, "{path:?}");
            }
        }
        assert!(reference.2[0] != 0.0);
    }
}
