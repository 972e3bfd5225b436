use std::process::ExitCode;

fn main() -> ExitCode {
    match actbench::cli::main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(1)
        }
    }
}
