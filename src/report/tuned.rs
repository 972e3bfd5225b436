//! report.md's "Tuning" section (with `[tuning]`): what each activation
//! chose and on what, every setting's validation and test means, and the
//! ranking at each single shared setting next to the ranking with each
//! activation at its own.

use std::fmt::Write;

use super::{Analysis, leaf};
use crate::tuning::{Candidate, Tuned};

pub fn section(analysis: &Analysis, tuned: &Tuned) -> String {
    let keys = analysis.results.config.sweep.keys();
    let seeds = analysis.results.config.experiment.seeds.0.len();
    let test_of = |c: &Candidate| {
        let g = analysis.all_groups.iter().find(|g| g.is(&c.activation, &c.sweep, c.lr))?;
        let finite: Vec<f64> = g.values[0].iter().copied().filter(|v| v.is_finite()).collect();
        (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
    };
    let setting = |c: &Candidate| {
        let parts: Vec<String> =
            tuned.tuned_keys.iter().map(|k| format!("{}={}", leaf(k), tuned.value_of(&keys, c, k))).collect();
        parts.join(", ")
    };
    let score = |c: &Candidate| {
        let value = c.score.map_or("-".to_string(), |s| format!("{s:.4}"));
        match c.stopped_at {
            Some(e) => format!("stopped at epoch {e}: {value}"),
            None => value,
        }
    };
    let test = |c: &Candidate| test_of(c).map_or("-".to_string(), |t| format!("{t:.4}"));
    let drawn = analysis.results.config.sweep.is_drawn();
    let mut md = String::new();
    let _ = writeln!(md, "## Tuning\n");
    let _ = writeln!(
        md,
        "Each activation's {} chosen by the mean over its {seeds} seed(s) of `{}` at the {} epoch, on the validation split; the results table above shows each activation at its chosen setting, with the test accuracy of exactly those runs (no test number chose anything). A setting with a diverged run is not chosen.\n",
        tuned.tuned_keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and "),
        tuned.select.name(),
        tuned.epoch.name(),
    );
    if let Some(h) = analysis.results.config.tuning.as_ref().and_then(|t| t.halving) {
        let stopped = tuned.candidates.iter().filter(|c| c.stopped_at.is_some()).count();
        let rungs: Vec<String> =
            h.rungs(analysis.results.config.training.rounds()).iter().map(usize::to_string).collect();
        let _ = writeln!(
            md,
            "Successive halving (eta {}, rungs at epochs {}): after each rung the best 1/{} of each activation's settings went on; {stopped} of {} settings were stopped early (marked below, with their numbers at the epoch they stopped) and could not be chosen.\n",
            h.eta.0,
            rungs.join(", "),
            h.eta.0,
            tuned.candidates.len()
        );
    }
    let _ =
        writeln!(md, "| activation | chosen | {} (mean) | test acc (mean) |\n|---|---|---|---|", tuned.select.name());
    for (choice, label) in tuned.choices.iter().zip(&analysis.labels) {
        let c = &tuned.candidates[choice.chosen];
        let _ = writeln!(md, "| {label} | {} | {} | {} |", setting(c), score(c), test(c));
    }

    // Every setting of the tuned keys that some candidate has, in grid order.
    let mut settings: Vec<String> = Vec::new();
    for c in &tuned.candidates {
        if !settings.contains(&setting(c)) {
            settings.push(setting(c));
        }
    }
    let at = |choice: &crate::tuning::Choice, s: &str| {
        choice.candidates.iter().map(|&i| &tuned.candidates[i]).find(|c| setting(c) == s)
    };
    let header = |first: &str, last: &str| {
        let mut line = format!("| {first} |");
        for s in &settings {
            line.push_str(&format!(" {s} |"));
        }
        line.push_str(last);
        line.push('\n');
        line.push_str(&"|---".repeat(settings.len() + 1 + usize::from(!last.is_empty())));
        line.push_str("|\n");
        line
    };
    let cell = |choice: &crate::tuning::Choice, s: &str| match at(choice, s) {
        Some(c) if tuned.candidates[choice.chosen] == *c => format!("**{} / {}**", score(c), test(c)),
        Some(c) => format!("{} / {}", score(c), test(c)),
        None => "-".into(),
    };
    let _ = writeln!(
        md,
        "\n### Every setting\n\n`{}` / test accuracy, means over seeds; **bold**: chosen.\n",
        tuned.select.name()
    );
    if drawn {
        // Random search: a row per trial (a column each would run off the page).
        let _ =
            writeln!(md, "| trial | {} |\n|---{}|", analysis.labels.join(" | "), "|---".repeat(analysis.labels.len()));
        for s in &settings {
            let cells: Vec<String> = tuned.choices.iter().map(|choice| cell(choice, s)).collect();
            let _ = writeln!(md, "| {s} | {} |", cells.join(" | "));
        }
    } else {
        md.push_str(&header("activation", ""));
        for (choice, label) in tuned.choices.iter().zip(&analysis.labels) {
            let mut line = format!("| {label} |");
            for s in &settings {
                line.push_str(&format!(" {} |", cell(choice, s)));
            }
            let _ = writeln!(md, "{line}");
        }
    }

    // Ranks by mean test accuracy among the choices that share their fixed keys.
    let rank = |pick: &dyn Fn(&crate::tuning::Choice) -> Option<f64>| -> Vec<Option<usize>> {
        tuned
            .choices
            .iter()
            .map(|choice| {
                let mine = pick(choice)?;
                let peers = tuned.choices.iter().filter(|o| o.fixed == choice.fixed);
                Some(1 + peers.filter_map(pick).filter(|&v| v > mine).count())
            })
            .collect()
    };
    let own = rank(&|ch| test_of(&tuned.candidates[ch.chosen]));
    let shared: Vec<Vec<Option<usize>>> = settings.iter().map(|s| rank(&|ch| at(ch, s).and_then(&test_of))).collect();
    let show = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
    let moved = |ranks: &[Option<usize>]| -> Vec<String> {
        (0..ranks.len())
            .filter(|&i| ranks[i] != own[i])
            .map(|i| format!("{} {} -> {}", analysis.labels[i], show(ranks[i]), show(own[i])))
            .collect()
    };
    if drawn {
        md.push_str(&drawn_ranking(analysis, &settings, &shared, &own, &moved));
        return md;
    }
    let _ = writeln!(
        md,
        "\n### Ranking at one shared setting\n\nRank by mean test accuracy among the activations all trained at one setting, and with each at its own chosen setting (last column); `-`: stopped early or no finite accuracy.\n"
    );
    md.push_str(&header("activation", " own setting |"));
    for (i, label) in analysis.labels.iter().enumerate() {
        let mut line = format!("| {label} |");
        for ranks in &shared {
            line.push_str(&format!(" {} |", show(ranks[i])));
        }
        let _ = writeln!(md, "{line} {} |", show(own[i]));
    }
    md.push('\n');
    for (s, ranks) in settings.iter().zip(&shared) {
        let moved = moved(ranks);
        let verdict = if moved.is_empty() {
            "the same ranking as each at its own setting".to_string()
        } else {
            format!("a different ranking from each at its own setting ({})", moved.join(", "))
        };
        let _ = writeln!(md, "- At {s}: {verdict}.");
    }
    md.push('\n');
    md
}

/// Random search's ranking at the shared trials: how many of them rank the
/// activations as each at its own setting does, and those that do not
/// (with `shared = false` no trial is shared, which it says).
fn drawn_ranking(
    analysis: &Analysis,
    settings: &[String],
    shared: &[Vec<Option<usize>>],
    own: &[Option<usize>],
    moved: &dyn Fn(&[Option<usize>]) -> Vec<String>,
) -> String {
    let mut md = String::from("\n### Ranking at one shared setting\n\n");
    let common: Vec<(&String, &Vec<Option<usize>>)> =
        settings.iter().zip(shared).filter(|(_, ranks)| ranks.iter().all(Option::is_some)).collect();
    if common.is_empty() || analysis.labels.len() < 2 {
        md.push_str("No trial was trained by every activation (`tuning.shared = false` draws each its own), so no ranking at one shared setting can be made.\n\n");
        return md;
    }
    let differ: Vec<String> = common
        .iter()
        .filter_map(|(s, ranks)| {
            let m = moved(ranks);
            (!m.is_empty()).then(|| format!("- At {s}: {}.", m.join(", ")))
        })
        .collect();
    let own: Vec<String> = analysis
        .labels
        .iter()
        .zip(own)
        .map(|(l, r)| format!("{l} {}", r.map_or("-".to_string(), |r| r.to_string())))
        .collect();
    let _ = writeln!(
        md,
        "Rank by mean test accuracy among the activations trained at one trial, against each at its own chosen trial ({}): {} of the {} trials every activation trained rank them the same way{}\n",
        own.join(", "),
        common.len() - differ.len(),
        common.len(),
        if differ.is_empty() { "." } else { "; these do not:" }
    );
    for line in differ {
        let _ = writeln!(md, "{line}");
    }
    md.push('\n');
    md
}
