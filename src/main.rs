use std::process::ExitCode;

use clap::Parser;

// Reading a large consolidated document makes and frees hundreds of
// thousands of small values; mimalloc does that markedly faster than the
// system allocator (`cargo bench --bench tree`, which measures with it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = zarrscope::cli::normalize_args(std::env::args_os());
    let cli = zarrscope::cli::Cli::parse_from(args);
    ExitCode::from(zarrscope::cli::run(cli))
}
