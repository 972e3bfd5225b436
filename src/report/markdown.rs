//! report.md: the question, the setup, the results table, notable
//! behaviour per activation, and the plots.

use std::fmt::Write;

use anyhow::Context;

use super::notes::notes;
use super::verdict::format_p;
use super::{Analysis, figures};
use crate::export::atomic;
use crate::results::dir::{AGGREGATE_FILE, PLOTS_DIR, ResultsDir};

/// Writes report.md.
pub fn write(analysis: &Analysis, dir: &ResultsDir) -> anyhow::Result<()> {
    let path = dir.report();
    atomic::write_string(&path, &render(analysis)).with_context(|| format!("cannot write '{}'", path.display()))
}

fn render(analysis: &Analysis) -> String {
    let Analysis { results, groups, labels, .. } = analysis;
    let c = &results.config;
    let mut md = String::new();
    // Labels, not kind names: two leaky_relu entries with different slopes are two activations.
    let activations: Vec<String> = c.activations.iter().map(|a| a.label()).collect();
    let seeds: Vec<String> = c.experiment.seeds.0.iter().map(u64::to_string).collect();

    let _ = writeln!(md, "# {}\n", c.experiment.name);
    let mut varies = vec![format!("activation ({})", activations.len())];
    let all_lrs = distinct(analysis.all_groups.iter().map(|g| g.lr));
    let lr_drawn = c.sweep.draw_of("training.lr").is_some();
    if all_lrs.len() > 1 && !lr_drawn {
        varies.push(format!("learning rate ({})", all_lrs.len()));
    }
    for s in c.sweep.lists.iter().filter(|s| s.draw.is_none()) {
        varies.push(format!("{} ({})", s.key, s.values.len()));
    }
    if let Some(tuning) = c.tuning.as_ref().filter(|_| c.sweep.is_drawn()) {
        let drawn: Vec<String> = c
            .sweep
            .lists
            .iter()
            .filter_map(|s| s.draw.as_ref().map(|d| format!("{} {}", s.key, d.describe())))
            .collect();
        varies.push(format!(
            "random search of {} trials per activation ({}, seed {}): {}",
            tuning.budget.map_or(0, |b| b.0),
            if tuning.shared { "the same trials for each" } else { "each its own trials" },
            tuning.seed,
            drawn.join("; ")
        ));
    }
    varies.push(format!("seed ({})", seeds.len()));
    let _ = writeln!(
        md,
        "**Question.** How do {} compare when only the activation changes? Varies: {}.\n",
        join_names(&activations),
        varies.join(", ")
    );

    let t = &c.training;
    let seconds: f64 = results.summaries.iter().map(|s| s.wall_seconds).sum();
    let _ = writeln!(md, "## Setup\n\n| | |\n|---|---|");
    let test = if c.data.dataset.has_own_test_set() {
        "its own test set".to_string()
    } else {
        format!("test share {}", c.data.test_split.0)
    };
    let _ =
        writeln!(md, "| data | {} ({test}, validation share {}) |", c.data.dataset.name(), c.data.validation_split.0);
    let mut model = c.model.describe();
    // Entries with their own feed-forward layer (`gated(silu)`) differ from the line above.
    for ffn in [crate::model::settings::Ffn::Plain, crate::model::settings::Ffn::Gated] {
        if c.activations.iter().any(|a| a.ffn == Some(ffn)) && c.model.ffn.unwrap_or_default() != ffn {
            let width = c.model.width.map_or(crate::model::gpt::DEFAULT_WIDTH, |w| w.0);
            let hidden = crate::model::gpt::hidden(width, ffn);
            model +=
                &format!("; {} feed-forward layers (hidden {hidden}) for the {}(...) entries", ffn.name(), ffn.name());
        }
    }
    let _ = writeln!(md, "| model | {model}, init {} |", inits(analysis));
    let _ = writeln!(
        md,
        "| optimizer | {}, lr {}, batch {}, {}, weight decay {} |",
        t.optimizer.name(),
        if lr_drawn {
            "drawn (below)".to_string()
        } else {
            all_lrs.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(" / ")
        },
        t.batch_size.0,
        match t.steps() {
            Some((max, every)) => format!("{max} steps (evaluated every {every})"),
            None => format!("{} epochs", t.epochs.0),
        },
        t.weight_decay.0
    );
    if !c.sweep.is_empty() {
        let swept: Vec<String> = c
            .sweep
            .lists
            .iter()
            .map(|s| match &s.draw {
                Some(d) => format!("{}: {}", s.key, d.describe()),
                None => {
                    format!("{}: {}", s.key, s.values.iter().map(crate::config::show).collect::<Vec<_>>().join(" / "))
                }
            })
            .collect();
        let _ = writeln!(md, "| sweep (overrides the rows above) | {} |", swept.join("; "));
    }
    let _ = writeln!(md, "| seeds | {} |", seeds.join(", "));
    let _ = writeln!(md, "| backend | {} |", c.experiment.backend.name());
    let _ = writeln!(md, "| time | {seconds:.1} s of training over {} runs |\n", results.summaries.len());

    let _ = writeln!(md, "## Results\n");
    if analysis.headline().metric == "test_loss" {
        language_model_results(&mut md, analysis);
    } else {
        classifier_results(&mut md, analysis);
    }

    md.push_str(&super::verdict::section(analysis));
    md.push_str(&super::fairness::section(analysis));
    if let Some(tuned) = &analysis.tuned {
        md.push_str(&super::tuned::section(analysis, tuned));
        md.push_str(&super::expected::section(analysis));
    }
    if !results.search.is_empty() {
        md.push_str(&super::searched::section(analysis));
    }
    md.push_str(&super::spread::section(analysis));
    let _ = writeln!(md, "## Notable behaviour\n");
    for (g, name) in groups.iter().zip(labels) {
        let _ = writeln!(md, "- **{name}**: {}", notes(results, g).join("; "));
    }
    md.push_str(&generated(analysis));
    let _ = writeln!(md, "\n## Plots\n");
    for (stem, title) in figures(analysis) {
        let _ = writeln!(md, "### {title}\n\n![{title}]({PLOTS_DIR}/{stem}.svg)\n");
    }
    md
}

