//! `storebench`: run workloads against backends and write their reports.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
