//! `actbench bench`: train the reference workloads w1-w10 and print their samples/s.

use std::process::ExitCode;

use anyhow::Context;

use super::args::BenchArgs;
use crate::backend::{self, BackendKind};

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    // Refused before the (minutes of) training, not after.
    let csv = args
        .csv
        .as_ref()
        .map(|path| crate::results::overwrite::output_file("--csv", path, &[]))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let device = backend::device(args.backend.into())?;
    crate::interrupt::install();
    let backend_kind = BackendKind::from(args.backend);
    let cpu = matches!(backend_kind, BackendKind::Flex | BackendKind::Ndarray);
    let bench = crate::bench::run(&args.workloads, args.repeats.into(), &device, cpu, &mut |line| eprintln!("{line}"))?;
    println!(
        "Training: 1 epoch x {} samples ({} for w9), batch 128 (w10: {} steps of {} windows), backend {}, {} threads; median of {} runs",
        crate::bench::TRAIN_SAMPLES,
        crate::bench::CIFAR_TRAIN_SAMPLES,
        crate::bench::GPT_STEPS,
        crate::bench::GPT_BATCH,
        BackendKind::from(args.backend).name(),
        crate::results::manifest::threads(),
        args.repeats
    );
    print!("{}", crate::bench::table(&bench));
    if let Some(path) = &csv {
        crate::export::csv::write_rows(path, &bench.rows, &[])
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
