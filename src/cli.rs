//! The command line: argument parsing, one dispatch of every command (each
//! returns its exit code), and the commands' output. The work is done by
//! `run`, `report`, `check`, `rerun`, `activation`, `fetch` and `bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::activation::{self, ActivationKind, catalog};
use crate::backend;
use crate::chart;
use crate::backend::BackendKind;
use crate::config::Config;
use crate::data::DatasetKind;
use crate::data::files;
use crate::progress::Mode;
use crate::results::records::RunSummary;
use crate::results::dir::ResultsDir;
use crate::run::Options;

/// Folder searched for a config given by bare name.
const CONFIG_DIR: &str = "configs";

#[derive(Parser, Debug)]
#[command(
    name = "actbench",
    version,
    about = "Compare activation functions on real training runs: one TOML file in, CSV reports out.",
    args_conflicts_with_subcommands = true,
    after_help = "`actbench --config FILE` is the same as `actbench run --config FILE`."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train every run of an experiment file and write the CSV reports.
    Run(RunArgs),
    /// List the built-in activations, or print their values and derivatives.
    Activations(ActivationsArgs),
    /// Rebuild aggregate.csv, the plots and report.md of a results folder, without training.
    Report(ReportArgs),
    /// Plot every activation and its derivative on [-6, 6] (SVG and PNG).
    PlotActivations(PlotActivationsArgs),
    /// Compare a finished experiment with a baseline; exit 1 on a regression, 2 on bad input.
    Check(CheckArgs),
    /// Combine the runs that workers trained into the experiment's tables and report; exit 1 while some are missing.
    Merge(MergeArgs),
    /// Write (and with --submit, submit) a SLURM job array of workers and a merge job that follows it.
    Slurm(SlurmArgs),
    /// The grid of an experiment, run by run, and which runs are already finished in its results folder.
    Plan(PlanArgs),
    /// Update a baseline from a finished experiment, or show one.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Train one run again from its manifest.json; exit 1 if its results differ.
    Rerun(RerunArgs),
    /// Download a dataset (mnist, fashion_mnist, cifar10) into the data folder, verified.
    Fetch(FetchArgs),
    /// Train the reference workloads w1-w8 (scripts/torch_bench.py's) and report samples/s.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Comma-separated subset, e.g. w1,w6 [default: all].
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<String>,
    /// Timed epochs per workload; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
    repeats: u16,
    #[arg(long, value_enum, default_value = "flex")]
    backend: BackendArg,
    /// Also write the rows to this CSV file.
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FetchArgs {
    /// mnist, fashion_mnist or cifar10.
    dataset: String,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Base URL to fetch from instead of the canonical addresses (repeat for more mirrors).
    #[arg(long)]
    mirror: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RerunArgs {
    /// A run folder, e.g. results/relu_vs_sigmoid/runs/relu-lr0.05-s0.
    run_dir: PathBuf,
    /// Where to write the new run [default: a temporary folder, removed afterwards].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// The committed baseline, e.g. results/baselines/ci_regression.
    #[arg(long, required_unless_present = "expect", conflicts_with = "expect")]
    baseline: Option<PathBuf>,
    /// A study's claims instead of a baseline, e.g. experiments/uva_activation_functions/expected.toml (README, "Claims").
    #[arg(long)]
    expect: Option<PathBuf>,
    /// The experiment to check [default: results/<the baseline's experiment name>].
    #[arg(long)]
    current: Option<PathBuf>,
    /// The experiment to check, as --current (for --expect: required, one of the two).
    #[arg(conflicts_with = "current")]
    results: Option<PathBuf>,
    /// What to write: the text table, the verdict as JSON, JUnit XML (one
    /// test case per group) or Markdown (a CI job summary).
    /// Values: text, json, junit, markdown (checked by `check`, so a wrong one is one line, exit 2).
    #[arg(long, default_value = "text")]
    format: String,
    /// Write that to FILE (the text table still goes to stdout) instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum BaselineCommand {
    /// Copy what `check` needs (config.toml, summary.csv) from a finished experiment into a baseline folder, and print the change per group.
    Update {
        /// The finished experiment, e.g. results/ci_regression.
        #[arg(long)]
        from: PathBuf,
        /// The baseline folder (new, or an existing baseline), e.g. results/baselines/ci_regression.
        #[arg(long)]
        to: PathBuf,
        /// Keep an experiment some of whose runs are missing.
        #[arg(long)]
        allow_incomplete: bool,
        /// Keep an experiment that diverged in more runs than the baseline it replaces.
        #[arg(long)]
        allow_diverged: bool,
    },
    /// The groups, seeds and tolerances of a baseline.
    Show {
        /// A baseline folder.
        dir: PathBuf,
    },
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// The results folder the workers share.
    dir: PathBuf,
    /// Write the tables and the report of the runs finished so far even when some are missing.
    #[arg(long)]
    partial: bool,
    /// Folder that holds the dataset folders, read only when a sweep over `data.` keys measured normalisation statistics [default: $ACTBENCH_DATA, else ./data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SlurmArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    config: PathBuf,
    /// Results folder the workers share (on a file system every node sees) [default: results/<experiment name>/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Array tasks, i.e. workers.
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// CPUs per worker (its threads).
    #[arg(long, default_value_t = 1)]
    cpus_per_task: usize,
    /// Time limit per worker (sbatch --time, e.g. 04:00:00).
    #[arg(long)]
    time: Option<String>,
    #[arg(long)]
    partition: Option<String>,
    #[arg(long)]
    account: Option<String>,
    /// Memory per worker (sbatch --mem, e.g. 4G).
    #[arg(long)]
    mem: Option<String>,
    /// Backend of the workers, overriding the config's.
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Submit both jobs with sbatch and print their ids.
    #[arg(long)]
    submit: bool,
    /// Override one key of the experiment file for every worker (repeatable), as `run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args, Debug)]
struct PlanArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    config: PathBuf,
    /// Results folder to look in [default: results/<experiment name>/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Override one key of the experiment file (repeatable), as `run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// A folder written by `actbench run`, e.g. results/relu_vs_sigmoid.
    dir: PathBuf,
}

#[derive(Args, Debug)]
struct PlotActivationsArgs {
    /// Folder for the figures.
    #[arg(long, default_value = "results/activations")]
    out: PathBuf,
    /// Plot this formula instead of the catalog (repeatable), e.g. "x * sigmoid(x)".
    #[arg(long, allow_hyphen_values = true)]
    formula: Vec<String>,
    /// Plot the activations of this experiment file instead of the catalog.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
struct RunArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Results folder [default: results/<experiment name>/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Backend, overriding the config's experiment.backend.
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// No progress bars or per-run lines; errors only.
    #[arg(long, short)]
    quiet: bool,
    /// Train every run again, even those already finished in the results folder.
    #[arg(long)]
    force: bool,
    /// Folder that holds the dataset folders (mnist/, fashion_mnist/, cifar10/)
    /// [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Runs trained at the same time; the CPU threads are divided between them.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// One of several workers sharing --out (any hosts): claim runs one at a
    /// time and train them until none is left; no combined tables (`actbench merge` writes them).
    #[arg(long)]
    worker: bool,
    /// A worker that trains only the runs with grid index I-1 modulo N, e.g. 1/4.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Override one key of the experiment file (repeatable): `--set training.epochs=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum BackendArg {
    Flex,
    Ndarray,
    Wgpu,
    Cuda,
}

impl From<BackendArg> for BackendKind {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Flex => BackendKind::Flex,
            BackendArg::Ndarray => BackendKind::Ndarray,
            BackendArg::Wgpu => BackendKind::Wgpu,
            BackendArg::Cuda => BackendKind::Cuda,
        }
    }
}

