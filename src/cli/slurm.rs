//! `actbench slurm`: write (and with `--submit`, submit) a SLURM job array of
//! workers and the merge job that follows it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::args::SlurmArgs;
use super::config_path::find_config;
use crate::backend::BackendKind;
use crate::config::Config;
use crate::data::files;

pub(super) fn run(args: &SlurmArgs) -> anyhow::Result<ExitCode> {
    let path = find_config(&args.config)?;
    let config = Config::load_with(&path, &args.set)?;
    if args.submit && !crate::run::slurm::sbatch_available() {
        bail!(
            "sbatch was not found on PATH: --submit needs SLURM's client; without --submit the scripts are written for you to submit"
        );
    }
    let absolute = |p: &Path| std::path::absolute(p).with_context(|| format!("cannot resolve '{}'", p.display()));
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    crate::results::overwrite::results_folder("--out", &out).map_err(anyhow::Error::msg)?;
    let request = crate::run::slurm::Request {
        config: absolute(&path)?,
        out: absolute(&out)?,
        data_dir: absolute(&files::data_dir(args.data_dir.as_deref(), Some(&path)))?,
        name: config.experiment.name.clone(),
        tasks: args.tasks,
        cpus_per_task: args.cpus_per_task,
        time: args.time.clone(),
        partition: args.partition.clone(),
        account: args.account.clone(),
        mem: args.mem.clone(),
        backend: args.backend.map(|b| BackendKind::from(b).name().to_string()),
        set: args.set.clone(),
    };
    let scripts = crate::run::slurm::write(&request)?;
    if args.submit {
        let (array, merge) = crate::run::slurm::submit(&scripts)?;
        println!("submitted array job {array} ({} workers) and merge job {merge} (after it)", args.tasks);
        println!("watch: squeue -j {array},{merge}; results in {}", request.out.display());
    } else {
        println!("wrote {} and {}; submit with:", scripts.array.display(), scripts.merge.display());
        println!("  array=$(sbatch --parsable {})", scripts.array.display());
        println!("  sbatch --dependency=afterany:$array {}", scripts.merge.display());
    }
    Ok(ExitCode::SUCCESS)
}
