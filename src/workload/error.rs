//! `WorkloadError`: why a workload file cannot be used.

use std::fmt;
use std::path::PathBuf;

/// A workload file that cannot be used, and why.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkloadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type; the
    /// message gives the line and column.
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// A field has a value the workload cannot run with.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, by its key in the file.
        field: &'static str,
        /// What is wrong and what would be right.
        message: String,
    },
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Io { path, source } => {
                write!(
                    f,
                    "{}: cannot read the workload file: {source}",
                    path.display()
                )
            }
            WorkloadError::Parse { path, message } => write!(f, "{}: {message}", path.display()),
            WorkloadError::Invalid {
                path,
                field,
                message,
            } => {
                write!(f, "{}: `{field}`: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for WorkloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkloadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
