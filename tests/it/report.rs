//! Snapshot tests of the analysis: `actbench report` on a fixed results
//! folder (tests/data/report_fixture, written once by a real run of
//! tests/data/report_fixture/config.toml) must reproduce aggregate.csv and
//! report.md byte for byte (tests/snapshots/). After an intended change,
//! regenerate them with `UPDATE_SNAPSHOTS=1 cargo test --release --test report`
//! and review the diff.

use std::fs;
use std::path::Path;

use crate::common::{TempDir, run};
use actbench::results::dir::{AGGREGATE_FILE, CONFIG_FILE, REPORT_FILE, Table};

const FIXTURE: &str = "tests/data/report_fixture";
const CSVS: &[&str] = &[
    CONFIG_FILE,
    Table::Summary.file_name(),
    Table::Epochs.file_name(),
    Table::Gradients.file_name(),
    Table::Activations.file_name(),
];

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    for file in CSVS {
        fs::copy(from.join(file), to.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

fn check_snapshot(produced: &Path, name: &str) {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    let got = fs::read_to_string(produced).unwrap();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        fs::write(&snapshot, &got).unwrap();
        return;
    }
    let want = fs::read_to_string(&snapshot).unwrap_or_else(|e| panic!("{}: {e}", snapshot.display()));
    if got != want {
        let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{name} differs from its snapshot at line {}:\n  got:  {}\n  want: {}",
            line + 1,
            got.lines().nth(line).unwrap_or(""),
            want.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn report_rebuilds_the_same_aggregate_and_markdown() {
    let dir = TempDir::new();
    copy_fixture(dir.path());
    let out = run(&["report", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_snapshot(&dir.path().join(AGGREGATE_FILE), AGGREGATE_FILE);
    check_snapshot(&dir.path().join(REPORT_FILE), REPORT_FILE);
    let results = actbench::report::Results::load(&actbench::results::dir::ResultsDir::new(dir.path())).unwrap();
    for (stem, _) in actbench::report::figures(&actbench::report::Analysis::new(results)) {
        let svg = fs::read_to_string(dir.path().join(format!("plots/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{stem}.svg");
        let png = fs::read(dir.path().join(format!("plots/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png");
        assert!(png.len() > 10_000, "{stem}.png is nearly empty");
    }
}

#[test]
fn report_on_a_folder_without_results_is_a_clear_error() {
    let dir = TempDir::new();
    let out = run(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no summary.csv"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1);
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn plot_activations_draws_every_activation() {
    let dir = TempDir::new();
    let out = run(&["plot-activations", "--out", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = fs::read_to_string(dir.path().join("activations.svg")).unwrap();
    for info in actbench::activation::catalog::CATALOG {
        assert!(svg.contains(&format!(">\n{}\n</text>", info.name)), "{} missing", info.name);
    }
    assert!(dir.path().join("all_activations.png").is_file());
}

#[test]
fn properties_table_lists_every_activation() {
    let out = run(&["activations", "--properties"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2 + actbench::activation::catalog::CATALOG.len());
    let sigmoid = text.lines().find(|l| l.starts_with("| sigmoid |")).unwrap();
    assert!(sigmoid.contains("| both | 0.2500 | 0.2500 |"), "{sigmoid}");
}
