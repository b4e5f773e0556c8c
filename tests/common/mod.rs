//! Shared by the integration tests: each backend behind one opener, so every test runs on all.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};

use storebench::{
    AutomergeBackend, Durability, InMemoryBackend, OpenOptions, RedbBackend, Result, StorageBackend,
};

/// A backend kind a test can open, and reopen on the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Automerge(Durability),
    Redb(Durability),
}

impl Kind {
    pub const PERSISTENT: [Kind; 4] = [
        Kind::Automerge(Durability::OnFlush),
        Kind::Automerge(Durability::EveryWrite),
        Kind::Redb(Durability::OnFlush),
        Kind::Redb(Durability::EveryWrite),
    ];

    pub const ALL: [Kind; 5] = [
        Kind::Memory,
        Kind::Automerge(Durability::OnFlush),
        Kind::Automerge(Durability::EveryWrite),
        Kind::Redb(Durability::OnFlush),
        Kind::Redb(Durability::EveryWrite),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::Automerge(Durability::OnFlush) => "automerge",
            Kind::Automerge(Durability::EveryWrite) => "automerge-durable",
            Kind::Redb(Durability::OnFlush) => "redb",
            Kind::Redb(Durability::EveryWrite) => "redb-durable",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn durability(self) -> Option<Durability> {
        match self {
            Kind::Memory => None,
            Kind::Automerge(d) | Kind::Redb(d) => Some(d),
        }
    }

    /// Opens the backend on `path` (ignored by `Memory`).
    pub fn open(self, path: &Path) -> Result<Opened> {
        Ok(match self {
            Kind::Memory => Opened::Memory(InMemoryBackend::new()),
            Kind::Automerge(d) => Opened::Automerge(AutomergeBackend::open(
                path,
                OpenOptions::new().durability(d),
            )?),
            Kind::Redb(d) => {
                Opened::Redb(RedbBackend::open(path, OpenOptions::new().durability(d))?)
            }
        })
    }
}

/// An open backend of any kind.
pub enum Opened {
    Memory(InMemoryBackend),
    Automerge(AutomergeBackend),
    Redb(RedbBackend),
}

impl Opened {
    pub fn store(&self) -> &dyn StorageBackend {
        match self {
            Opened::Memory(b) => b,
            Opened::Automerge(b) => b,
            Opened::Redb(b) => b,
        }
    }

    pub fn close(self) -> Result<()> {
        match self {
            Opened::Memory(b) => b.close(),
            Opened::Automerge(b) => b.close(),
            Opened::Redb(b) => b.close(),
        }
    }

    /// Runs the backend's consistency check; panics with its findings when it is not clean.
    pub fn assert_verified(&self) -> Result<()> {
        let report = match self {
            Opened::Memory(_) => return Ok(()),
            Opened::Automerge(b) => b.verify()?,
            Opened::Redb(b) => b.verify()?,
        };
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "verify found: {problems:#?}");
        Ok(())
    }
}

/// The whole observable state of a store, as the fuzzing checker reads it.
#[allow(unused_imports)] // each test binary uses a different part of this module
pub use storebench::check::{State, state};

pub fn db_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(format!("{name}.redb"))
}

/// Runs the `storebench` binary built for these tests in `cwd`.
pub fn storebench(args: &[&str], cwd: &Path) -> std::io::Result<std::process::Output> {
    std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args(args)
        .current_dir(cwd)
        .output()
}
