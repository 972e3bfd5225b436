//! A checked formula -> the program of the fused flex op
//! (`crate::fused::formula`): one instruction per node, non-learned
//! parameters folded in as constants. `None` where the formula calls a
//! built-in without a fused kernel (relu6, softsign, ...): it then runs as
//! Burn tensor ops.

use super::{Cmp, Expr, Func, Op};
use crate::fused::formula::{Binary, Compare, Ins, Program, Unary};

/// `expr` with parameters at `values`, those with `learned` read from the op's parameter tensor.
pub fn compile(expr: &Expr, values: &[f64], learned: &[bool]) -> Option<Program> {
    let index: Vec<Option<usize>> =
        learned.iter().scan(0, |next, &l| Some(l.then(|| std::mem::replace(next, *next + 1)))).collect();
    let mut code = Vec::new();
    emit(expr, values, &index, &mut code)?;
    Some(Program { code, learned: learned.iter().filter(|l| **l).count() })
}

fn push(code: &mut Vec<Ins>, ins: Ins) -> usize {
    code.push(ins);
    code.len() - 1
}

fn compare(c: Cmp) -> Compare {
    match c {
        Cmp::Lt => Compare::Lt,
        Cmp::Le => Compare::Le,
        Cmp::Gt => Compare::Gt,
        Cmp::Ge => Compare::Ge,
    }
}

fn emit(e: &Expr, values: &[f64], index: &[Option<usize>], code: &mut Vec<Ins>) -> Option<usize> {
    let go = |e: &Expr, code: &mut Vec<Ins>| emit(e, values, index, code);
    Some(match e {
        Expr::Num(n) => push(code, Ins::Const(*n as f32)),
        Expr::X => push(code, Ins::X),
        Expr::Param(i) => match index[*i] {
            Some(j) => push(code, Ins::Learned(j)),
            None => push(code, Ins::Const(values[*i] as f32)),
        },
        Expr::Neg(a) => {
            let a = go(a, code)?;
            push(code, Ins::Unary(Unary::Neg, a))
        }
        Expr::Bin(Op::Pow, a, b) if matches!(**b, Expr::Num(_)) => {
            let Expr::Num(c) = **b else { unreachable!("matched") };
            let a = go(a, code)?;
            push(code, Ins::Unary(Unary::PowConst(c as f32), a))
        }
        Expr::Bin(op, a, b) => {
            let (a, b) = (go(a, code)?, go(b, code)?);
            let op = match op {
                Op::Add => Binary::Add,
                Op::Sub => Binary::Sub,
                Op::Mul => Binary::Mul,
                Op::Div => Binary::Div,
                Op::Pow => Binary::Pow,
            };
            push(code, Ins::Binary(op, a, b))
        }
        Expr::Cmp(..) => return None,
        Expr::Call(f, args) => match f {
            Func::Where => {
                let Expr::Cmp(c, l, r) = &args[0] else { return None };
                let (l, r, a, b) = (go(l, code)?, go(r, code)?, go(&args[1], code)?, go(&args[2], code)?);
                push(code, Ins::Select(compare(*c), l, r, a, b))
            }
            // As the composed ops: at a tie the second argument.
            Func::Max | Func::Min => {
                let (a, b) = (go(&args[0], code)?, go(&args[1], code)?);
                let c = if *f == Func::Max { Compare::Gt } else { Compare::Lt };
                push(code, Ins::Select(c, a, b, a, b))
            }
            Func::Clamp => {
                let (a, lo, hi) = (go(&args[0], code)?, go(&args[1], code)?, go(&args[2], code)?);
                let low = push(code, Ins::Select(Compare::Gt, a, lo, a, lo));
                push(code, Ins::Select(Compare::Lt, low, hi, low, hi))
            }
            // relu as max(a, 0) (derivative 0 at 0, as PyTorch), softplus natively.
            Func::Builtin(info) if info.name == "relu" => {
                let a = go(&args[0], code)?;
                let zero = push(code, Ins::Const(0.0));
                push(code, Ins::Select(Compare::Gt, a, zero, a, zero))
            }
            Func::Builtin(info) if info.name == "softplus" => {
                let a = go(&args[0], code)?;
                push(code, Ins::Unary(Unary::Softplus, a))
            }
            Func::Builtin(info) => {
                let kernel = info.kernel?(&info.default_values());
                let a = go(&args[0], code)?;
                push(code, Ins::Unary(Unary::Kernel(kernel), a))
            }
            _ => {
                let a = go(&args[0], code)?;
                let u = match f {
                    Func::Exp => Unary::Exp,
                    Func::Log => Unary::Log,
                    Func::Log1p => Unary::Log1p,
                    Func::Sqrt => Unary::Sqrt,
                    Func::Abs => Unary::Abs,
                    Func::Sin => Unary::Sin,
                    Func::Cos => Unary::Cos,
                    Func::Tan => Unary::Tan,
                    Func::Atan => Unary::Atan,
                    Func::Sinh => Unary::Sinh,
                    Func::Asinh => Unary::Asinh,
                    Func::Erf => Unary::Erf,
                    _ => unreachable!("handled above"),
                };
                push(code, Ins::Unary(u, a))
            }
        },
    })
}
