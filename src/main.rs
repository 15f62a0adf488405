//! The `calsync` binary: parses the command line and hands over to `calsync::commands`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = calsync::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("calsync: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(calsync::commands::run(cli))
}
