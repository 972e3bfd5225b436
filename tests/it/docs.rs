//! The book (docs/src, an mdBook) and the README cannot drift from the
//! code: every page is in SUMMARY.md and every relative link resolves;
//! every TOML snippet parses (as a whole config, or as a claims file);
//! every `actbench ...` line names commands and flags that exist; the
//! generated references (command line, man page) equal what the code
//! writes, and the config and output references name every key and column;
//! every command of the tutorial runs.

use std::fs;
use std::path::{Path, PathBuf};

use actbench::config::Config;
use clap::CommandFactory;

use crate::common::{TempDir, actbench};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, experiments/README.md and every page of the book.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("experiments/README.md")];
    let mut stack = vec![root().join("docs/src")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The fenced code blocks of a page: (info string, text).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => current = Some((info.trim().to_string(), String::new())),
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The page's Markdown links `[text](target)` outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// `# A Heading: here` -> `a-heading-here`, as mdBook and GitHub make anchors.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' | '-' => Some('-'),
            c if c.is_alphanumeric() || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_page_is_in_the_summary_and_every_relative_link_resolves() {
    let summary_path = root().join("docs/src/SUMMARY.md");
    let summary = fs::read_to_string(&summary_path).unwrap();
    let listed: Vec<PathBuf> = links(&summary).iter().map(|l| root().join("docs/src").join(l)).collect();
    for page in pages().iter().filter(|p| p.starts_with(root().join("docs/src")) && **p != summary_path) {
        assert!(listed.contains(page), "{} is not in SUMMARY.md", page.display());
    }
    let mut checked = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            assert!(target.exists(), "{}: the link `{link}` leads nowhere", page.display());
            if !fragment.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let found = anchors(&fs::read_to_string(&target).unwrap());
                assert!(
                    found.iter().any(|a| a == fragment),
                    "{}: no heading `#{fragment}` in {}",
                    page.display(),
                    target.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} links");
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines: move the detail into the book");
    for must in [
        "cargo run --release -- --config relu_vs_sigmoid.toml",
        "scripts/setup.sh && cargo test --release --locked",
        "docs/src/tutorial.md",
    ] {
        assert!(readme.contains(must), "README.md lacks `{must}`");
    }
}

/// A TOML snippet of the docs: a whole config, the section of one it shows,
/// or a claims file. `toml,ignore` marks one that shows a mistake.
#[test]
fn every_toml_snippet_parses() {
    let mut checked = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        for (info, body) in blocks(&text) {
            if info != "toml" {
                continue;
            }
            checked += 1;
            let shown = format!("{}:\n{body}", page.display());
            let table: toml::Table = toml::from_str(&body).unwrap_or_else(|e| panic!("not TOML ({e}): {shown}"));
            if table.contains_key("claim") {
                continue; // a claims file: its checks need results (tests/it/expect.rs)
            }
            if let Err(e) = Config::parse(&body, Path::new("snippet.toml"), "snippet") {
                panic!("{e}\n{shown}");
            }
        }
    }
    assert!(checked >= 5, "only {checked} TOML snippets");
}

