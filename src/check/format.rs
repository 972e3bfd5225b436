//! A verdict as text (the table on stdout), JSON (the verdict itself), JUnit
//! XML (one test case per group and per sure ordering, so GitHub, GitLab and
//! Jenkins list each as a test) and Markdown (a job summary).
//!
//! The XML is written here rather than through quick-junit: that crate turns
//! on `uuid/std` and `memchr/default`, which Burn's crates share, so adding it
//! rebuilds Burn in both target folders (about 16 and 38 minutes on these 2
//! cores). The format is small; the escaping below covers XML 1.0's rules and
//! the tests parse the output with junitparser.

use std::fmt::Write;

use super::{GroupCheck, OrderingCheck, Verdict};

/// The formats `check --format` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
}

impl Verdict {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text(self),
            Format::Json => serde_json::to_string_pretty(self).expect("a verdict serialises") + "\n",
            Format::Junit => junit(self),
            Format::Markdown => markdown(self),
        }
    }
}

fn number(x: Option<f64>) -> String {
    x.map_or_else(|| "NaN".to_string(), |x| format!("{x:.4}"))
}

fn difference(g: &GroupCheck) -> Option<f64> {
    Some(g.current? - g.baseline?)
}

/// The verdict of a group in a word, then why.
fn group_verdict(g: &GroupCheck) -> String {
    if g.passed() { "ok".into() } else { format!("REGRESSION: {}", g.failures.join("; ")) }
}

fn ordering_name(o: &OrderingCheck) -> String {
    format!("{} > {}", o.better, o.worse)
}

fn ordering_failure(o: &OrderingCheck) -> String {
    format!(
        "`{}` now beats `{}` ({} vs {}), reversing a baseline ordering with p = {:.1e}",
        o.worse,
        o.better,
        number(o.current_worse),
        number(o.current_better),
        o.p
    )
}

/// The line that says what the numbers are, where they are not test accuracies.
fn measure(v: &Verdict) -> String {
    if v.metric == "test_accuracy" { String::new() } else { format!("mean {} per group (lower is better)\n", v.metric) }
}

pub(super) fn text(v: &Verdict) -> String {
    let mut out = measure(v);
    out += &format!(
        "{:<32} {:>9} {:>9} {:>11} {:>10}  verdict\n",
        "group", "baseline", "current", "difference", "tolerance"
    );
    for g in &v.groups {
        let diff = difference(g).map_or_else(|| "NaN".to_string(), |d| format!("{d:+.4}"));
        let _ = writeln!(
            out,
            "{:<32} {:>9} {:>9} {:>11} {:>10.4}  {}",
            g.group,
            number(g.baseline),
            number(g.current),
            diff,
            g.tolerance,
            group_verdict(g)
        );
    }
    for o in v.orderings.iter().filter(|o| o.reversed) {
        let _ = writeln!(out, "REGRESSION: {}", ordering_failure(o));
    }
    let _ = writeln!(out, "{}", if v.passed { "check passed" } else { "check FAILED: regression" });
    out
}

fn markdown(v: &Verdict) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "### actbench check: {} {}\n\n`{}` against the baseline `{}`.\n\n",
        cell(&v.experiment),
        if v.passed { "passed" } else { "FAILED" },
        cell(&v.current_dir),
        cell(&v.baseline_dir)
    );
    out.push_str(&measure(v).replace('\n', "\n\n"));
    out.push_str("| group | baseline | current | difference | tolerance | runs | verdict |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for g in &v.groups {
        let diff = difference(g).map_or_else(|| "NaN".to_string(), |d| format!("{d:+.4}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.4} | {} | {} |",
            cell(&g.group),
            number(g.baseline),
            number(g.current),
            diff,
            g.tolerance,
            g.current_runs,
            if g.passed() { "✅ ok".to_string() } else { format!("❌ {}", cell(&g.failures.join("; "))) }
        );
    }
    if !v.orderings.is_empty() {
        out.push_str("\n| baseline ordering | p | now | verdict |\n|---|---:|---|---|\n");
        for o in &v.orderings {
            let _ = writeln!(
                out,
                "| {} | {:.1e} | {} vs {} | {} |",
                cell(&ordering_name(o)),
                o.p,
                number(o.current_better),
                number(o.current_worse),
                if o.reversed { "❌ reversed" } else { "✅ holds" }
            );
        }
    }
    out
}

