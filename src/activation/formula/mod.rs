//! Activations typed as formulas (`formula = "x * sigmoid(beta * x)"`):
//! parsed into an expression tree ([`parse`]), checked (every parameter
//! used, `x` used, comparisons only as `where`'s condition, finite value
//! and derivative on [-20, 20]), and computed from Burn's tensor ops, so
//! Burn's autodiff gives the exact derivative on every backend.
//!
//! The parser is hand-written. The grammar is a dozen rules, and the
//! errors must give the column and the closest name. The crates that
//! evaluate expressions (meval, evalexpr, fasteval) hand back numbers, not
//! a tree one can turn into tensor ops. Parser generators (pest, nom,
//! chumsky) would add a dependency and proc macros for a dozen rules.

mod compile;
mod parse;

pub use compile::compile;

pub use parse::{FUNCTIONS, MAX_CHARS, ParseError};

use burn::tensor::{Bool, Device, Tensor, TensorData};

use super::catalog::{self, ActivationInfo, Args};

/// A node of a formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    X,
    /// The entry's parameter at this index.
    Param(usize),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy)]
pub enum Func {
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
    Min,
    Max,
    Where,
    Clamp,
    /// A built-in activation at its default parameters (`gelu(x)`).
    Builtin(&'static ActivationInfo),
}

impl PartialEq for Func {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Func::Builtin(a), Func::Builtin(b)) => a.name == b.name,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Func {
    fn named(name: &str) -> Option<Func> {
        use Func::*;
        Some(match name {
            "exp" => Exp,
            "log" => Log,
            "log1p" => Log1p,
            "sqrt" => Sqrt,
            "abs" => Abs,
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "atan" => Atan,
            "sinh" => Sinh,
            "asinh" => Asinh,
            "erf" => Erf,
            "min" => Min,
            "max" => Max,
            "where" => Where,
            "clamp" => Clamp,
            _ => Builtin(catalog::lookup(name)?),
        })
    }

    fn arity(self) -> usize {
        match self {
            Func::Min | Func::Max => 2,
            Func::Where | Func::Clamp => 3,
            _ => 1,
        }
    }
}

/// A formula checked against its entry's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    /// As written in the config.
    pub source: String,
    pub expr: Expr,
    /// The entry's parameter names, in the order given (`Expr::Param` indexes them).
    pub params: Vec<String>,
}

/// Why a formula cannot be used: the column where known, and the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", column.map(|c| format!("column {c}: ")).unwrap_or_default())]
pub struct FormulaError {
    pub column: Option<usize>,
    pub message: String,
}

impl From<ParseError> for FormulaError {
    fn from(e: ParseError) -> Self {
        Self { column: Some(e.column), message: e.message }
    }
}

fn fail<T>(message: String) -> Result<T, FormulaError> {
    Err(FormulaError { column: None, message })
}

/// The grid a formula is evaluated on before any training: [-20, 20] in steps of 0.05.
pub fn check_grid() -> Vec<f64> {
    (0..=800).map(|i| -20.0 + 0.05 * i as f64).collect()
}

/// The names among `candidates` that `source` uses as parameters, in the
/// candidates' order: which of the command line's `--param`s a `--formula`
/// takes. Any other unknown name is the parser's error.
pub fn names_used(source: &str, candidates: &[String]) -> Result<Vec<String>, FormulaError> {
    let expr = parse::parse(source, candidates)?;
    let mut used = vec![false; candidates.len()];
    walk(&expr, &mut |e| {
        if let Expr::Param(i) = e {
            used[*i] = true;
        }
    });
    Ok(candidates.iter().zip(used).filter(|(_, u)| *u).map(|(n, _)| n.clone()).collect())
}

impl Formula {
    /// Parses and checks `source` with the entry's parameters (name, value).
    pub fn new(source: &str, params: &[(String, f64)]) -> Result<Self, FormulaError> {
        let names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
        let expr = parse::parse(source, &names)?;
        let formula = Self { source: source.to_string(), expr, params: names };
        formula.check_shape()?;
        let values: Vec<f64> = params.iter().map(|(_, v)| *v).collect();
        formula.check_values(&values)?;
        Ok(formula)
    }

    /// Structure: every parameter and `x` used; comparisons only as `where`'s condition.
    fn check_shape(&self) -> Result<(), FormulaError> {
        let mut used = vec![false; self.params.len()];
        let mut has_x = false;
        walk(&self.expr, &mut |e| match e {
            Expr::Param(i) => used[*i] = true,
            Expr::X => has_x = true,
            _ => {}
        });
        if let Some(i) = used.iter().position(|u| !u) {
            return fail(format!("parameter `{}` is declared but the formula does not use it", self.params[i]));
        }
        if !has_x {
            return fail("does not depend on `x`: an activation is a function of its input".into());
        }
        conditions(&self.expr, false)
    }