#[derive(Args, Debug)]
struct ActivationsArgs {
    /// Print `activation,x,value,derivative` for every activation and point.
    #[arg(long)]
    csv: bool,
    /// Comma-separated points for --csv [default: -6 to 6 in steps of 0.25].
    #[arg(long, allow_hyphen_values = true)]
    points: Option<String>,
    /// A table of properties computed numerically: range, zero-centred,
    /// monotonic, smooth, saturating, maximum derivative, derivative at 0.
    #[arg(long, conflicts_with = "csv")]
    properties: bool,
    /// Backend that computes the values (with --csv).
    #[arg(long, value_enum, default_value = "flex")]
    backend: BackendArg,
    /// Show this formula instead of the catalog (repeatable), e.g. "x * sigmoid(x)".
    #[arg(long, allow_hyphen_values = true)]
    formula: Vec<String>,
    /// Show the activations of this experiment file instead of the catalog.
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Command {
    /// The exit code of a failure: `check` keeps 1 for a regression and
    /// says 2 for bad input, so CI can tell the two apart.
    fn failure_code(&self) -> u8 {
        match self {
            Command::Check(_) => 2,
            _ => 1,
        }
    }
}

/// Runs the command line and gives the exit code to end with; an error is
/// printed as one `Error: ...` line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    let failure = command.failure_code();
    match dispatch(command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(failure)
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run(args),
        Command::Activations(args) => activations(args),
        Command::Report(args) => report(&args),
        Command::PlotActivations(args) => plot_activations(&args),
        Command::Check(args) => check(&args),
        Command::Baseline(command) => baseline(command),
        Command::Merge(args) => merge(&args),
        Command::Plan(args) => plan(&args),
        Command::Slurm(args) => slurm(&args),
        Command::Rerun(args) => rerun(&args),
        Command::Fetch(args) => fetch(&args),
        Command::Bench(args) => bench(&args),
    }
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let written = crate::report::build(&args.dir)?;
    let names: Vec<String> = written.iter().map(ToString::to_string).collect();
    println!("wrote {} in {}", names.join(", "), args.dir.display());
    Ok(ExitCode::SUCCESS)
}

