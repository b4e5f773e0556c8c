//! What goes wrong with a replica process, as the coordinator sees it.

use std::fmt;
use std::time::Duration;

/// A replica process failed; the coordinator stopped every replica process of the run.
#[derive(Debug)]
pub struct ReplicaError {
    /// The replica, from 0.
    pub replica: usize,
    /// Its process id, once started.
    pub pid: Option<u32>,
    /// What happened.
    pub failure: ReplicaFailure,
    /// The last lines it wrote to standard error (its log), if any.
    pub last_words: String,
}

/// What happened to a replica process.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplicaFailure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It did not say it was ready in time.
    NeverReady {
        /// How long it was given.
        waited: Duration,
    },
    /// It exited.
    Exited {
        /// How (`exit status: 3`, `signal: 9`, or unknown).
        status: String,
        /// What it was doing: `starting`, or the command it was given.
        doing: String,
    },
    /// It did not answer a command in time.
    Silent {
        /// How long it was given.
        waited: Duration,
        /// The command.
        doing: String,
    },
    /// It answered something that is not an answer to the command.
    Garbled {
        /// The line.
        line: String,
        /// The command.
        doing: String,
    },
    /// It answered that the command failed.
    Failed {
        /// The command.
        doing: String,
        /// Its error.
        error: String,
    },
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replica {}", self.replica)?;
        if let Some(pid) = self.pid {
            write!(f, " (pid {pid})")?;
        }
        match &self.failure {
            ReplicaFailure::Spawn(e) => write!(f, " could not be started: {e}")?,
            ReplicaFailure::NeverReady { waited } => write!(
                f,
                " was not ready after {:.1} s (it must open its store, listen and print its \
                 port)",
                waited.as_secs_f64()
            )?,
            ReplicaFailure::Exited { status, doing } => {
                write!(f, " exited ({status}) while {doing}")?;
            }
            ReplicaFailure::Silent { waited, doing } => write!(
                f,
                " did not answer in {:.1} s while {doing}",
                waited.as_secs_f64()
            )?,
            ReplicaFailure::Garbled { line, doing } => {
                write!(f, " answered `{line}` while {doing}, which is no answer")?;
            }
            ReplicaFailure::Failed { doing, error } => write!(f, " failed {doing}: {error}")?,
        }
        write!(f, "; every replica process was stopped")?;
        if !self.last_words.is_empty() {
            write!(f, ". Its last words: {}", self.last_words)?;
        }
        Ok(())
    }
}

impl std::error::Error for ReplicaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            ReplicaFailure::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