/// The results table of a classifier: test accuracy, its difference from
/// the baseline, and the epochs to the target accuracy.
fn classifier_results(md: &mut String, analysis: &Analysis) {
    let c = &analysis.results.config;
    let baseline = &c.report.baseline;
    let target = c.report.target_accuracy.0;
    let _ = writeln!(
        md,
        "| activation | test acc (mean ± std) | 95% CI | relative to baseline | p | epochs to target |\n|---|---|---|---|---|---|"
    );
    for (g, name) in analysis.groups.iter().zip(&analysis.labels) {
        let test = analysis.row(g, "test_accuracy").expect("every group has a row per metric");
        let epochs = analysis.row(g, "epochs_to_target").expect("every group has a row per metric");
        let (acc, ci) = match (test.mean, test.std, test.ci95_low, test.ci95_high) {
            (Some(m), Some(s), Some(lo), Some(hi)) => (format!("{m:.4} ± {s:.4}"), format!("[{lo:.4}, {hi:.4}]")),
            _ => ("-".into(), "-".into()),
        };
        let relative = match (test.diff, test.diff_ci95_low, test.diff_ci95_high) {
            _ if test.baseline.is_empty() && g.activation == *baseline => "baseline".to_string(),
            (Some(d), Some(lo), Some(hi)) => {
                format!("{:+.1} pp [{:+.1}, {:+.1}]", 100.0 * d, 100.0 * lo, 100.0 * hi)
            }
            _ => "-".into(),
        };
        let p = test.p_holm.map_or("-".to_string(), format_p);
        let reached = match epochs.mean {
            Some(m) if epochs.n == epochs.runs => format!("{m:.1}"),
            Some(m) => format!("{m:.1} ({} of {} runs)", epochs.n, epochs.runs),
            None => "not reached".into(),
        };
        let _ = writeln!(md, "| {name} | {acc} | {ci} | {relative} | {p} | {reached} |");
    }
    let _ = writeln!(
        md,
        "\nBaseline: `{baseline}`. Relative: difference of mean test accuracy in percentage points, with the 95% CI of Welch's t; p: Welch's t-test, Holm-corrected over the comparisons. Epochs to target: first epoch with validation accuracy >= {target}. All numbers per group and metric: `{AGGREGATE_FILE}`.\n"
    );
}

