//! What a command may write: never over a file it reads, never into a
//! results folder (or a baseline) it was not asked to write, never over a
//! user's own files by taking their folder for a results folder. Each
//! command that takes an output path (`check --output`, `bench --csv`,
//! `plot-activations --out`, `run`/`slurm`/`rerun --out`, `report`, `merge`)
//! asks here first, so a refusal is one line and nothing is written.

use std::path::{Component, Path, PathBuf};

use super::dir::{CONFIG_FILE, LOCK_FILE, NAMES, RUNS_DIR, SEARCH_DIR, SLURM_DIR, Table};

/// Whether `dir` is a results folder actbench wrote: it has `runs/`, or a
/// search's `search/runs/` (the finalists' `runs/` comes after the
/// search), or `actbench slurm`'s scripts (written before any worker runs).
pub fn is_results(dir: &Path) -> bool {
    dir.join(RUNS_DIR).is_dir()
        || dir.join(SEARCH_DIR).join(RUNS_DIR).is_dir()
        || dir.join(SLURM_DIR).join(super::dir::SLURM_ARRAY_SCRIPT).is_file()
}

/// Whether `dir` holds an experiment's tables: its config and summary (a
/// results folder, a copy of its tables, or a baseline).
fn holds_tables(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file() && dir.join(Table::Summary.file_name()).is_file()
}

/// Whether `dir` is a baseline (`actbench baseline update`: a config and a
/// summary alone, no `runs/` and no other table).
pub fn is_baseline(dir: &Path) -> bool {
    holds_tables(dir) && !is_results(dir) && !dir.join(Table::Epochs.file_name()).exists()
}

/// `path` absolute, with the links of its longest existing part resolved
/// (a file about to be created has no links of its own yet).
pub fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return absolute,
        }
    }
}

/// The results folder or baseline that `path` (resolved) lies inside, with
/// the name of its own that holds it (`runs`, `summary.csv`, ...): `None`
/// when `path` is no part of one, or is a file of a name actbench never
/// writes there (`results/x/check.xml`).
fn owner(path: &Path) -> Option<(PathBuf, String)> {
    let mut child = path;
    for folder in path.ancestors().skip(1) {
        let name = child.strip_prefix(folder).ok()?.components().next();
        if let Some(Component::Normal(name)) = name
            && (is_results(folder) || holds_tables(folder))
        {
            let name = name.to_string_lossy();
            if NAMES.contains(&name.as_ref()) {
                return Some((folder.to_path_buf(), name.into_owned()));
            }
        }
        child = folder;
    }
    None
}

/// A file `flag` asks to write (`--output FILE`): not a folder or a
/// device, not a file the command reads (`reads`), not a file of a results
/// folder. Returns the path to write: a link's target, so that writing
/// replaces the file it points to, not the link.
pub fn output_file(flag: &str, output: &Path, reads: &[&Path]) -> Result<PathBuf, String> {
    let shown = output.display();
    if let Ok(meta) = std::fs::metadata(output)
        && !meta.is_file()
    {
        let what = if meta.is_dir() { "a folder" } else { "not a regular file (a device or a pipe)" };
        return Err(format!("{flag} '{shown}' is {what}: give the path of a file to write"));
    }
    let target = resolved(output);
    if let Some(read) = reads.iter().find(|r| resolved(r) == target) {
        return Err(format!(
            "{flag} '{shown}' is '{}', which this command reads: write to another file",
            read.display()
        ));
    }
    if let Some((folder, name)) = owner(&target) {
        return Err(format!(
            "{flag} '{shown}' would write over {name} of the results folder '{}', which this command does not write: give a path outside it, or a name of your own in it (e.g. '{}')",
            folder.display(),
            folder.join("check.txt").display()
        ));
    }
    Ok(target)
}

