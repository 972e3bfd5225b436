//! The formula language: a lexer and a precedence-climbing parser into
//! [`Expr`]. Hand-written (see the module's note): the grammar is a dozen
//! rules, and errors need the column and the closest name.
//!
//! ```text
//! expr    = sum [("<" | "<=" | ">" | ">=") sum]
//! sum     = product {("+" | "-") product}
//! product = unary {("*" | "/") unary}
//! unary   = "-" unary | power
//! power   = atom ["^" unary]            (right-associative: 2^3^2 = 2^9)
//! atom    = number | name | name "(" expr {"," expr} ")" | "(" expr ")"
//! ```

use super::{Cmp, Expr, Func, Op};
use crate::activation::catalog;

/// A parse error: the 1-based column (in characters) and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Name(String),
    Sym(&'static str),
    End,
}

/// Longest formula accepted, in characters (a config value, not a program).
pub const MAX_CHARS: usize = 2000;
/// Deepest nesting accepted, so a pathological input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

fn lex(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value = text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ParseError { column, message: format!("`{text}` is not a finite number") })?;
            tokens.push((column, Token::Num(value)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((column, Token::Name(chars[start..i].iter().collect())));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = ["<=", ">="]
                .into_iter()
                .find(|s| *s == two)
                .or_else(|| ["+", "-", "*", "/", "^", "(", ")", ",", "<", ">"].into_iter().find(|s| s.starts_with(c)));
            let Some(sym) = sym else {
                return Err(ParseError {
                    column,
                    message: format!("unexpected `{c}`: use numbers, x, names, + - * / ^, < <= > >=, ( ) and ,"),
                });
            };
            i += sym.len();
            tokens.push((column, Token::Sym(sym)));
        }
    }
    tokens.push((chars.len() + 1, Token::End));
    Ok(tokens)
}

/// Parses `text`; `params` are the names the entry declares.
pub fn parse(text: &str, params: &[String]) -> Result<Expr, ParseError> {
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(ParseError { column: 1, message: format!("is {chars} characters long; keep it to {MAX_CHARS}") });
    }
    let mut p = Parser { tokens: lex(text)?, at: 0, params, depth: 0 };
    let expr = p.expr()?;
    match p.peek() {
        Token::End => Ok(expr),
        other => Err(p.error(format!("unexpected {} after a complete expression", describe(other)))),
    }
}

struct Parser<'a> {
    tokens: Vec<(usize, Token)>,
    at: usize,
    params: &'a [String],
    depth: usize,
}

fn describe(token: &Token) -> String {
    match token {
        Token::Num(v) => format!("number `{v}`"),
        Token::Name(n) => format!("name `{n}`"),
        Token::Sym(s) => format!("`{s}`"),
        Token::End => "end of formula".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].1
    }

    fn column(&self) -> usize {
        self.tokens[self.at].0
    }

    fn error(&self, message: String) -> ParseError {
        ParseError { column: self.column(), message }
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Token::Sym(s) if *s == sym) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.deeper()?;
        let left = self.sum()?;
        let cmp = match self.peek() {
            Token::Sym("<") => Some(Cmp::Lt),
            Token::Sym("<=") => Some(Cmp::Le),
            Token::Sym(">") => Some(Cmp::Gt),
            Token::Sym(">=") => Some(Cmp::Ge),
            _ => None,
        };
        let out = match cmp {
            Some(cmp) => {
                self.at += 1;
                let right = self.sum()?;
                Expr::Cmp(cmp, Box::new(left), Box::new(right))
            }
            None => left,
        };
        self.depth -= 1;
        Ok(out)
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat("+") {
                Op::Add
            } else if self.eat("-") {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat("*") {
                Op::Mul
            } else if self.eat("/") {
                Op::Div
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.deeper()?;
        let out = if self.eat("-") { Expr::Neg(Box::new(self.unary()?)) } else { self.power()? };
        self.depth -= 1;
        Ok(out)
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.atom()?;
        if self.eat("^") { Ok(Expr::Bin(Op::Pow, Box::new(base), Box::new(self.unary()?))) } else { Ok(base) }
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let column = self.column();
        match self.peek().clone() {
            Token::Num(v) => {
                self.at += 1;
                Ok(Expr::Num(v))
            }
            Token::Sym("(") => {
                self.at += 1;
                let inner = self.expr()?;
                if !self.eat(")") {
                    return Err(self.error(format!("expected `)` (for the `(` at column {column})")));
                }
                Ok(inner)
            }
            Token::Name(name) => {
                self.at += 1;
                if self.eat("(") {
                    return self.call(&name, column);
                }
                match name.as_str() {
                    "x" => Ok(Expr::X),
                    "pi" => Ok(Expr::Num(std::f64::consts::PI)),
                    "e" => Ok(Expr::Num(std::f64::consts::E)),
                    _ => match self.params.iter().position(|p| *p == name) {
                        Some(i) => Ok(Expr::Param(i)),
                        None => Err(ParseError { column, message: unknown_name(&name, self.params) }),
                    },
                }
            }
            other => Err(self.error(format!("expected a number, a name or `(`, found {}", describe(&other)))),
        }
    }

    fn call(&mut self, name: &str, column: usize) -> Result<Expr, ParseError> {
        let func = Func::named(name).ok_or_else(|| ParseError { column, message: unknown_function(name) })?;
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.expr()?);
                if self.eat(")") {
                    break;
                }
                if !self.eat(",") {
                    return Err(self.error(format!("expected `,` or `)` in the arguments of `{name}`")));
                }
            }
        }
        let want = func.arity();
        if args.len() != want {
            return Err(ParseError {
                column,
                message: format!(
                    "`{name}` takes {want} argument{}, got {}",
                    if want == 1 { "" } else { "s" },
                    args.len()
                ),
            });
        }
        Ok(Expr::Call(func, args))
    }
}

