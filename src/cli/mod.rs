//! The command line: parsing, and the exit codes other tools can act on.

mod args;
mod compare;
mod list;
mod progress;
mod render;
mod run;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Bad input: an unreadable or invalid workload, an unknown backend or flag.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;
/// The run itself failed: a backend could not be opened or written, a report not saved.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// A failure and the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

/// An error and every cause behind it, on one line: `what: because: because`.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Failure {
    pub(crate) fn bad_input(message: impl ToString) -> Self {
        Self {
            code: EXIT_BAD_INPUT,
            message: message.to_string(),
        }
    }

    pub(crate) fn failed(message: impl ToString) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.to_string(),
        }
    }
}

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout with success, usage errors with code 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::List(args) => list::list(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Report(args) => render::render(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("storebench: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