fn rerun(args: &RerunArgs) -> anyhow::Result<ExitCode> {
    let (out, temporary) = match &args.out {
        Some(out) => (out.clone(), false),
        None => (new_temporary_dir("actbench-rerun")?, true),
    };
    let result = crate::run::rerun::rerun(&args.run_dir, &out, &files::data_dir(args.data_dir.as_deref()));
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

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let format = <crate::check::Format as clap::ValueEnum>::from_str(&args.format, true).map_err(|_| {
        anyhow::anyhow!("--format `{}` is not one of text, json, junit, markdown", args.format.escape_debug())
    })?;
    let given = args.current.as_ref().or(args.results.as_ref());
    if let Some(expected) = &args.expect {
        let Some(dir) = given else {
            anyhow::bail!(
                "check --expect {}: give the results folder to check, e.g. `actbench check --expect {} results/<experiment>`",
                expected.display(),
                expected.display()
            );
        };
        let outcome = crate::check::expect::check(expected, dir)?;
        let rendered = match format {
            crate::check::Format::Text => outcome.table(),
            crate::check::Format::Json => serde_json::to_string_pretty(&outcome).expect("plain data") + "\n",
            crate::check::Format::Markdown => outcome.markdown(),
            crate::check::Format::Junit => crate::check::expect_junit(&outcome),
        };
        match &args.output {
            Some(path) => {
                crate::export::atomic::write_string(path, &rendered)
                    .with_context(|| format!("--output: cannot write '{}'", path.display()))?;
                print!("{}", outcome.table());
            }
            None => print!("{rendered}"),
        }
        return Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let baseline = args.baseline.as_ref().expect("clap requires --baseline without --expect");
    let current = match given {
        Some(dir) => dir.clone(),
        None => {
            let config = Config::load(&ResultsDir::new(baseline).config())?;
            Path::new("results").join(config.experiment.name)
        }
    };
    let verdict = crate::check::check(baseline, &current)?;
    match &args.output {
        Some(path) => {
            crate::export::atomic::write_string(path, &verdict.render(format))
                .with_context(|| format!("--output: cannot write '{}'", path.display()))?;
            print!("{}", verdict.table());
        }
        None => print!("{}", verdict.render(format)),
    }
    Ok(if verdict.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn baseline(command: BaselineCommand) -> anyhow::Result<ExitCode> {
    let text = match command {
        BaselineCommand::Update { from, to, allow_incomplete, allow_diverged } => {
            crate::check::baseline::update(&from, &to, &crate::check::baseline::UpdateOptions { allow_incomplete, allow_diverged })?
        }
        BaselineCommand::Show { dir } => crate::check::baseline::show(&dir)?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let Some(given) = args.config else {
        bail!("no experiment given: try `actbench --config relu_vs_sigmoid.toml` (configs/ holds the examples)");
    };
    let path = find_config(&given)?;
    let config = Config::load_with(&path, &args.set)?;
    let backend = args.backend.map(BackendKind::from).unwrap_or(config.experiment.backend);
    let out = args.out.unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    let data_dir = files::data_dir(args.data_dir.as_deref());
    let mut command_line =
        format!("actbench run --config {} --out {} --backend {}", path.display(), out.display(), backend.name());
    if config.data.dataset.files().is_some() {
        command_line.push_str(&format!(" --data-dir {}", data_dir.display()));
    }
    for set in &args.set {
        command_line.push_str(&format!(" --set '{set}'"));
    }
    let options = Options {
        out: out.clone(),
        backend,
        progress: Mode::detect(args.quiet),
        force: args.force,
        command_line,
        data_dir,
        jobs: args.jobs as usize,
    };
    crate::interrupt::install();
    if args.worker || args.shard.is_some() {
        let shard = args.shard.as_deref().map(crate::run::Shard::parse).transpose().map_err(anyhow::Error::msg)?;
        let (searched, worked) = match config.search {
            Some(_) => {
                let (searched, finals) = crate::search::work(&config, &options, shard)?;
                (Some(searched), finals)
            }
            None => (None, crate::run::work(&config, &options, shard)?),
        };
        if !args.quiet {
            if let Some(s) = &searched {
                println!(
                    "worker: the search: {} trainings over the rungs of its {} runs ({} were finished already)",
                    s.trained.len(),
                    s.share,
                    s.finished_before
                );
            }
            println!(
                "worker: trained {} of the {} runs of its share ({} were finished already); {}",
                worked.trained.len(),
                worked.share,
                worked.finished_before,
                if worked.claimed_by_others.is_empty() {
                    format!("run `actbench merge {}` once every worker is done", out.display())
                } else {
                    format!("{} held by other workers", worked.claimed_by_others.len())
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = match config.search {
        Some(_) => crate::search::run(&config, &options)?,
        None => crate::run::run(&config, &options)?,
    };
    if !args.quiet {
        print_table(&outcome.summaries());
        println!(
            "{} runs in {:.1}s on {}; results in {}",
            outcome.runs.len(),
            outcome.seconds,
            backend.name(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let merged = crate::run::merge(&args.dir, &files::data_dir(args.data_dir.as_deref()), args.partial)?;
    for (id, why) in &merged.unfinished {
        println!("{id}: {why}");
    }
    let state = format!("{} of {} runs finished", merged.finished, merged.runs);
    if merged.unfinished.is_empty() {
        println!("{state}; tables and report written in {}", args.dir.display());
        Ok(ExitCode::SUCCESS)
    } else if merged.written {
        println!("{state}; tables and report of those written in {} (--partial)", args.dir.display());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "Error: {state} in '{}': train the rest (the same workers again), or pass --partial",
            args.dir.display()
        );
        Ok(ExitCode::from(1))
    }
}

fn slurm(args: &SlurmArgs) -> anyhow::Result<ExitCode> {
    let path = find_config(&args.config)?;
    let config = Config::load_with(&path, &args.set)?;
    if args.submit && !crate::run::slurm::sbatch_available() {
        bail!(
            "sbatch was not found on PATH: --submit needs SLURM's client; without --submit the scripts are written for you to submit"
        );
    }
    let absolute = |p: &Path| std::path::absolute(p).with_context(|| format!("cannot resolve '{}'", p.display()));
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    let request = crate::run::slurm::Request {
        config: absolute(&path)?,
        out: absolute(&out)?,
        data_dir: absolute(&files::data_dir(args.data_dir.as_deref()))?,
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

fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let path = find_config(&args.config)?;
    let config = Config::load_with(&path, &args.set)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    if let Some(search) = &config.search {
        // The candidates, before any training: what the walk keeps and drops.
        let found = crate::search::space::candidates(search);
        println!("{:<60} state", "candidate");
        for c in &found.met {
            println!(
                "{:<60} {}",
                c.formula,
                c.dropped.as_deref().map_or("to train".into(), |d| format!("dropped: {d}"))
            );
        }
        let kept = found.kept().count();
        println!(
            "search: {} candidates in the space; the walk met {}: {kept} to train with {} seed(s) over rungs {:?}, {} dropped",
            found.size,
            found.met.len(),
            search.seeds.0,
            search.rungs.iter().map(|r| r.0).collect::<Vec<_>>(),
            found.met.len() - kept
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows = crate::run::merge::status(&config, &files::data_dir(args.data_dir.as_deref()), &out)?;
    println!("{:<48} state", "run");
    for (id, state) in &rows {
        println!("{id:<48} {state}");
    }
    let finished = rows.iter().filter(|(_, s)| s == "finished").count();
    println!("{} runs; {finished} finished in {}, {} to train", rows.len(), out.display(), rows.len() - finished);
    Ok(ExitCode::SUCCESS)
}

fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let device = backend::device(args.backend.into())?;
    crate::interrupt::install();
    let backend_kind = BackendKind::from(args.backend);
    let cpu = matches!(backend_kind, BackendKind::Flex | BackendKind::Ndarray);
    let bench = crate::bench::run(&args.workloads, args.repeats.into(), &device, cpu, &mut |line| eprintln!("{line}"))?;
    println!(
        "Training: 1 epoch x {} samples, batch 128, backend {}, {} threads; median of {} runs",
        crate::bench::TRAIN_SAMPLES,
        BackendKind::from(args.backend).name(),
        crate::results::manifest::threads(),
        args.repeats
    );
    print!("{}", crate::bench::table(&bench));
    if let Some(path) = &args.csv {
        crate::export::csv::write_rows(path, &bench.rows, &[])
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch(args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let downloadable: Vec<DatasetKind> = DatasetKind::all().filter(|d| d.files().is_some()).collect();
    let names: Vec<&str> = downloadable.iter().map(|d| d.name()).collect();
    let Some(dataset) = DatasetKind::lookup(&args.dataset).filter(|d| downloadable.contains(d)) else {
        bail!("unknown dataset `{}`: fetch one of {}", args.dataset, names.join(", "));
    };
    let data_dir = files::data_dir(args.data_dir.as_deref());
    crate::interrupt::install();
    let quiet = args.quiet;
    let mut log = |line: &str| {
        if !quiet {
            eprintln!("{}: {line}", dataset.name());
        }
    };
    let fetched = crate::data::fetch::fetch(dataset, &data_dir, &args.mirror, &mut log)?;
    if !quiet {
        println!(
            "{}: {} files written, {} already there, in {}",
            dataset.name(),
            fetched.written.len(),
            fetched.already_there.len(),
            files::dataset_dir(&data_dir, dataset).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `given` as is if it exists; else, for a bare name, `configs/<name>` (with
/// `.toml` added when missing).
fn find_config(given: &Path) -> anyhow::Result<PathBuf> {
    if given.is_file() {
        return Ok(given.to_path_buf());
    }
    let bare = given.components().count() == 1;
    let folder = |given: &Path| {
        anyhow::anyhow!(
            "config '{}' is a folder, not a file: give the path of a .toml file (e.g. {CONFIG_DIR}/tiny.toml)",
            given.display()
        )
    };
    if bare {
        let mut candidate = Path::new(CONFIG_DIR).join(given);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if candidate.extension().is_none() {
            candidate.set_extension("toml");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        if given.is_dir() {
            return Err(folder(given));
        }
        bail!(
            "config '{}' not found (looked for ./{0} and {CONFIG_DIR}/{0}): give a path to a .toml file",
            given.display()
        );
    }
    if given.is_dir() {
        return Err(folder(given));
    }
    bail!("config '{}' not found: give a path to a .toml file", given.display())
}

/// Mean (and spread over seeds) of the test accuracy per activation, sweep point and lr.
fn print_table(summaries: &[RunSummary]) {
    let mut groups: Vec<((String, f64), Vec<&RunSummary>)> = Vec::new();
    for s in summaries {
        let name = if s.sweep.is_empty() {
            s.activation.clone()
        } else {
            format!("{} @ {}", s.activation, s.sweep.join(", "))
        };
        let key = (name, s.lr);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    println!(
        "{:<28} {:>8} {:>5} {:>18} {:>16} {:>9}",
        "activation", "lr", "runs", "test acc (mean±sd)", "grad first/last", "diverged"
    );
    for ((activation, lr), runs) in groups {
        let accs: Vec<f64> = runs.iter().map(|r| r.test_accuracy).collect();
        let (mean, sd) = mean_sd(&accs);
        let ratios: Vec<f64> = runs.iter().filter_map(|r| r.grad_ratio_first_last).collect();
        let ratio = if ratios.is_empty() { "-".to_string() } else { format!("{:.3e}", mean_sd(&ratios).0) };
        let diverged = runs.iter().filter(|r| r.diverged).count();
        println!(
            "{activation:<28} {lr:>8} {:>5} {:>18} {ratio:>16} {diverged:>9}",
            runs.len(),
            format!("{mean:.4} ± {sd:.4}")
        );
    }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

fn activations(args: ActivationsArgs) -> anyhow::Result<ExitCode> {
    let kinds = shown_kinds(&args.formula, args.config.as_deref())?;
    if args.properties {
        let device = backend::device(args.backend.into())?;
        print!("{}", crate::activation::properties::table(&kinds, &device));
        return Ok(ExitCode::SUCCESS);
    }
    if !args.csv {
        if args.points.is_some() {
            bail!("--points goes with --csv: try `actbench activations --csv --points \"-3,0,3\"`");
        }
        if !args.formula.is_empty() || args.config.is_some() {
            bail!(
                "--formula and --config go with --csv or --properties: try `actbench activations --csv --formula \"x * sigmoid(x)\"`"
            );
        }
        print_catalog();
        return Ok(ExitCode::SUCCESS);
    }
    let points = match &args.points {
        Some(text) => parse_points(text)?,
        None => (0..49).map(|i| -6.0 + 0.25 * i as f32).collect(),
    };
    let device = backend::device(args.backend.into())?;
    let mut out = String::from("activation,x,value,derivative\n");
    for kind in kinds {
        let (values, derivatives) = activation::evaluate(kind, &points, &device);
        // A formula's label may hold commas (`where(x > 0, x, 0)`): quoted as CSV quotes.
        let label = kind.label();
        let label = if label.contains([',', '"']) { format!("\"{}\"", label.replace('"', "\"\"")) } else { label };
        for ((x, v), d) in points.iter().zip(values).zip(derivatives) {
            out.push_str(&format!("{label},{x},{v},{d}\n"));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn parse_points(text: &str) -> anyhow::Result<Vec<f32>> {
    let points = text
        .split(',')
        .map(|p| {
            let p = p.trim();
            p.parse::<f32>().ok().filter(|x| x.is_finite()).with_context(|| {
                format!(
                    "--points: `{p}` is not a finite number; give numbers separated by commas, e.g. \"-3,-0.5,0.5,3\""
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(points)
}

fn print_catalog() {
    for info in catalog::CATALOG {
        let aliases =
            if info.aliases.is_empty() { String::new() } else { format!(" (alias {})", info.aliases.join(", ")) };
        println!("{}{aliases}", info.name);
        println!("    f(x) = {}", info.formula);
        for p in info.params {
            let default = match p.default {
                catalog::ParamDefault::Float(v) => v.to_string(),
                catalog::ParamDefault::Bool(b) => b.to_string(),
            };
            println!("    {} = {default}  ({})", p.name, p.help);
        }
        println!("    {}", info.source);
    }
}

/// The activations `activations` and `plot-activations` show: the
/// `--formula`s and the `--config`'s entries, else the whole catalog at
/// default parameters.
fn shown_kinds(formulas: &[String], config: Option<&Path>) -> anyhow::Result<Vec<ActivationKind>> {
    let mut kinds = Vec::new();
    for formula in formulas {
        let kind = ActivationKind::from_formula(None, formula, &[])
            .map_err(|e| anyhow::anyhow!("--formula `{formula}`: {}", e.trim_start_matches("`formula` ")))?;
        kinds.push(kind);
    }
    if let Some(path) = config {
        kinds.extend(Config::load(&find_config(path)?)?.activations.iter().map(|a| a.kind));
    }
    if kinds.is_empty() {
        kinds = catalog::CATALOG.iter().map(ActivationKind::default_for).collect();
    }
    Ok(kinds)
}

fn plot_activations(args: &PlotActivationsArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    let kinds = shown_kinds(&args.formula, args.config.as_deref())?;
    let device = backend::device(BackendKind::Flex)?;
    // -6 to 6 in steps of 0.02: fine enough that kinks look sharp.
    let xs: Vec<f32> = (0..=600).map(|i| -6.0 + 0.02 * i as f32).collect();
    let curves: Vec<activation::Shape> = kinds
        .iter()
        .map(|&kind| {
            let (values, derivatives) = activation::evaluate(kind, &xs, &device);
            let points =
                xs.iter().zip(values).zip(derivatives).map(|((x, v), d)| (*x as f64, v as f64, d as f64)).collect();
            (kind.label(), points)
        })
        .collect();
    chart::save(&activation::Shapes { curves: curves.clone() }, out, "activations")?;
    chart::save(&activation::AllShapes { curves }, out, "all_activations")?;
    println!("wrote activations.svg/.png and all_activations.svg/.png in {}", out.display());
    Ok(ExitCode::SUCCESS)
}
