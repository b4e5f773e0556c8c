//! The `Binding` trait: how a store describes itself to the harness.

use std::collections::BTreeMap;
use std::path::Path;

use super::Handle;
use crate::fault::FaultStorage;
use crate::{Durability, Error, Result};

/// A binding's settings as reports show them: name to value (`synchronous` → `FULL`).
pub type Settings = BTreeMap<String, String>;

/// The versions of what a binding's store is built on, as reports show them: name to version
/// (`rusqlite` → `0.37.0`, `sqlite` → `3.50.2`).
pub type Versions = BTreeMap<String, String>;

/// How many threads may use one open store at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Concurrency {
    /// Any number of threads, with the guarantees [`StorageBackend`](crate::StorageBackend)
    /// documents: reads see every completed write, and concurrent writers lose no update.
    #[default]
    Shared,
    /// One thread at a time: the runner refuses more than one worker thread, and the
    /// concurrency check does not apply.
    SingleThread,
}

/// A store described to the harness: its name, how to open, reopen and close it, which
/// durability modes it offers, and the optional capabilities the checks use.
///
/// A binding is a recipe, not an open store: [`open`](Self::open) is called once per run,
/// and again for every reopen a check makes, always on a directory the binding alone uses.
///
/// ```
/// use std::path::Path;
/// use storebench::binding::{Binding, Handle};
/// use storebench::{Durability, InMemoryBackend, Result};
///
/// /// A store that keeps nothing: it offers no durability mode.
/// struct Scratch;
///
/// impl Binding for Scratch {
///     fn name(&self) -> &str {
///         "scratch"
///     }
///
///     fn durabilities(&self) -> &[Durability] {
///         &[]
///     }
///
///     fn open(&self, _dir: &Path, _durability: Option<Durability>) -> Result<Handle> {
///         Ok(Handle::new(InMemoryBackend::new()))
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let store = Scratch.open(dir.path(), None)?;
/// store.collection("notes").upsert("n1", b"hello".to_vec())?;
/// store.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Binding: Send + Sync + 'static {
    /// The name on the command line, in reports and in file names: lowercase ASCII letters,
    /// digits, `-` and `_`. A binding that offers both durability modes is also selectable as
    /// `<name>-durable`, which runs it with [`Durability::EveryWrite`].
    fn name(&self) -> &str;

    /// One line on what the store is, for `storebench list`. By default, nothing.
    fn description(&self) -> &str {
        ""
    }

    /// The durability modes the store offers, the preferred first; empty for a store that
    /// keeps nothing across a close (in memory). The crash checks hold the store to the
    /// contract of each mode it offers.
    fn durabilities(&self) -> &[Durability];

    /// Opens the store kept in `dir`: a new one when `dir` is empty, the one there otherwise.
    /// `durability` is one of [`durabilities`](Self::durabilities), or `None` when it offers
    /// none.
    ///
    /// # Errors
    /// Whatever keeps the store from opening; wrap a foreign error in
    /// [`Error::Backend`](crate::Error::Backend).
    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle>;

    /// The settings a run with `durability` uses, as reports show them. By default, none.
    fn settings(&self, durability: Option<Durability>) -> Settings {
        let _ = durability;
        Settings::new()
    }

    /// The versions of what the store is built on (its own crate, the engine under it), which
    /// every report of a run on it records beside its settings: a figure means little without
    /// the build it measured. By default, none.
    fn versions(&self) -> Versions {
        Versions::new()
    }

    /// Opens the store with its file on `storage`, the harness's fault-injecting disk: then
    /// the checks fail chosen writes and syncs and cut the power at chosen points. `storage` is
    /// empty at first and, at a reopen, holds what the store wrote before. By default `None`:
    /// the store cannot keep its file there, and it is crash-checked by real process death
    /// only.
    fn open_on(
        &self,
        storage: FaultStorage,
        durability: Option<Durability>,
    ) -> Option<Result<Handle>> {
        let _ = (storage, durability);
        None
    }

    /// Whether the store keeps its data in memory (so a dataset must fit in memory), rather
    /// than in files or nowhere. By default, a store that offers no durability mode does.
    fn in_memory(&self) -> bool {
        self.durabilities().is_empty()
    }

    /// Whether the store keeps what it is given. `false` for one that discards every write
    /// (the built-in `null` and `basic`): its figures measure the harness alone, so reports
    /// mark it and never call it the best of a column. By default, `true`.
    fn keeps_data(&self) -> bool {
        true
    }

    /// How many threads may use one open store at once. By default, any number.
    fn concurrency(&self) -> Concurrency {
        Concurrency::Shared
    }

    /// Whether a run logs every operation it issues to this store, to standard output, as
    /// YCSB's `BasicDB` prints what it receives: for a store that keeps nothing and exists to
    /// show the operation stream (the built-in `basic`). By default, no; `storebench run
    /// --log-operations` logs any store's operations to a file.
    fn logs_operations(&self) -> bool {
        false
    }

    /// Whether `error`, returned by a collection handle used after the store's `close()`, is
    /// how this store says it is closed. The use-after-close check
    /// (`check::check_use_after_close`, with feature `check`) holds every operation
    /// on such a handle to it. By default, [`Error::Closed`] only.
    fn closed_error(&self, error: &Error) -> bool {
        matches!(error, Error::Closed)
    }

    /// Another binding's name whose throughput reports set beside this one's (the Automerge
    /// backend names plain redb: the ratio is what the CRDT layer costs). By default, none.
    fn reference(&self) -> Option<&str> {
        None
    }
}
