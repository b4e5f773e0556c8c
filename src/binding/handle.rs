//! `Handle`: an open store held as a trait object, closed and verified through it.

use std::ops::Deref;

use super::replica::{SyncEndpoint, SyncFn};
use crate::{Result, StorageBackend};

/// A consistency check of an open store: the problems it finds, each in a sentence; empty
/// when the store is sound.
pub type VerifyFn<B> = fn(&B) -> Result<Vec<String>>;

/// An open store, whatever its type: what [`Binding::open`](super::Binding::open) returns.
///
/// [`StorageBackend::close`] takes the store by value, which a trait object cannot give; a
/// handle keeps the concrete type inside, so [`close`](Self::close) reaches it. It derefs to
/// the store.
pub struct Handle {
    held: Box<dyn Held>,
}

impl Handle {
    /// Holds `backend`.
    pub fn new<B: StorageBackend + 'static>(backend: B) -> Self {
        Self {
            held: Box::new(Holder {
                backend,
                verify: None,
                sync: None,
            }),
        }
    }

    /// Holds `backend` with its consistency check (an fsck), which the checks run after every
    /// reopen.
    ///
    /// ```
    /// # use storebench::binding::Handle;
    /// # use storebench::{OpenOptions, RedbBackend};
    /// # let dir = tempfile::tempdir()?;
    /// let store = RedbBackend::open(dir.path().join("db.redb"), OpenOptions::new())?;
    /// let handle = Handle::with_verify(store, |store| {
    ///     Ok(store.verify()?.problems.iter().map(ToString::to_string).collect())
    /// });
    /// assert_eq!(handle.verify().transpose()?, Some(vec![]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_verify<B: StorageBackend + 'static>(backend: B, verify: VerifyFn<B>) -> Self {
        Self {
            held: Box::new(Holder {
                backend,
                verify: Some(verify),
                sync: None,
            }),
        }
    }

    /// Holds a store that replicates: its consistency check, and how to start a sync session
    /// on it, which the mesh runner ([`crate::mesh`]) drives between replicas.
    pub fn replicating<B: StorageBackend + 'static>(
        backend: B,
        verify: VerifyFn<B>,
        sync: SyncFn<B>,
    ) -> Self {
        Self {
            held: Box::new(Holder {
                backend,
                verify: Some(verify),
                sync: Some(sync),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &(dyn StorageBackend + 'static) {
        self.held.store()
    }

    /// Runs the store's consistency check: `None` when it has none, else the problems found.
    ///
    /// # Errors
    /// When the check itself cannot read the store.
    pub fn verify(&self) -> Option<Result<Vec<String>>> {
        self.held.verify()
    }

    /// Starts one side of a sync session with another open store of this kind; `None` when
    /// the store does not replicate.
    pub fn sync(&self) -> Option<Box<dyn SyncEndpoint + '_>> {
        self.held.sync()
    }

    /// Flushes and closes the store, releasing its files.
    ///
    /// # Errors
    /// As [`StorageBackend::close`].
    pub fn close(self) -> Result<()> {
        self.held.close()
    }
}

impl Deref for Handle {
    type Target = dyn StorageBackend;

    fn deref(&self) -> &Self::Target {
        self.store()
    }
}

/// The concrete store behind a handle, with the by-value close a trait object cannot offer.
trait Held: Send + Sync {
    fn store(&self) -> &(dyn StorageBackend + 'static);
    fn verify(&self) -> Option<Result<Vec<String>>>;
    fn sync(&self) -> Option<Box<dyn SyncEndpoint + '_>>;
    fn close(self: Box<Self>) -> Result<()>;
}

struct Holder<B> {
    backend: B,
    verify: Option<VerifyFn<B>>,
    sync: Option<SyncFn<B>>,
}

impl<B: StorageBackend + 'static> Held for Holder<B> {
    fn store(&self) -> &(dyn StorageBackend + 'static) {
        &self.backend
    }

    fn verify(&self) -> Option<Result<Vec<String>>> {
        self.verify.map(|verify| verify(&self.backend))
    }

    fn sync(&self) -> Option<Box<dyn SyncEndpoint + '_>> {
        self.sync.map(|start| start(&self.backend))
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.backend.close()
    }
}
