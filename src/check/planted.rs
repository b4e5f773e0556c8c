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

static UPSERTS: AtomicU64 = AtomicU64::new(0);
static FAILED_UPSERTS: AtomicU64 = AtomicU64::new(0);

/// A view of a backend with the bug in it.
pub(crate) struct PlantedBug<'a> {
    planted: Planted,
    inner: &'a dyn StorageBackend,
}

impl<'a> PlantedBug<'a> {
    pub(crate) fn new(planted: Planted, inner: &'a dyn StorageBackend) -> Self {
        Self { planted, inner }
    }

    /// The backend's flush, or none with [`Planted::SkipFlush`].
    pub(crate) fn flush(planted: Planted, inner: &dyn StorageBackend) -> Result<()> {
        if planted == Planted::SkipFlush {
            Ok(())
        } else {
            inner.flush()
        }
    }
}

impl StorageBackend for PlantedBug<'_> {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let inner = self.inner.collection(name);
        match self.planted {
            Planted::DropEveryThirdUpsert | Planted::AcknowledgeFailedUpserts => {
                Arc::new(PlantedCollection {
                    inner,
                    planted: self.planted,
                })
            }
            Planted::None | Planted::SkipFlush => inner,
        }
    }

    fn list_collections(&self) -> Vec<String> {
        self.inner.list_collections()
    }

    fn flush(&self) -> Result<()> {
        Self::flush(self.planted, self.inner)
    }

    fn close(self) -> Result<()> {
        self.inner.flush()
    }
}

/// A collection with a planted bug in its upserts.
struct PlantedCollection {
    inner: Arc<dyn Collection>,
    planted: Planted,
}

impl Collection for PlantedCollection {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        match self.planted {
            Planted::DropEveryThirdUpsert if UPSERTS.fetch_add(1, Ordering::Relaxed) % 3 == 2 => {
                Ok(())
            }
            Planted::AcknowledgeFailedUpserts => match self.inner.upsert(doc_id, data) {
                Err(_) if FAILED_UPSERTS.fetch_add(1, Ordering::Relaxed) % 2 == 1 => Ok(()),
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
