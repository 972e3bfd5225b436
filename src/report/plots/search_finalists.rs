//! search_finalists (with `[search]` only): each activation of the final
//! stage, the baselines and the search's finalists, with its derivative.

use super::Figure;
use crate::activation::{self, Shape, Shapes};
use crate::report::Analysis;

pub struct SearchFinalists(Shapes);

impl Figure for SearchFinalists {
    const STEM: &'static str = "search_finalists";
    const TITLE: &'static str = "The baselines and the search's finalists, each with its derivative";

    fn wanted(analysis: &Analysis) -> bool {
        !analysis.results.search.is_empty()
    }

    fn new(analysis: &Analysis) -> Self {
        let device = burn::tensor::Device::flex();
        // -6 to 6 in steps of 0.02, as `actbench plot-activations`.
        let xs: Vec<f32> = (0..=600).map(|i| -6.0 + 0.02 * i as f32).collect();
        let curves: Vec<Shape> = analysis
            .results
            .config
            .activations
            .iter()
            .map(|entry| {
                let (values, derivatives) = activation::evaluate(entry.kind, &xs, &device);
                let points =
                    xs.iter().zip(values).zip(derivatives).map(|((x, v), d)| (*x as f64, v as f64, d as f64)).collect();
                (entry.label(), points)
            })
            .collect();
        Self(Shapes { curves })
    }
}

super::panels::delegate!(SearchFinalists);
