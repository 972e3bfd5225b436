//! `actbench rerun`: train one run again from its manifest and say whether its results differ.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::args::RerunArgs;
use crate::data::files;

pub(super) fn run(args: &RerunArgs) -> anyhow::Result<ExitCode> {
    let (out, temporary) = match &args.out {
        Some(out) => {
            crate::results::overwrite::results_folder("--out", out).map_err(anyhow::Error::msg)?;
            (out.clone(), false)
        }
        None => (new_temporary_dir("actbench-rerun")?, true),
    };
    let result =
        crate::run::rerun::rerun(&args.run_dir, &out, &files::data_dir(args.data_dir.as_deref(), Some(&args.run_dir)));
    if temporary {
        let _ = std::fs::remove_dir_all(&out);
    }
    let r = result?;
    if r.differences.is_empty() {
        println!("{}: identical results (wall-time columns aside)", r.run_id);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{}: results DIFFER", r.run_id);
        for d in &r.differences {
            println!("  {d}");
        }
        Ok(ExitCode::from(1))
    }
}

/// A folder of our own under the system's temporary folder (created here,
/// so removing it afterwards removes nobody else's files).
fn new_temporary_dir(prefix: &str) -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    let mut last = None;
    for attempt in 0..100 {
        let dir = base.join(format!("{prefix}-{}-{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt")).with_context(|| format!("cannot create a folder in '{}'", base.display()))
}
