//! The command line's arguments: clap's definitions of every command and its
//! flags, whose doc comments are the `--help` texts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::BackendKind;

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
    pub(super) command: Option<Command>,
    #[command(flatten)]
    pub(super) run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
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
    /// Train the reference workloads w1-w10 (scripts/torch_bench.py's) and report samples/s.
    Bench(BenchArgs),
    /// Print a shell completion script, e.g. `actbench completions bash > ~/.local/share/bash-completion/completions/actbench`.
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub(super) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(super) shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub(super) struct BenchArgs {
    /// Comma-separated subset, e.g. w1,w6 [default: all].
    #[arg(long, value_delimiter = ',')]
    pub(super) workloads: Vec<String>,
    /// Timed epochs per workload; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(super) repeats: u16,
    #[arg(long, value_enum, default_value = "flex")]
    pub(super) backend: BackendArg,
    /// Also write the rows to this CSV file.
    #[arg(long)]
    pub(super) csv: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct FetchArgs {
    /// mnist, fashion_mnist or cifar10.
    pub(super) dataset: String,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
    /// Base URL to fetch from instead of the canonical addresses (repeat for more mirrors).
    #[arg(long)]
    pub(super) mirror: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

#[derive(Args, Debug)]
pub(super) struct RerunArgs {
    /// A run folder, e.g. results/relu_vs_sigmoid/runs/relu-lr0.05-s0.
    pub(super) run_dir: PathBuf,
    /// Where to write the new run [default: a temporary folder, removed afterwards].
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct CheckArgs {
    /// The committed baseline, e.g. results/baselines/ci_regression.
    #[arg(long, required_unless_present = "expect", conflicts_with = "expect")]
    pub(super) baseline: Option<PathBuf>,
    /// A study's claims instead of a baseline, e.g. experiments/uva_activation_functions/expected.toml (docs/src/studies-and-claims.md).
    #[arg(long)]
    pub(super) expect: Option<PathBuf>,
    /// The experiment to check [default: results/<the baseline's experiment name>].
    #[arg(long)]
    pub(super) current: Option<PathBuf>,
    /// The experiment to check, as --current (for --expect: required, one of the two).
    #[arg(conflicts_with = "current")]
    pub(super) results: Option<PathBuf>,
    /// What to write: the text table, the verdict as JSON, JUnit XML (one
    /// test case per group) or Markdown (a CI job summary).
    /// Values: text, json, junit, markdown (checked by `check`, so a wrong one is one line, exit 2).
    #[arg(long, default_value = "text")]
    pub(super) format: String,
    /// Write that to FILE (the text table still goes to stdout) instead of stdout.
    #[arg(long)]
    pub(super) output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(super) enum BaselineCommand {
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
pub(super) struct MergeArgs {
    /// The results folder the workers share.
    pub(super) dir: PathBuf,
    /// Write the tables and the report of the runs finished so far even when some are missing.
    #[arg(long)]
    pub(super) partial: bool,
    /// Folder that holds the dataset folders, read only when a sweep over `data.` keys measured normalisation statistics [default: $ACTBENCH_DATA, else ./data]
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct SlurmArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    pub(super) config: PathBuf,
    /// Results folder the workers share (on a file system every node sees) [default: results/<experiment name>/].
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Array tasks, i.e. workers.
    #[arg(long, default_value_t = 4)]
    pub(super) tasks: usize,
    /// CPUs per worker (its threads).
    #[arg(long, default_value_t = 1)]
    pub(super) cpus_per_task: usize,
    /// Time limit per worker (sbatch --time, e.g. 04:00:00).
    #[arg(long)]
    pub(super) time: Option<String>,
    #[arg(long)]
    pub(super) partition: Option<String>,
    #[arg(long)]
    pub(super) account: Option<String>,
    /// Memory per worker (sbatch --mem, e.g. 4G).
    #[arg(long)]
    pub(super) mem: Option<String>,
    /// Backend of the workers, overriding the config's.
    #[arg(long, value_enum)]
    pub(super) backend: Option<BackendArg>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
    /// Submit both jobs with sbatch and print their ids.
    #[arg(long)]
    pub(super) submit: bool,
    /// Override one key of the experiment file for every worker (repeatable), as `run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) set: Vec<String>,
}

#[derive(Args, Debug)]
pub(super) struct PlanArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    pub(super) config: PathBuf,
    /// Results folder to look in [default: results/<experiment name>/].
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Folder that holds the dataset folders [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
    /// Override one key of the experiment file (repeatable), as `run --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) set: Vec<String>,
}

#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    /// A folder written by `actbench run`, e.g. results/relu_vs_sigmoid.
    pub(super) dir: PathBuf,
}

#[derive(Args, Debug)]
pub(super) struct PlotActivationsArgs {
    /// Folder for the figures.
    #[arg(long, default_value = "results/activations")]
    pub(super) out: PathBuf,
    /// Plot this formula instead of the catalog (repeatable), e.g. "x * sigmoid(x)".
    #[arg(long, allow_hyphen_values = true)]
    pub(super) formula: Vec<String>,
    /// Plot the activations of this experiment file instead of the catalog.
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// Set a parameter of the activations plotted (repeatable): `--param beta=1.5` gives a
    /// --formula's `beta` its value, `--param slope=0.2` a built-in's (booleans as true or false).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub(super) param: Vec<String>,
    /// Plot a finished run's activation at the values it learned, one curve per layer, beside
    /// its starting shape, e.g. results/NAME/runs/RUN_ID.
    #[arg(long, value_name = "RUN_DIR")]
    pub(super) from_run: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
pub(super) struct RunArgs {
    /// Experiment file; a bare name not found as given is looked up in configs/.
    #[arg(long, short)]
    pub(super) config: Option<PathBuf>,
    /// Results folder [default: results/<experiment name>/].
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Backend, overriding the config's experiment.backend.
    #[arg(long, value_enum)]
    pub(super) backend: Option<BackendArg>,
    /// No progress bars or per-run lines; errors only.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// Train every run again, even those already finished in the results folder.
    #[arg(long)]
    pub(super) force: bool,
    /// Folder that holds the dataset folders (mnist/, fashion_mnist/, cifar10/)
    /// [default: $ACTBENCH_DATA, else ./data].
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
    /// Runs trained at the same time; the CPU threads are divided between them.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) jobs: u16,
    /// One of several workers sharing --out (any hosts): claim runs one at a
    /// time and train them until none is left; no combined tables (`actbench merge` writes them).
    #[arg(long)]
    pub(super) worker: bool,
    /// A worker that trains only the runs with grid index I-1 modulo N, e.g. 1/4.
    #[arg(long, value_name = "I/N")]
    pub(super) shard: Option<String>,
    /// Override one key of the experiment file (repeatable): `--set training.epochs=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) set: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(super) enum BackendArg {
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
pub(super) struct ActivationsArgs {
    /// Print `activation,x,value,derivative` for every activation and point.
    #[arg(long)]
    pub(super) csv: bool,
    /// Comma-separated points for --csv [default: -6 to 6 in steps of 0.25].
    #[arg(long, allow_hyphen_values = true)]
    pub(super) points: Option<String>,
    /// A table of properties computed numerically: range, zero-centred,
    /// monotonic, smooth, saturating, maximum derivative, derivative at 0.
    #[arg(long, conflicts_with = "csv")]
    pub(super) properties: bool,
    /// Backend that computes the values (with --csv).
    #[arg(long, value_enum, default_value = "flex")]
    pub(super) backend: BackendArg,
    /// Show this formula instead of the catalog (repeatable), e.g. "x * sigmoid(x)".
    #[arg(long, allow_hyphen_values = true)]
    pub(super) formula: Vec<String>,
    /// Show the activations of this experiment file instead of the catalog.
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// Set a parameter of the activations shown (repeatable): `--param beta=1.5` gives a
    /// --formula's `beta` its value, `--param slope=0.2` a built-in's (booleans as true or false).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub(super) param: Vec<String>,
    /// Show a finished run's activation at the values it learned, one per layer, beside its
    /// starting shape, e.g. results/NAME/runs/RUN_ID (alone: print them).
    #[arg(long, value_name = "RUN_DIR")]
    pub(super) from_run: Option<PathBuf>,
}