/// The results table of a language model: the test loss per token (nats),
/// with its bits per character and perplexity, and its difference from the baseline.
fn language_model_results(md: &mut String, analysis: &Analysis) {
    let baseline = &analysis.results.config.report.baseline;
    let _ = writeln!(
        md,
        "| activation | test loss, nats (mean ± std) | 95% CI | bits per token | perplexity | relative to baseline | p | best val loss |\n|---|---|---|---|---|---|---|---|"
    );
    for (g, name) in analysis.groups.iter().zip(&analysis.labels) {
        let test = analysis.row(g, "test_loss").expect("every group has a row per metric");
        let val = analysis.row(g, "best_val_loss").expect("every group has a row per metric");
        let (loss, ci, bits, perplexity) = match (test.mean, test.std, test.ci95_low, test.ci95_high) {
            (Some(m), Some(s), Some(lo), Some(hi)) => (
                format!("{m:.4} ± {s:.4}"),
                format!("[{lo:.4}, {hi:.4}]"),
                format!("{:.4}", m / std::f64::consts::LN_2),
                format!("{:.3}", m.exp()),
            ),
            _ => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let relative = match (test.diff, test.diff_ci95_low, test.diff_ci95_high) {
            _ if test.baseline.is_empty() && g.activation == *baseline => "baseline".to_string(),
            (Some(d), Some(lo), Some(hi)) => format!("{d:+.4} [{lo:+.4}, {hi:+.4}]"),
            _ => "-".into(),
        };
        let p = test.p_holm.map_or("-".to_string(), format_p);
        let best = val.mean.map_or("-".to_string(), |m| format!("{m:.4}"));
        let _ = writeln!(md, "| {name} | {loss} | {ci} | {bits} | {perplexity} | {relative} | {p} | {best} |");
    }
    let _ = writeln!(
        md,
        "\nLoss: cross-entropy of the next token, in nats per token, over every whole window of the test text (lower is better); bits per token = loss / ln 2 (bits per character for a text of characters), perplexity = e^loss. Baseline: `{baseline}`. Relative: difference of mean test loss in nats, with the 95% CI of Welch's t; p: Welch's t-test, Holm-corrected over the comparisons. Best val loss: the lowest validation loss of each run, mean over seeds. All numbers per group and metric: `{AGGREGATE_FILE}`.\n"
    );
}

/// `model.init` with what it resolved to: `he`, or `auto: he for relu; glorot for tanh, sigmoid`.
/// A language model's `## Generated text`: each activation's sample from
/// its first seed (samples.csv holds every run's); empty for other models.
fn generated(analysis: &Analysis) -> String {
    let samples = &analysis.results.samples;
    if samples.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n## Generated text\n\n{} tokens from each trained model, from the first token of the validation text, drawn at temperature 1 from the run's seed (every run's: `samples.csv`).\n\n",
        crate::train::record::samples::LENGTH
    );
    for (g, name) in analysis.groups.iter().zip(&analysis.labels) {
        let Some(sample) = samples.iter().find(|s| g.run_ids.contains(&s.run_id)) else { continue };
        // Four backticks fence any run of three in the text.
        let _ = writeln!(md, "**{name}** (seed {}):\n\n````text\n{}\n````\n", sample.seed, sample.text.trim_end());
    }
    md
}

fn inits(analysis: &Analysis) -> String {
    let mut schemes: Vec<(String, Vec<String>)> = Vec::new();
    for (label, scheme) in super::fairness::resolved_inits(analysis) {
        match schemes.iter_mut().find(|(s, _)| *s == scheme) {
            Some((_, labels)) => labels.push(label),
            None => schemes.push((scheme, vec![label])),
        }
    }
    let given = analysis.results.config.model.init.to_string();
    match schemes.as_slice() {
        [] => given,
        [(one, _)] if *one == given => given,
        [(one, _)] => format!("{given} ({one} for all)"),
        many => {
            let parts: Vec<String> = many.iter().map(|(s, l)| format!("{s} for {}", l.join(", "))).collect();
            format!("{given}: {}", parts.join("; "))
        }
    }
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn distinct(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::report::Results;

    #[test]
    fn two_entries_of_one_kind_are_named_by_their_labels() {
        let text = r#"activations = [{ name = "leaky_relu", slope = 0.1 }, { name = "leaky_relu", slope = 0.3 }]"#;
        let config = Config::parse(text, Path::new("t.toml"), "t").unwrap();
        let results = Results {
            config,
            summaries: Vec::new(),
            epochs: Vec::new(),
            gradients: Vec::new(),
            activations: Vec::new(),
            activation_steps: Vec::new(),
            learned: Vec::new(),
            samples: Vec::new(),
            search: Vec::new(),
            search_runs: Vec::new(),
        };
        let md = render(&Analysis::new(results));
        assert!(md.contains("How do leaky_relu(slope=0.1) and leaky_relu(slope=0.3) compare"), "{md}");
    }
}