/// Each `actbench` command line of the docs (in code blocks) names a command
/// that exists, and flags that command takes.
#[test]
fn every_actbench_line_uses_commands_and_flags_that_exist() {
    let cli = actbench::cli::Cli::command();
    let mut checked = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        for (_, body) in blocks(&text) {
            for line in body.lines() {
                let line = line.trim().trim_start_matches("$ ");
                let rest = if let Some(rest) = line.strip_prefix("actbench ") {
                    rest
                } else if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
                    rest
                } else {
                    continue;
                };
                let words: Vec<&str> = rest.split('#').next().unwrap().split_whitespace().collect();
                let mut cmd = &cli;
                let mut i = 0;
                while let Some(sub) = words.get(i).and_then(|w| cmd.find_subcommand(w)) {
                    cmd = sub;
                    i += 1;
                }
                let run = cli.find_subcommand("run").unwrap();
                for word in &words[i..] {
                    for flag in word.trim_start_matches('[').split('|') {
                        let Some(long) = flag.strip_prefix("--") else { continue };
                        let long = long.split(['=', ']', '[']).next().unwrap();
                        let known = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some(long));
                        // `actbench --config F` is `run`'s flags on the bare command.
                        let ok = long == "help" || known(cmd) || (std::ptr::eq(cmd, &cli) && known(run));
                        assert!(ok, "{}: `--{long}` is not a flag of `{}`: {line}", page.display(), cmd.get_name());
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} command lines");
}

/// The committed command-line page and man page equal what the code writes;
/// `ACTBENCH_BLESS=1` writes them.
#[test]
fn the_generated_references_are_current() {
    for (path, text) in [
        ("docs/src/reference/cli.md", actbench::cli::reference::markdown()),
        ("docs/actbench.1", actbench::cli::reference::man_page()),
    ] {
        let path = root().join(path);
        if std::env::var_os("ACTBENCH_BLESS").is_some() {
            fs::write(&path, &text).unwrap();
        }
        let committed = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is out of date: run `ACTBENCH_BLESS=1 cargo test --release --test it docs::`",
            path.display()
        );
    }
    // Every command has its section.
    let page = actbench::cli::reference::markdown();
    for sub in actbench::cli::Cli::command().get_subcommands() {
        assert!(page.contains(&format!("## `actbench {}`", sub.get_name())), "{}", sub.get_name());
    }
}

#[test]
fn completions_are_written_for_each_shell() {
    for (shell, says) in [("bash", "complete -F"), ("zsh", "#compdef actbench"), ("fish", "complete -c actbench")] {
        let o = actbench().args(["completions", shell]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.contains(says) && script.contains("plot-activations"), "{shell}: {script:.200}");
    }
}

