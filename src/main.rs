use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = zarrscope::cli::Cli::parse();
    ExitCode::from(zarrscope::cli::run(cli))
}
