//! `actbench fetch`: download a dataset into the data folder, verified.

use std::process::ExitCode;

use anyhow::bail;

use super::args::FetchArgs;
use crate::data::DatasetKind;
use crate::data::files;

pub(super) fn run(args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let downloadable: Vec<DatasetKind> = DatasetKind::all().filter(|d| d.files().is_some()).collect();
    let names: Vec<&str> = downloadable.iter().map(|d| d.name()).collect();
    let Some(dataset) = DatasetKind::lookup(&args.dataset).filter(|d| downloadable.contains(d)) else {
        bail!("unknown dataset `{}`: fetch one of {}", args.dataset, names.join(", "));
    };
    let data_dir = files::data_dir(args.data_dir.as_deref(), None);
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