/// Every key of every section is in the config reference, as `key =` or `# key =`.
#[test]
fn the_config_reference_names_every_key() {
    let page = fs::read_to_string(root().join("docs/src/reference/config.md")).unwrap();
    let mut config = Config::parse("", Path::new("t.toml"), "t").unwrap();
    // The optional keys, set so that they are written out.
    let set = "[model]\nnorm = \"batch\"\ndropout = 0.1\ndepth = 20\nshortcut = \"a\"\nwidth = 8\nblocks = 1\n[training]\ngrad_clip_norm = 1.0\nflush_denormals = true\npatience = 3\n[data]\ntrain_samples = 10\nmean = [0.0]\nstd = [1.0]\n";
    let extra: toml::Table = toml::from_str(set).unwrap();
    let mut table = toml::Table::try_from(&config).unwrap();
    for (section, keys) in extra {
        let into = table.get_mut(&section).and_then(|t| t.as_table_mut()).unwrap();
        into.extend(keys.as_table().unwrap().clone());
    }
    config.tuning = Some(toml::from_str("tune = [\"training.lr\"]\nhalving = { eta = 3, min_epochs = 1 }").unwrap());
    config.search = Some(toml::from_str("").unwrap());
    let whole = toml::Table::try_from(&config).unwrap();
    for section in ["tuning", "search"] {
        table.insert(section.into(), whole[section].clone());
    }
    let mut missing = Vec::new();
    for (section, keys) in &table {
        let Some(keys) = keys.as_table() else {
            continue; // `activations`
        };
        assert!(page.contains(&format!("[{section}]")), "no [{section}] in the config reference");
        for key in keys.keys() {
            if !(page.contains(&format!("\n{key} =")) || page.contains(&format!("# {key} ="))) {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    assert!(missing.is_empty(), "keys the config reference does not name: {missing:?}");
}

/// Every column of every table a run writes is in the output reference.
#[test]
fn the_output_reference_names_every_column() {
    let page = fs::read_to_string(root().join("docs/src/reference/outputs.md")).unwrap();
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let o =
        actbench().args(["--config", "configs/tiny.toml", "--out", out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut missing = Vec::new();
    for table in actbench::results::dir::Table::ALL.iter().map(|t| t.file_name()).chain(["aggregate.csv"]) {
        let header = fs::read_to_string(out.join(table)).unwrap();
        for column in header.lines().next().unwrap().split(',') {
            let word = |at: usize| page[at..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let named = page.match_indices(column).any(|(i, _)| {
                let before = page[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                before && word(i + column.len())
            });
            if !named {
                missing.push(format!("{table}: {column}"));
            }
        }
    }
    assert!(missing.is_empty(), "columns the output reference does not name: {missing:?}");
}

/// A shell line's words: spaces split, double quotes group.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

/// The tutorial, in its order: each TOML block whose first line is
/// `# file: NAME` written to NAME, each `actbench` line of a `sh` block run,
/// in a folder of its own with the repository's data.
#[test]
fn the_tutorials_commands_run_as_written() {
    let text = fs::read_to_string(root().join("docs/src/tutorial.md")).unwrap();
    let dir = TempDir::new();
    let mut ran = 0;
    for (info, body) in blocks(&text) {
        if info == "toml" {
            let name =
                body.lines().next().and_then(|l| l.strip_prefix("# file: ")).expect("a tutorial file names itself");
            fs::write(dir.path().join(name.trim()), &body).unwrap();
        } else if info == "sh" {
            for line in body.lines().filter(|l| l.starts_with("actbench ")) {
                let args = words(line.strip_prefix("actbench ").unwrap());
                let o = std::process::Command::new(env!("CARGO_BIN_EXE_actbench"))
                    .args(&args)
                    .current_dir(dir.path())
                    .env("ACTBENCH_DATA", root().join("data"))
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "`{line}`: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                ran += 1;
            }
        }
    }
    assert!(ran >= 6, "only {ran} commands");
    // What the page says is there, is.
    let results = dir.path().join("results/ssgate");
    let report = fs::read_to_string(results.join("report.md")).unwrap();
    assert!(report.contains("Tuning"), "{report}");
    for file in
        ["plots/curves.png", "plots/gradient_flow.png", "plots/dead_saturated.png", "plots/learned.png", "learned.csv"]
    {
        assert!(results.join(file).is_file(), "{file}");
    }
    assert!(dir.path().join("shapes/activations.png").is_file());
    // The fixed run has no fairness warning (its claim `fair = true` holds, below) and draws the learned shapes.
    let fair = dir.path().join("results/ssgate-fair");
    assert!(fair.join("plots/learned_shapes.png").is_file());
    assert!(fs::read_to_string(fair.join("report.md")).unwrap().contains("## Fairness\n\nNo warning"));
    assert!(dir.path().join("learned/activations.png").is_file());
    let junit = fs::read_to_string(dir.path().join("ssgate-claims.xml")).unwrap();
    assert!(junit.contains("<testcase") && !junit.contains("<failure"), "{junit}");
    let summary = fs::read_to_string(results.join("summary.csv")).unwrap();
    assert!(summary.contains(",ssgate,"), "the label the page names");
}

/// The speed history is one row per run of scripts/bench_vs_pytorch.sh,
/// each with the header's columns and positive ratios; the figure is drawn from it.
#[test]
fn the_speed_history_is_well_formed() {
    let text = fs::read_to_string(root().join("docs/src/perf/history.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    assert_eq!(&header.iter().take(4).collect::<Vec<_>>(), &["date", "cpu", "commit", "rounds"]);
    let mut n = 0;
    for row in rows.records() {
        let row = row.unwrap();
        assert_eq!(row.len(), header.len(), "{row:?}");
        for (column, cell) in header.iter().zip(row.iter()).filter(|(c, v)| c.starts_with('w') && !v.is_empty()) {
            let ratio: f64 = cell.parse().unwrap_or_else(|_| panic!("{column}: {cell}"));
            assert!(ratio > 0.0 && ratio < 100.0, "{column}: {cell}");
        }
        n += 1;
    }
    let svg = fs::read_to_string(root().join("docs/src/perf/history.svg")).unwrap();
    assert!(
        svg.contains(&format!("{n} runs")) || svg.matches("<text transform").count() == n,
        "redraw with scripts/perf_history.py"
    );
}