/// Functions of the language other than the built-in activations.
pub const FUNCTIONS: &[&str] = &[
    "exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tan", "atan", "sinh", "asinh", "erf", "min", "max", "where",
    "clamp",
];

fn unknown_name(name: &str, params: &[String]) -> String {
    let known: Vec<&str> = ["x", "pi", "e"].into_iter().chain(params.iter().map(String::as_str)).collect();
    let hint = closest(name, known.iter().copied()).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
    let declared = if params.is_empty() {
        "declare a parameter as a key of the entry, e.g. beta = 1.0".to_string()
    } else {
        format!("the entry's parameters are {}", params.join(", "))
    };
    format!("unknown name `{name}`{hint}: a formula knows x, pi, e and its parameters; {declared}")
}

fn unknown_function(name: &str) -> String {
    let all = FUNCTIONS.iter().copied().chain(catalog::CATALOG.iter().map(|a| a.name));
    let hint = closest(name, all).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
    format!(
        "unknown function `{name}`{hint}; known: {}, and every built-in activation (relu, gelu, ...)",
        FUNCTIONS.join(", ")
    )
}

/// The candidate within edit distance 2 of `name` (the closest first).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Expr {
        parse(text, &["beta".to_string()]).unwrap()
    }

    fn err(text: &str) -> ParseError {
        parse(text, &["beta".to_string()]).unwrap_err()
    }

    #[test]
    fn precedence_and_associativity_are_the_usual() {
        use Expr::*;
        let b = Box::new;
        assert_eq!(p("1 + 2 * x"), Bin(Op::Add, b(Num(1.0)), b(Bin(Op::Mul, b(Num(2.0)), b(X)))));
        assert_eq!(p("2 ^ 3 ^ x"), Bin(Op::Pow, b(Num(2.0)), b(Bin(Op::Pow, b(Num(3.0)), b(X)))));
        assert_eq!(p("-x ^ 2"), Neg(b(Bin(Op::Pow, b(X), b(Num(2.0))))));
        assert_eq!(p("x - 1 - 2"), Bin(Op::Sub, b(Bin(Op::Sub, b(X), b(Num(1.0)))), b(Num(2.0))));
        assert_eq!(p("beta*1e-3"), Bin(Op::Mul, b(Param(0)), b(Num(1e-3))));
        assert!(matches!(p("where(x > 0, x, 0.1 * x)"), Call(Func::Where, _)));
        assert!(matches!(p("gelu(2 * x)"), Call(Func::Builtin(_), _)));
    }

    #[test]
    fn errors_give_the_column_and_the_closest_name() {
        assert_eq!(err("x * sigmod(x)"), ParseError { column: 5, message: err("x * sigmod(x)").message });
        assert!(err("x * sigmod(x)").message.contains("did you mean `sigmoid`"));
        assert!(err("x * bta").message.contains("did you mean `beta`"));
        assert_eq!(err("x +").column, 4);
        assert!(err("(x + 1").message.contains("expected `)`"));
        assert!(err("max(x)").message.contains("takes 2 arguments, got 1"));
        assert!(err("x $ 2").message.contains("unexpected `$`"));
        assert!(err("x x").message.contains("after a complete expression"));
        assert!(err(&"(".repeat(100)).message.contains("nests deeper"));
        assert!(err("1e999").message.contains("not a finite number"));
    }
}
