//! `Handle`: an open store held as a trait object, closed and verified through it.

use std::ops::Deref;

use super::replica::{SyncEndpoint, SyncFn};
use crate::{Result, StorageBackend};

/// A consistency check of an open store: the problems it finds, each in a sentence; empty
/// when the store is sound.
pub type VerifyFn<B> = fn(&B) -> Result<Vec<String>>;

/// A store's compaction (its `compact()`, `VACUUM` or the like): rewrites what it keeps
/// without changing what it holds, and makes every write so far durable.
pub type CompactFn<B> = fn(&B) -> Result<()>;

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
        Self::builder(backend).build()
    }

    /// Holds `backend` with the optional capabilities the builder is given: a consistency
    /// check, a compaction, sync sessions.
    ///
    /// ```
    /// # use storebench::binding::Handle;
    /// # use storebench::{OpenOptions, RedbBackend};
    /// # let dir = tempfile::tempdir()?;
    /// let store = RedbBackend::open(dir.path().join("db.redb"), OpenOptions::new())?;
    /// let handle = Handle::builder(store)
    ///     .verify(|store| Ok(store.verify()?.problems.iter().map(ToString::to_string).collect()))
    ///     .compact(RedbBackend::compact)
    ///     .build();
    /// assert_eq!(handle.compact().transpose()?, Some(()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder<B: StorageBackend + 'static>(backend: B) -> HandleBuilder<B> {
        HandleBuilder(Holder {
            backend,
            verify: None,
            compact: None,
            sync: None,
        })
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
        Self::builder(backend).verify(verify).build()
    }

    /// Holds a store that replicates: its consistency check, and how to start a sync session
    /// on it, which the mesh runner ([`crate::mesh`]) drives between replicas.
    pub fn replicating<B: StorageBackend + 'static>(
        backend: B,
        verify: VerifyFn<B>,
        sync: SyncFn<B>,
    ) -> Self {
        Self::builder(backend).verify(verify).sync(sync).build()
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

    /// Runs the store's compaction: `None` when it has none.
    ///
    /// # Errors
    /// The compaction's own.
    pub fn compact(&self) -> Option<Result<()>> {
        self.held.compact()
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

/// A [`Handle`] being given its store's optional capabilities: from [`Handle::builder`].
pub struct HandleBuilder<B>(Holder<B>);

impl<B: StorageBackend + 'static> HandleBuilder<B> {
    /// The store's consistency check (an fsck), which the checks run after every reopen.
    pub fn verify(mut self, verify: VerifyFn<B>) -> Self {
        self.0.verify = Some(verify);
        self
    }

    /// The store's compaction, which the model check runs between operations (as a flush
    /// that also compacts) and after which every document must read as before.
    pub fn compact(mut self, compact: CompactFn<B>) -> Self {
        self.0.compact = Some(compact);
        self
    }

    /// How to start a sync session on the store, which the mesh runner drives between
    /// replicas.
    pub fn sync(mut self, sync: SyncFn<B>) -> Self {
        self.0.sync = Some(sync);
        self
    }

    /// The handle.
    pub fn build(self) -> Handle {
        Handle {
            held: Box::new(self.0),
        }
    }
}

/// The concrete store behind a handle, with the by-value close a trait object cannot offer.
trait Held: Send + Sync {
    fn store(&self) -> &(dyn StorageBackend + 'static);
    fn verify(&self) -> Option<Result<Vec<String>>>;
    fn compact(&self) -> Option<Result<()>>;
    fn sync(&self) -> Option<Box<dyn SyncEndpoint + '_>>;
    fn close(self: Box<Self>) -> Result<()>;
}

struct Holder<B> {
    backend: B,
    verify: Option<VerifyFn<B>>,
    compact: Option<CompactFn<B>>,
    sync: Option<SyncFn<B>>,
}

impl<B: StorageBackend + 'static> Held for Holder<B> {
    fn store(&self) -> &(dyn StorageBackend + 'static) {
        &self.backend
    }

    fn verify(&self) -> Option<Result<Vec<String>>> {
        self.verify.map(|verify| verify(&self.backend))
    }

    fn compact(&self) -> Option<Result<()>> {
        self.compact.map(|compact| compact(&self.backend))
    }

    fn sync(&self) -> Option<Box<dyn SyncEndpoint + '_>> {
        self.sync.map(|start| start(&self.backend))
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.backend.close()
    }
}