    /// The value and derivative are finite on [-20, 20] (the derivative from
    /// Burn's autodiff on flex); the error names the first x where they are not and why.
    fn check_values(&self, values: &[f64]) -> Result<(), FormulaError> {
        for x in check_grid() {
            if let Err(why) = scalar(&self.expr, x, values) {
                return fail(format!("is not finite at x = {}: {why}", crate::activation::format_number(round(x))));
            }
        }
        let device = Device::flex();
        let grid: Vec<f32> = check_grid().iter().map(|&x| x as f32).collect();
        let (outputs, derivatives) = evaluate(self, values, &grid, &device);
        let at = |i: usize| crate::activation::format_number(round(grid[i] as f64));
        if let Some(i) = outputs.iter().position(|v| !v.is_finite()) {
            return fail(format!("is not finite at x = {}: it overflows 32-bit floats, which training uses", at(i)));
        }
        if let Some(i) = derivatives.iter().position(|d| !d.is_finite()) {
            return fail(format!(
                "has a derivative that is not finite at x = {} (e.g. sqrt at 0): shift or clamp its argument",
                at(i)
            ));
        }
        Ok(())
    }

    /// `f(x)` from Burn tensor ops: `values` are the parameters' values, and
    /// `learned` the learned tensors of those parameters that are trained
    /// (`Some` at their index), shaped to broadcast against `x`.
    pub fn forward(&self, x: Tensor<2>, values: &[f64], learned: &[Option<Tensor<2>>]) -> Tensor<2> {
        let env = Env { x: &x, values, learned };
        match eval(&self.expr, &env) {
            Value::Tensor(t) => t,
            Value::Scalar(s) => x.zeros_like().add_scalar(s),
            Value::Mask(_) => unreachable!("a comparison is only `where`'s condition (checked)"),
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Neg(a) => walk(a, f),
        Expr::Bin(_, a, b) | Expr::Cmp(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| walk(a, f)),
        _ => {}
    }
}

/// Comparisons only as the first argument of `where`, which must be one.
fn conditions(e: &Expr, condition: bool) -> Result<(), FormulaError> {
    match e {
        Expr::Cmp(_, a, b) if condition => conditions(a, false).and(conditions(b, false)),
        Expr::Cmp(..) => fail("a comparison (< <= > >=) can only be the condition of where(cond, a, b)".into()),
        Expr::Call(Func::Where, args) => {
            if !matches!(args[0], Expr::Cmp(..)) {
                return fail("where(cond, a, b) takes a comparison as its condition, e.g. where(x > 0, x, 0)".into());
            }
            args.iter().enumerate().try_for_each(|(i, a)| conditions(a, i == 0))
        }
        Expr::Call(Func::Builtin(info), _) if info.learned.is_some() => {
            fail(format!("`{}` learns a parameter of its own; write it as a formula with `learn` instead", info.name))
        }
        Expr::Neg(a) => conditions(a, false),
        Expr::Bin(_, a, b) => conditions(a, false).and(conditions(b, false)),
        Expr::Call(_, args) => args.iter().try_for_each(|a| conditions(a, false)),
        _ => Ok(()),
    }
}

/// Whether `text` is an expression over `x` and the names `vars` (a search
/// space's unary functions in `x`, its binary ones in `a` and `b`, which
/// may not use `x`); the error as a formula's.
pub fn check_expression(text: &str, vars: &[&str], uses_x: bool) -> Result<(), FormulaError> {
    let names: Vec<String> = vars.iter().map(|v| v.to_string()).collect();
    let expr = parse::parse(text, &names)?;
    let mut has_x = false;
    walk(&expr, &mut |e| has_x |= matches!(e, Expr::X));
    if has_x && !uses_x {
        return fail(format!("uses `x`; write it in {} only", vars.join(" and ")));
    }
    conditions(&expr, false)
}

impl Formula {
    /// The values at `points` in f64 (NaN where not finite), parameters at `values`.
    pub fn values_at(&self, values: &[f64], points: &[f64]) -> Vec<f64> {
        points.iter().map(|&x| scalar(&self.expr, x, values).unwrap_or(f64::NAN)).collect()
    }
}

/// The formula at one point in f64, or why it is not finite there.
fn scalar(e: &Expr, x: f64, values: &[f64]) -> Result<f64, String> {
    let v = |e: &Expr| scalar(e, x, values);
    let out = match e {
        Expr::Num(n) => *n,
        Expr::X => x,
        Expr::Param(i) => values[*i],
        Expr::Neg(a) => -v(a)?,
        Expr::Bin(op, a, b) => {
            let (a, b) = (v(a)?, v(b)?);
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div if b == 0.0 => return Err(format!("division by zero ({a} / 0)")),
                Op::Div => a / b,
                Op::Pow if a < 0.0 && b.fract() != 0.0 => {
                    return Err(format!("a negative number to a fractional power ({a} ^ {b})"));
                }
                Op::Pow => a.powf(b),
            }
        }
        Expr::Cmp(..) => unreachable!("conditions are evaluated by where"),
        Expr::Call(f, args) => {
            let a = match (f, args.first()) {
                (Func::Where, _) => 0.0,
                (_, Some(arg)) => v(arg)?,
                (_, None) => unreachable!("every function takes an argument"),
            };
            match f {
                Func::Exp => a.exp(),
                Func::Log if a <= 0.0 => return Err(format!("log of a number that is not positive (log({a}))")),
                Func::Log => a.ln(),
                Func::Log1p if a <= -1.0 => return Err(format!("log1p of a number <= -1 (log1p({a}))")),
                Func::Log1p => a.ln_1p(),
                Func::Sqrt if a < 0.0 => return Err(format!("sqrt of a negative number (sqrt({a}))")),
                Func::Sqrt => a.sqrt(),
                Func::Abs => a.abs(),
                Func::Sin => a.sin(),
                Func::Cos => a.cos(),
                Func::Tan => a.tan(),
                Func::Atan => a.atan(),
                Func::Sinh => a.sinh(),
                Func::Asinh => a.asinh(),
                Func::Erf => erf(a),
                Func::Min => a.min(v(&args[1])?),
                Func::Max => a.max(v(&args[1])?),
                Func::Clamp => a.max(v(&args[1])?).min(v(&args[2])?),
                Func::Where => {
                    let Expr::Cmp(cmp, l, r) = &args[0] else { unreachable!("checked") };
                    let (l, r) = (v(l)?, v(r)?);
                    let holds = match cmp {
                        Cmp::Lt => l < r,
                        Cmp::Le => l <= r,
                        Cmp::Gt => l > r,
                        Cmp::Ge => l >= r,
                    };
                    if holds { v(&args[1])? } else { v(&args[2])? }
                }
                Func::Builtin(info) => {
                    let device = Device::flex();
                    let t = Tensor::<2>::from_data(TensorData::new(vec![a as f32], [1, 1]), &device);
                    let out = (info.forward)(t, &builtin_args(info)).into_data().try_to_vec::<f32>().expect("f32");
                    out[0] as f64
                }
            }
        }
    };
    if out.is_finite() { Ok(out) } else { Err(format!("the result overflows ({out})")) }
}

/// erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7): enough to find
/// where a formula is not finite, which is all the scalar path is for.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 { -y } else { y }
}

fn builtin_args(info: &'static ActivationInfo) -> Args {
    Args { values: info.default_values(), learned: None }
}

enum Value {
    Scalar(f64),
    Tensor(Tensor<2>),
    Mask(Tensor<2, Bool>),
}

struct Env<'a> {
    x: &'a Tensor<2>,
    values: &'a [f64],
    learned: &'a [Option<Tensor<2>>],
}

impl Env<'_> {
    fn tensor(&self, v: Value) -> Tensor<2> {
        match v {
            Value::Tensor(t) => t,
            Value::Scalar(s) => self.x.zeros_like().add_scalar(s),
            Value::Mask(_) => unreachable!("checked"),
        }
    }
}

fn eval(e: &Expr, env: &Env) -> Value {
    match e {
        Expr::Num(n) => Value::Scalar(*n),
        Expr::X => Value::Tensor(env.x.clone()),
        Expr::Param(i) => match env.learned.get(*i).and_then(Option::as_ref) {
            Some(t) => Value::Tensor(t.clone()),
            None => Value::Scalar(env.values[*i]),
        },
        Expr::Neg(a) => match eval(a, env) {
            Value::Scalar(s) => Value::Scalar(-s),
            Value::Tensor(t) => Value::Tensor(t.neg()),
            Value::Mask(_) => unreachable!("checked"),
        },
        Expr::Bin(op, a, b) => binary(*op, eval(a, env), eval(b, env), env),
        Expr::Cmp(cmp, a, b) => {
            let (a, b) = (eval(a, env), eval(b, env));
            let (a, b) = (env.tensor(a), env.tensor(b));
            Value::Mask(match cmp {
                Cmp::Lt => a.lower(b),
                Cmp::Le => a.lower_equal(b),
                Cmp::Gt => a.greater(b),
                Cmp::Ge => a.greater_equal(b),
            })
        }
        Expr::Call(f, args) => call(*f, args, env),
    }
}

