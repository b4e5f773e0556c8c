//! Deliberate bugs to plant in a backend, to prove the checker catches them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Collection, Document, DocumentPredicate, Result, StorageBackend};

/// A bug to plant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planted {
    /// No bug.
    None,
    /// Every third `upsert` returns `Ok` without writing.
    DropEveryThirdUpsert,
    /// `flush` returns `Ok` without flushing.
    SkipFlush,
    /// Every second `upsert` that fails returns `Ok`: as a group commit that tells one of
    /// its members its write is durable when the shared commit failed.
    AcknowledgeFailedUpserts,
}

/// A planted bug as one run carries it: which bug, and the upserts it has seen since the run
/// began, so that the ones it drops or acknowledges are counted from there, whatever else runs
/// in the process.
#[derive(Debug, Clone)]
pub(crate) struct Bug {
    planted: Planted,
    seen: Arc<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    upserts: AtomicU64,
    failed_upserts: AtomicU64,
}

impl Bug {
    pub(crate) fn new(planted: Planted) -> Self {
        Self {
            planted,
            seen: Arc::default(),
        }
    }

    /// `inner` with the bug in it.
    pub(crate) fn in_store<'a>(&self, inner: &'a dyn StorageBackend) -> PlantedBug<'a> {
        PlantedBug {
            bug: self.clone(),
            inner,
        }
    }

    /// The backend's flush, or none with [`Planted::SkipFlush`].
    pub(crate) fn flush(&self, inner: &dyn StorageBackend) -> Result<()> {
        if self.planted == Planted::SkipFlush {
            Ok(())
        } else {
            inner.flush()
        }
    }
}

/// A view of a backend with the bug in it.
pub(crate) struct PlantedBug<'a> {
    bug: Bug,
    inner: &'a dyn StorageBackend,
}

impl StorageBackend for PlantedBug<'_> {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let inner = self.inner.collection(name);
        match self.bug.planted {
            Planted::DropEveryThirdUpsert | Planted::AcknowledgeFailedUpserts => {
                Arc::new(PlantedCollection {
                    inner,
                    bug: self.bug.clone(),
                })
            }
            Planted::None | Planted::SkipFlush => inner,
        }
    }

    fn list_collections(&self) -> Vec<String> {
        self.inner.list_collections()
    }

    fn flush(&self) -> Result<()> {
        self.bug.flush(self.inner)
    }

    fn close(self) -> Result<()> {
        self.inner.flush()
    }
}

/// A collection with a planted bug in its upserts.
struct PlantedCollection {
    inner: Arc<dyn Collection>,
    bug: Bug,
}

impl Collection for PlantedCollection {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        let seen = &self.bug.seen;
        match self.bug.planted {
            Planted::DropEveryThirdUpsert
                if seen.upserts.fetch_add(1, Ordering::Relaxed) % 3 == 2 =>
            {
                Ok(())
            }
            Planted::AcknowledgeFailedUpserts => match self.inner.upsert(doc_id, data) {
                Err(_) if seen.failed_upserts.fetch_add(1, Ordering::Relaxed) % 2 == 1 => Ok(()),
                other => other,
            },
            _ => self.inner.upsert(doc_id, data),
        }
    }
    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.inner.upsert_many(docs)
    }
    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(doc_id)
    }
    fn delete(&self, doc_id: &str) -> Result<()> {
        self.inner.delete(doc_id)
    }
    fn scan(&self) -> Result<Vec<Document>> {
        self.inner.scan()
    }
    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        self.inner.scan_prefix(prefix)
    }
    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        self.inner.scan_range(start, limit)
    }
    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        self.inner.find(predicate)
    }
    fn count(&self) -> Result<usize> {
        self.inner.count()
    }
}
