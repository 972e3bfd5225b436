use std::process::ExitCode;

fn main() -> ExitCode {
    actbench::cli::main()
}
