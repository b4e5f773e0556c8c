//! `storebench`: run workloads against the built-in backends and write their reports.

use std::process::ExitCode;

use storebench::binding::Bindings;

fn main() -> ExitCode {
    storebench::cli::main(Bindings::builtin())
}
