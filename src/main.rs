fn main() {
    if let Err(err) = actbench::cli::main() {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}