fn binary(op: Op, a: Value, b: Value, env: &Env) -> Value {
    use Value::{Scalar, Tensor as T};
    match (op, a, b) {
        (_, Scalar(a), Scalar(b)) => Scalar(match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Pow => a.powf(b),
        }),
        (Op::Add, T(t), Scalar(s)) | (Op::Add, Scalar(s), T(t)) => T(t.add_scalar(s)),
        (Op::Mul, T(t), Scalar(s)) | (Op::Mul, Scalar(s), T(t)) => T(t.mul_scalar(s)),
        (Op::Sub, T(t), Scalar(s)) => T(t.sub_scalar(s)),
        (Op::Sub, Scalar(s), T(t)) => T(t.neg().add_scalar(s)),
        (Op::Div, T(t), Scalar(s)) => T(t.div_scalar(s)),
        (Op::Div, Scalar(s), T(t)) => T(t.recip().mul_scalar(s)),
        (Op::Pow, T(t), Scalar(2.0)) => T(t.clone() * t),
        (Op::Pow, T(t), Scalar(s)) => T(t.powf_scalar(s)),
        (Op::Pow, Scalar(s), T(t)) => T(t.mul_scalar(s.ln()).exp()),
        (op, a, b) => {
            let (a, b) = (env.tensor(a), env.tensor(b));
            T(match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                Op::Pow => a.powf(b),
            })
        }
    }
}

fn call(f: Func, args: &[Expr], env: &Env) -> Value {
    // A function of constants is a constant.
    let tensor = |i: usize| {
        let v = eval(&args[i], env);
        env.tensor(v)
    };
    match f {
        Func::Where => {
            let Value::Mask(mask) = eval(&args[0], env) else { unreachable!("checked") };
            // PyTorch's torch.where: the gradient goes to the branch chosen at each element.
            Value::Tensor(tensor(2).mask_where(mask, tensor(1)))
        }
        // As where(a > b, a, b): at a tie the gradient goes to b, so
        // max(x, 0) has relu's derivative 0 at 0 (PyTorch's convention).
        Func::Max => {
            let (a, b) = (tensor(0), tensor(1));
            Value::Tensor(b.clone().mask_where(a.clone().greater(b), a))
        }
        Func::Min => {
            let (a, b) = (tensor(0), tensor(1));
            Value::Tensor(b.clone().mask_where(a.clone().lower(b), a))
        }
        Func::Clamp => {
            let (a, lo, hi) = (tensor(0), tensor(1), tensor(2));
            let low = lo.clone().mask_where(a.clone().greater(lo), a);
            Value::Tensor(hi.clone().mask_where(low.clone().lower(hi), low))
        }
        Func::Builtin(info) => Value::Tensor((info.forward)(tensor(0), &builtin_args(info))),
        _ => {
            let a = tensor(0);
            Value::Tensor(match f {
                Func::Exp => a.exp(),
                Func::Log => a.log(),
                Func::Log1p => a.log1p(),
                Func::Sqrt => a.sqrt(),
                Func::Abs => a.abs(),
                Func::Sin => a.sin(),
                Func::Cos => a.cos(),
                Func::Tan => a.tan(),
                Func::Atan => a.atan(),
                Func::Sinh => a.sinh(),
                Func::Asinh => a.asinh(),
                Func::Erf => a.erf(),
                _ => unreachable!("handled above"),
            })
        }
    }
}

/// Values and derivatives of `formula` (parameters at `values`) at the
/// points, on `device`; the derivative is Burn's autodiff.
pub fn evaluate(formula: &Formula, values: &[f64], points: &[f32], device: &Device) -> (Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(points.to_vec(), [points.len(), 1]), &device).require_grad();
    let y = formula.forward(x.clone(), values, &[]);
    let to_vec = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().expect("f32");
    let derivatives = if y.is_tracked() {
        let grads = y.clone().sum().backward();
        x.grad(&grads).map(to_vec).unwrap_or_else(|| vec![0.0; points.len()])
    } else {
        vec![0.0; points.len()]
    };
    (to_vec(y), derivatives)
}

#[cfg(test)]
mod tests;
