//! The backends a run can be asked for by name, and how each is opened for a workload.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::null::NullBackend;
use crate::workload::Workload;
use crate::{
    AutomergeBackend, Durability, InMemoryBackend, OpenOptions, RedbBackend, Result, StorageBackend,
};

/// A backend selectable by name on the command line and in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// [`InMemoryBackend`].
    Memory,
    /// [`AutomergeBackend`] with the workload's durability (OnFlush by default).
    Automerge,
    /// [`AutomergeBackend`] with `Durability::EveryWrite`.
    AutomergeDurable,
    /// [`RedbBackend`] with the workload's durability.
    Redb,
    /// [`RedbBackend`] with `Durability::EveryWrite`.
    RedbDurable,
    /// [`NullBackend`]: measures the harness alone.
    Null,
}

impl BackendKind {
    /// Every backend, in report order.
    pub const ALL: [BackendKind; 6] = [
        BackendKind::Memory,
        BackendKind::Automerge,
        BackendKind::AutomergeDurable,
        BackendKind::Redb,
        BackendKind::RedbDurable,
        BackendKind::Null,
    ];

    /// The backends that store data: the default set of a run.
    pub const REAL: [BackendKind; 5] = [
        BackendKind::Memory,
        BackendKind::Automerge,
        BackendKind::AutomergeDurable,
        BackendKind::Redb,
        BackendKind::RedbDurable,
    ];

    /// The name used on the command line, in reports and in file names.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::Automerge => "automerge",
            BackendKind::AutomergeDurable => "automerge-durable",
            BackendKind::Redb => "redb",
            BackendKind::RedbDurable => "redb-durable",
            BackendKind::Null => "null",
        }
    }

    /// The durability this backend runs with under `workload`, if it persists anything.
    pub fn durability(self, workload: &Workload) -> Option<Durability> {
        match self {
            BackendKind::Automerge | BackendKind::Redb => Some(workload.durability),
            BackendKind::AutomergeDurable | BackendKind::RedbDurable => {
                Some(Durability::EveryWrite)
            }
            BackendKind::Memory | BackendKind::Null => None,
        }
    }

    /// Opens a fresh backend for `workload`; persistent ones get a new file in `data_dir`.
    ///
    /// # Errors
    /// When the database cannot be created.
    pub fn open(self, workload: &Workload, data_dir: &Path) -> Result<RunBackend> {
        let file = data_dir.join(format!("{}-{}.redb", workload.name, self.name()));
        let options =
            || OpenOptions::new().durability(self.durability(workload).unwrap_or_default());
        let fresh = |path: &Path| -> Result<()> {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::Error::Io {
                    path: path.to_owned(),
                    source: e,
                }),
                _ => Ok(()),
            }
        };
        Ok(match self {
            BackendKind::Memory => RunBackend::Memory(InMemoryBackend::new()),
            BackendKind::Null => RunBackend::Null(NullBackend),
            BackendKind::Automerge | BackendKind::AutomergeDurable => {
                fresh(&file)?;
                RunBackend::Automerge(AutomergeBackend::open(&file, options())?, file)
            }
            BackendKind::Redb | BackendKind::RedbDurable => {
                fresh(&file)?;
                RunBackend::Redb(RedbBackend::open(&file, options())?, file)
            }
        })
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        BackendKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = BackendKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown backend `{s}`; choose from {}", names.join(", "))
            })
    }
}

/// An open backend of a run, and its file when it has one.
pub enum RunBackend {
    /// In memory.
    Memory(InMemoryBackend),
    /// Automerge on redb, in the file.
    Automerge(AutomergeBackend, PathBuf),
    /// Raw redb, in the file.
    Redb(RedbBackend, PathBuf),
    /// Nothing.
    Null(NullBackend),
}

impl RunBackend {
    /// The backend as the trait the runner drives.
    pub fn store(&self) -> &dyn StorageBackend {
        match self {
            RunBackend::Memory(b) => b,
            RunBackend::Automerge(b, _) => b,
            RunBackend::Redb(b, _) => b,
            RunBackend::Null(b) => b,
        }
    }

    /// Closes the backend and returns the size of its file, if it has one.
    ///
    /// # Errors
    /// When the final flush fails.
    pub fn close(self) -> Result<Option<u64>> {
        let file = match self {
            RunBackend::Memory(b) => return b.close().map(|()| None),
            RunBackend::Null(b) => return b.close().map(|()| None),
            RunBackend::Automerge(b, file) => {
                b.close()?;
                file
            }
            RunBackend::Redb(b, file) => {
                b.close()?;
                file
            }
        };
        let bytes =
            std::fs::metadata(&file).map_err(|source| crate::Error::Io { path: file, source })?;
        Ok(Some(bytes.len()))
    }
}
