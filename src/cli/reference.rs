//! What the book, the man page and the shells know of the command line,
//! generated from clap's definitions (args.rs) so that none can drift:
//! docs/src/reference/cli.md ([`markdown`]), docs/actbench.1 ([`man_page`]),
//! and `actbench completions SHELL`. tests/it/docs.rs checks that the
//! committed files equal what this writes (`ACTBENCH_BLESS=1` rewrites them).

use std::fmt::Write;

use clap::CommandFactory;

use super::Cli;

/// The command line's page of the book: every command, its usage, and every
/// flag with its help, default and values.
pub fn markdown() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = String::new();
    let _ = writeln!(out, "# Command line\n");
    let _ = writeln!(
        out,
        "<!-- Generated from src/cli/args.rs (src/cli/reference.rs); tests/it/docs.rs checks it. Rewrite with `ACTBENCH_BLESS=1 cargo test --release --test it docs::`. -->\n"
    );
    let _ = writeln!(out, "{}\n", cmd.get_about().map(|a| a.to_string()).unwrap_or_default());
    if let Some(after) = cmd.get_after_help() {
        let _ = writeln!(out, "{after}\n");
    }
    let _ = writeln!(
        out,
        "Exit codes: 0 success; 1 an error (one line on stderr), a regression of `check`, or runs still missing for `merge`; 2 bad input to `check`.\n"
    );
    for sub in cmd.get_subcommands() {
        section(sub, "actbench", &mut out);
    }
    out
}

fn section(cmd: &clap::Command, parent: &str, out: &mut String) {
    let name = format!("{parent} {}", cmd.get_name());
    let _ = writeln!(out, "## `{name}`\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{about}\n");
    }
    let usage = cmd.clone().bin_name(&name).render_usage().to_string();
    let _ = writeln!(out, "```text\n{}\n```\n", usage.trim_start_matches("Usage: "));
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version") && !a.is_hide_set())
        .collect();
    if !args.is_empty() {
        for arg in args {
            let _ = writeln!(out, "- {}", describe(arg));
        }
        let _ = writeln!(out);
    }
    for sub in cmd.get_subcommands() {
        section(sub, &name, out);
    }
}

/// `` `--out <OUT>`: Results folder [...] `` with its default and values.
fn describe(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| names.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let mut flag = match (arg.get_long(), arg.get_short()) {
        (Some(long), Some(short)) => format!("-{short}, --{long}"),
        (Some(long), None) => format!("--{long}"),
        (None, Some(short)) => format!("-{short}"),
        (None, None) => value.clone(),
    };
    if takes_value && (arg.get_long().is_some() || arg.get_short().is_some()) {
        flag.push(' ');
        flag.push_str(&value);
    }
    let help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
    let mut text = format!("`{flag}`: {}", help.split_whitespace().collect::<Vec<_>>().join(" "));
    let values: Vec<String> =
        arg.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| v.get_name().to_string()).collect();
    if !values.is_empty() && !text.contains("Values:") {
        let _ = write!(text, " Values: {}.", values.join(", "));
    }
    let defaults: Vec<String> = arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
    if !defaults.is_empty() {
        let _ = write!(text, " Default: `{}`.", defaults.join(","));
    }
    if arg.is_required_set() {
        text.push_str(" Required.");
    }
    text
}

/// The man page, `actbench.1` (roff), with every command listed.
pub fn man_page() -> String {
    let mut bytes = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut bytes).expect("rendering into memory cannot fail");
    String::from_utf8(bytes).expect("clap_mangen writes UTF-8")
}

/// A completion script for `shell`, written to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "actbench", out);
}