/// JUnit XML as the common readers take it (the Ant/Surefire schema):
/// `testsuites > testsuite > testcase`, a failing case carrying `<failure>`.
fn junit(v: &Verdict) -> String {
    let tests = v.groups.len() + v.orderings.len();
    let failures = v.groups.iter().filter(|g| !g.passed()).count() + v.orderings.iter().filter(|o| o.reversed).count();
    let suite = format!("actbench check: {}", v.experiment);
    let mut out = opening(&suite, tests, failures);
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [("baseline", &v.baseline_dir), ("current", &v.current_dir)] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", escape(value));
    }
    let _ = writeln!(out, "    </properties>");
    for g in &v.groups {
        let details = format!(
            "baseline mean {} {} over {} runs, current {} over {} runs, difference {}, tolerance {:.4}; diverged runs: baseline {}, current {}",
            v.metric.replace('_', " "),
            number(g.baseline),
            g.baseline_runs,
            number(g.current),
            g.current_runs,
            difference(g).map_or_else(|| "NaN".to_string(), |d| format!("{d:+.4}")),
            g.tolerance,
            g.baseline_diverged,
            g.current_diverged
        );
        let failure = (!g.passed()).then(|| g.failures.join("; "));
        case(&mut out, "actbench.check.accuracy", &g.group, failure.as_deref(), &details);
    }
    for o in &v.orderings {
        let details = format!(
            "baseline: `{}` above `{}` with Welch p = {:.1e}; current means {} vs {}",
            o.better,
            o.worse,
            o.p,
            number(o.current_better),
            number(o.current_worse)
        );
        let failure = o.reversed.then(|| ordering_failure(o));
        case(&mut out, "actbench.check.ordering", &ordering_name(o), failure.as_deref(), &details);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The XML declaration and the opening `testsuites` and `testsuite` tags.
fn opening(suite: &str, tests: usize, failures: usize) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"0\"");
    let _ = writeln!(out, "<testsuites name=\"{}\" {counts}>", escape(suite));
    let _ = writeln!(out, "  <testsuite name=\"{}\" {counts} skipped=\"0\">", escape(suite));
    out
}

/// A study's claims as JUnit XML: one test case per claim.
pub fn expect_junit(o: &super::expect::Outcome) -> String {
    let tests = o.claims.len();
    let failures = o.claims.iter().filter(|c| !c.holds).count();
    let suite = format!("actbench check --expect {}", o.expected);
    let mut out = opening(&suite, tests, failures);
    for c in &o.claims {
        let details =
            format!("measured {}{}", c.measured, c.paper.as_ref().map(|p| format!("; paper {p}")).unwrap_or_default());
        let failure = (!c.holds).then(|| format!("does not hold: measured {}; needed {}", c.measured, c.needed));
        case(&mut out, "actbench.check.expect", &c.claim, failure.as_deref(), &details);
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}

fn case(out: &mut String, class: &str, name: &str, failure: Option<&str>, details: &str) {
    let _ = write!(out, "    <testcase name=\"{}\" classname=\"{class}\" time=\"0\">", escape(name));
    match failure {
        Some(message) => {
            let _ = write!(
                out,
                "\n      <failure message=\"{}\" type=\"regression\">{}</failure>\n    ",
                escape(message),
                escape(details)
            );
        }
        None => {
            let _ = write!(out, "\n      <system-out>{}</system-out>\n    ", escape(details));
        }
    }
    out.push_str("</testcase>\n");
}

/// Text for an XML attribute or element: the five special characters as
/// entities, and the characters XML 1.0 cannot hold at all (controls other
/// than tab, newline and carriage return) as U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> Verdict {
        Verdict {
            metric: "test_accuracy".into(),
            baseline_dir: "base".into(),
            current_dir: "a <&> \"b\"".into(),
            experiment: "exp".into(),
            groups: vec![
                GroupCheck {
                    group: "relu".into(),
                    baseline: Some(0.95),
                    current: Some(0.90),
                    tolerance: 0.02,
                    baseline_runs: 3,
                    current_runs: 3,
                    baseline_diverged: 0,
                    current_diverged: 0,
                    failures: vec!["test accuracy dropped by 0.0500, more than the tolerance 0.0200".into()],
                },
                GroupCheck {
                    group: "leaky_relu(slope=0.1)".into(),
                    baseline: Some(0.95),
                    current: None,
                    tolerance: 0.02,
                    baseline_runs: 3,
                    current_runs: 3,
                    baseline_diverged: 0,
                    current_diverged: 3,
                    failures: vec![],
                },
            ],
            orderings: vec![OrderingCheck {
                better: "relu".into(),
                worse: "sigmoid".into(),
                p: 1e-4,
                current_better: Some(0.9),
                current_worse: Some(0.5),
                reversed: false,
            }],
            passed: false,
        }
    }

    #[test]
    fn escaping_covers_xml_special_and_forbidden_characters() {
        assert_eq!(escape("a<b>&\"c'\u{0}\t"), "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\t");
    }

    #[test]
    fn json_round_trips_and_nan_is_null() {
        let v = verdict();
        let json = v.render(Format::Json);
        assert!(json.contains("\"current\": null"), "{json}");
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
    }

    #[test]
    fn junit_has_a_case_per_group_and_ordering_and_counts_failures() {
        let xml = verdict().render(Format::Junit);
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
        assert!(xml.contains("value=\"a &lt;&amp;&gt; &quot;b&quot;\""), "{xml}");
    }

    #[test]
    fn markdown_is_one_table_row_per_group() {
        let md = verdict().render(Format::Markdown);
        assert!(md.starts_with("### actbench check: exp FAILED"), "{md}");
        assert!(md.contains("| relu | 0.9500 | 0.9000 | -0.0500 | 0.0200 | 3 | ❌ test accuracy dropped"), "{md}");
        assert!(md.contains("| relu > sigmoid | 1.0e-4 | 0.9000 vs 0.5000 | ✅ holds |"), "{md}");
    }
}
