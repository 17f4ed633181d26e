//! The `shoal` binary.

fn main() -> std::process::ExitCode {
    shoal_cli::main()
}
