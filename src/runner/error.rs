//! `RunError`: what stops a run before it has measured anything. A failed operation never
//! does: it is counted and timed apart, and the run goes on.

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// Why a run stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The store failed outside an operation: opening it, flushing, closing, or the scan that
    /// measures what it holds.
    Store {
        /// The backend's name.
        backend: String,
        /// The storage contract's error.
        source: Error,
    },
    /// The workload asks for what the binding does not allow (more threads than one on a
    /// store that takes one at a time); nothing was run.
    Unsupported {
        /// The backend's name.
        backend: String,
        /// What it does not allow, and what to run instead.
        reason: String,
    },
    /// The run's directory could not be made or measured.
    Directory {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The run's operation log could not be written.
    OperationLog {
        /// What the operating system said.
        source: std::io::Error,
    },
    /// No thread could be started for the run.
    Thread {
        /// What the operating system said.
        source: std::io::Error,
    },
}

impl RunError {
    /// The storage error of `backend`, as a run reports it.
    pub(crate) fn store(backend: &str) -> impl Fn(Error) -> RunError + '_ {
        move |source| RunError::Store {
            backend: backend.to_owned(),
            source,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Store { backend, source } => write!(f, "the `{backend}` store: {source}"),
            RunError::Unsupported { backend, reason } => {
                write!(
                    f,
                    "the `{backend}` store cannot run this workload: {reason}"
                )
            }
            RunError::Directory { path, .. } => {
                write!(
                    f,
                    "cannot make or measure the run directory {}",
                    path.display()
                )
            }
            RunError::OperationLog { .. } => write!(
                f,
                "cannot write the operation log; is its disk full, or its reader gone?"
            ),
            RunError::Thread { .. } => write!(f, "cannot start a thread for the run"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The storage error is shown in this one's text: its source is this one's.
            RunError::Store { source, .. } => source.source(),
            RunError::Directory { source, .. }
            | RunError::OperationLog { source }
            | RunError::Thread { source } => Some(source),
            RunError::Unsupported { .. } => None,
        }
    }
}
