//! `actbench plot-activations`: plot every activation and its derivative on [-6, 6] (SVG and PNG).

use std::process::ExitCode;

use super::args::PlotActivationsArgs;
use super::shown_activations::{Asked, shown};
use crate::activation;
use crate::backend::{self, BackendKind};
use crate::chart;

pub(super) fn run(args: &PlotActivationsArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    let shown = shown(&Asked {
        formulas: &args.formula,
        config: args.config.as_deref(),
        params: &args.param,
        from_run: args.from_run.as_deref(),
    })?;
    let reads: Vec<&std::path::Path> = args.config.iter().map(|c| c.as_path()).collect();
    for stem in ["activations", "all_activations"] {
        for extension in ["svg", "png"] {
            let file = out.join(format!("{stem}.{extension}"));
            crate::results::overwrite::output_file("--out", &file, &reads).map_err(anyhow::Error::msg)?;
        }
    }
    let device = backend::device(BackendKind::Flex)?;
    // -6 to 6 in steps of 0.02: fine enough that kinks look sharp.
    let xs: Vec<f32> = (0..=600).map(|i| -6.0 + 0.02 * i as f32).collect();
    let curves: Vec<activation::Shape> = shown
        .iter()
        .map(|s| {
            let (values, derivatives) = activation::evaluate(s.kind, &xs, &device);
            let points =
                xs.iter().zip(values).zip(derivatives).map(|((x, v), d)| (*x as f64, v as f64, d as f64)).collect();
            (s.label.clone(), points)
        })
        .collect();
    chart::save(&activation::Shapes { curves: curves.clone() }, out, "activations")?;
    chart::save(&activation::AllShapes { curves }, out, "all_activations")?;
    println!("wrote activations.svg/.png and all_activations.svg/.png in {}", out.display());
    Ok(ExitCode::SUCCESS)
}
