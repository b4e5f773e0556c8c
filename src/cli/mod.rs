//! The `storebench` command as a library function: a crate that binds its own store gets the
//! whole command — `run`, `list`, `report`, `compare`, `merge` — with its bindings selectable
//! by name, from a `main` of a few lines:
//!
//! ```no_run
//! use std::process::ExitCode;
//! use storebench::binding::Bindings;
//! # use storebench::binding::builtin::MemoryBinding as MyStoreBinding;
//!
//! fn main() -> ExitCode {
//!     let mut bindings = Bindings::new(); // or Bindings::builtin(), to run beside ours
//!     if let Err(e) = bindings.add(MyStoreBinding) {
//!         eprintln!("{e}");
//!         return ExitCode::from(2);
//!     }
//!     storebench::cli::main(bindings)
//! }
//! ```
//!
//! Exit codes: 0 success; 1 `compare` found a regression; 2 bad input, or reports that cannot
//! be set side by side; 3 something failed: a store did not open, an operation failed or
//! panicked, a report was not written, or `compare` was given a run whose operations failed;
//! 4 `compare` could not judge a metric (fewer than five runs a side) and found no regression:
//! not a pass; 130 a run interrupted by Ctrl-C or SIGTERM, whose reports were written.

mod args;
mod capacity;
mod compare;
mod list;
mod merge;
mod mesh;
mod progress;
mod render;
mod run;
mod source;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

use crate::binding::Bindings;

/// Bad input: an unreadable or invalid workload, an unknown backend or flag.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;
/// The user interrupted a run (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
/// `compare` found a regression.
pub(crate) const EXIT_REGRESSION: u8 = 1;
/// `compare` found no regression but could not judge some metric: too few runs a side. A
/// code of its own, so a gate that is never fed enough runs is never green.
pub(crate) const EXIT_NOT_JUDGED: u8 = 4;
/// Something failed: a backend could not be opened or written, a report not saved, or a run
/// being compared had failed operations.
pub(crate) const EXIT_FAILURE: u8 = 3;

/// A failure and the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
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

/// Parses the process's arguments and runs the command with `bindings` selectable by name.
pub fn main(bindings: Bindings) -> ExitCode {
    main_from(bindings, std::env::args_os())
}

/// As [`main`], with the arguments given (the first is the program name).
pub fn main_from<I, T>(bindings: Bindings, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout with success, usage errors with code 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args, &bindings),
        Command::List(args) => list::list(&args, &bindings),
        Command::Compare(args) => compare::compare(&args),
        Command::Report(args) => render::render(&args),
        Command::Merge(args) => merge::merge(&args),
        Command::Mesh(args) => mesh::mesh(&args, &bindings),
        Command::MeshReplica(args) => mesh::replica(args, &bindings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("storebench: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
