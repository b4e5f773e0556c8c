//! Shared by the integration tests: every built-in backend through its binding, so every test
//! runs on all of them as the harness does.

pub mod random;
pub mod schema;

use std::path::{Path, PathBuf};

use storebench::binding::{Bindings, Handle, Selected};
use storebench::{Durability, Result};

/// A built-in backend as a command selects it by name: its binding and its durability.
#[derive(Debug, Clone)]
pub struct Kind {
    selected: Selected,
}

impl Kind {
    /// Every backend a run uses by default: memory, automerge(-durable), redb(-durable).
    pub fn all() -> Vec<Kind> {
        Bindings::builtin()
            .defaults()
            .into_iter()
            .map(|selected| Kind { selected })
            .collect()
    }

    /// The ones that persist.
    pub fn persistent() -> Vec<Kind> {
        Kind::all().into_iter().filter(Kind::persists).collect()
    }

    /// The backend selected by `name`.
    pub fn named(name: &str) -> Kind {
        let selected = Bindings::builtin()
            .select(name)
            .unwrap_or_else(|e| panic!("{e}"));
        Kind { selected }
    }

    pub fn name(&self) -> &str {
        self.selected.name()
    }

    pub fn selected(&self) -> &Selected {
        &self.selected
    }

    /// The durability it runs with (OnFlush unless it is a `-durable` one).
    pub fn durability(&self) -> Option<Durability> {
        self.selected.durability(Durability::OnFlush)
    }

    pub fn persists(&self) -> bool {
        self.durability().is_some()
    }

    /// Opens the store kept in directory `dir`, creating the directory.
    pub fn open(&self, dir: &Path) -> Result<Handle> {
        std::fs::create_dir_all(dir).map_err(|source| storebench::Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        self.selected.binding().open(dir, self.durability())
    }
}

/// Runs the store's consistency check, when it has one; panics with its findings when it is
/// not clean.
pub fn assert_verified(store: &Handle) -> Result<()> {
    if let Some(problems) = store.verify() {
        let problems = problems?;
        assert!(problems.is_empty(), "verify found: {problems:#?}");
    }
    Ok(())
}

/// The whole observable state of a store, as the fuzzing checker reads it.
pub use storebench::check::{State, state};

/// The directory a test keeps the store called `name` in.
pub fn db_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Runs `storebench` in `cwd` and fails the test, with what it printed on standard error,
/// unless it succeeds.
pub fn succeeds(args: &[&str], cwd: &Path) -> std::io::Result<std::process::Output> {
    let out = storebench(args, cwd)?;
    assert!(
        out.status.success(),
        "storebench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

/// Runs the `storebench` binary built for these tests in `cwd`.
pub fn storebench(args: &[&str], cwd: &Path) -> std::io::Result<std::process::Output> {
    std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args(args)
        .current_dir(cwd)
        .output()
}
