//! `actbench activations`: list the built-in activations, print their
//! values and derivatives as CSV, or a table of their properties.

use std::process::ExitCode;

use anyhow::{Context, bail};

use super::args::ActivationsArgs;
use super::shown_activations::{Asked, shown};
use crate::activation::{self, catalog};
use crate::backend;

pub(super) fn run(args: ActivationsArgs) -> anyhow::Result<ExitCode> {
    let shown = shown(&Asked {
        formulas: &args.formula,
        config: args.config.as_deref(),
        params: &args.param,
        from_run: args.from_run.as_deref(),
    })?;
    if args.properties {
        let device = backend::device(args.backend.into())?;
        let rows: Vec<(String, activation::ActivationKind)> = shown.into_iter().map(|s| (s.label, s.kind)).collect();
        print!("{}", crate::activation::properties::table(&rows, &device));
        return Ok(ExitCode::SUCCESS);
    }
    if !args.csv {
        if args.points.is_some() {
            bail!("--points goes with --csv: try `actbench activations --csv --points \"-3,0,3\"`");
        }
        if !args.formula.is_empty() || args.config.is_some() || !args.param.is_empty() {
            bail!(
                "--formula, --config and --param go with --csv or --properties: try `actbench activations --csv --formula \"x * sigmoid(x)\"`"
            );
        }
        if args.from_run.is_some() {
            // The run's shapes by name: each layer's learned values are in its label.
            for s in &shown {
                println!("{}", s.label);
            }
        } else {
            print_catalog();
        }
        return Ok(ExitCode::SUCCESS);
    }
    let points = match &args.points {
        Some(text) => parse_points(text)?,
        None => (0..49).map(|i| -6.0 + 0.25 * i as f32).collect(),
    };
    let device = backend::device(args.backend.into())?;
    let mut out = String::from("activation,x,value,derivative\n");
    for s in shown {
        let (values, derivatives) = activation::evaluate(s.kind, &points, &device);
        // A formula's label may hold commas (`where(x > 0, x, 0)`): quoted as CSV quotes.
        let label = s.label;
        let label = if label.contains([',', '"']) { format!("\"{}\"", label.replace('"', "\"\"")) } else { label };
        for ((x, v), d) in points.iter().zip(values).zip(derivatives) {
            out.push_str(&format!("{label},{x},{v},{d}\n"));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn parse_points(text: &str) -> anyhow::Result<Vec<f32>> {
    let points = text
        .split(',')
        .map(|p| {
            let p = p.trim();
            p.parse::<f32>().ok().filter(|x| x.is_finite()).with_context(|| {
                format!(
                    "--points: `{p}` is not a finite number; give numbers separated by commas, e.g. \"-3,-0.5,0.5,3\""
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(points)
}

fn print_catalog() {
    for info in catalog::CATALOG {
        let aliases =
            if info.aliases.is_empty() { String::new() } else { format!(" (alias {})", info.aliases.join(", ")) };
        println!("{}{aliases}", info.name);
        println!("    f(x) = {}", info.formula);
        for p in info.params {
            let default = match p.default {
                catalog::ParamDefault::Float(v) => v.to_string(),
                catalog::ParamDefault::Bool(b) => b.to_string(),
            };
            println!("    {} = {default}  ({})", p.name, p.help);
        }
        println!("    {}", info.source);
    }
}