/// A folder `flag` asks to write as a results folder (`run --out`): new,
/// empty, a results folder already (to resume or extend it), or a folder of
/// other files none of whose names a results folder uses; never a baseline,
/// and never inside a results folder's own parts (`results/x/runs/y`).
pub fn results_folder(flag: &str, out: &Path) -> Result<(), String> {
    let shown = out.display();
    match std::fs::metadata(out) {
        Ok(meta) if !meta.is_dir() => return Err(format!("{flag} '{shown}' is a file, not a folder: give a folder")),
        Ok(_) => {
            if is_baseline(out) {
                return Err(format!(
                    "{flag} '{shown}' is a baseline (a config.toml and a summary.csv without runs/), which only `actbench baseline update` writes: give another folder"
                ));
            }
            // The lock is actbench's own (a writer that has not made runs/ yet).
            if !is_results(out)
                && let Some(name) = NAMES.iter().filter(|n| **n != LOCK_FILE).find(|n| out.join(n).exists())
            {
                return Err(format!(
                    "{flag} '{shown}' holds a {name} of its own but is not a results folder (it has no runs/): give a new or empty folder"
                ));
            }
        }
        Err(_) => {}
    }
    outside_results(flag, out)
}

/// A folder `flag` asks to write that must lie in no results folder's or
/// baseline's own parts (`results/x/runs/new`, `results/x/plots`).
pub fn outside_results(flag: &str, dir: &Path) -> Result<(), String> {
    if let Some((folder, name)) = owner(&resolved(dir)) {
        return Err(format!(
            "{flag} '{}' lies in {name} of the results folder '{}': give a folder outside it",
            dir.display(),
            folder.display()
        ));
    }
    Ok(())
}

/// A folder whose tables or report a command rewrites (`report DIR`,
/// `merge DIR`): never a baseline, which holds only what `baseline update`
/// writes and which `check` reads.
pub fn not_a_baseline(dir: &Path) -> Result<(), String> {
    if is_baseline(dir) {
        return Err(format!(
            "'{}' is a baseline (a config.toml and a summary.csv alone), which only `actbench baseline update` writes: give a results folder",
            dir.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_inside_results_folders_are_refused_by_name() {
        let root = std::env::temp_dir().join(format!("actbench-overwrite-{}", std::process::id()));
        let results = root.join("results/x");
        std::fs::create_dir_all(results.join("runs/a")).unwrap();
        std::fs::write(results.join("summary.csv"), "x\n").unwrap();
        let claims = root.join("claims.toml");
        std::fs::write(&claims, "").unwrap();
        assert!(output_file("--output", &results.join("summary.csv"), &[]).unwrap_err().contains("summary.csv"));
        assert!(output_file("--output", &results.join("runs/a/new.csv"), &[]).unwrap_err().contains("runs"));
        assert!(output_file("--output", &results, &[]).unwrap_err().contains("a folder"));
        assert!(output_file("--output", &claims, &[&claims]).unwrap_err().contains("reads"));
        assert!(output_file("--output", &results.join("check.xml"), &[&claims]).is_ok());
        assert!(output_file("--output", &root.join("new/verdict.json"), &[]).is_ok());
        // Through a link and `..` (resolved as the kernel does: the link first): the same file.
        std::os::unix::fs::symlink(&results, root.join("link")).unwrap();
        assert!(output_file("--output", &root.join("link/../x/report.md"), &[]).is_err());
        assert!(output_file("--output", &root.join("link/aggregate.csv"), &[]).is_err());
        // --out: a results folder, new or empty is fine; a user's folder with a config.toml, a baseline, a run's folder are not.
        assert!(results_folder("--out", &results).is_ok() && results_folder("--out", &root.join("fresh")).is_ok());
        assert!(results_folder("--out", &results.join("runs/b")).unwrap_err().contains("lies in runs"));
        let mine = root.join("mine");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "").unwrap();
        assert!(results_folder("--out", &mine).is_ok());
        std::fs::write(mine.join("config.toml"), "").unwrap();
        assert!(results_folder("--out", &mine).unwrap_err().contains("config.toml of its own"));
        std::fs::write(mine.join("summary.csv"), "").unwrap();
        assert!(results_folder("--out", &mine).unwrap_err().contains("baseline"));
        assert!(not_a_baseline(&mine).unwrap_err().contains("baseline") && not_a_baseline(&results).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
