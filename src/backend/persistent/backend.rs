//! `PersistentBackend`: the collections of one database, shared by every persistent backend.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::collection::PersistentCollection;
use super::open::Opened;
use super::store::Store;
use super::tables::CollectionId;
use super::write_path::{CollectionRef, WritePath};
use crate::{Collection, Result, StorageBackend};

/// A database and its collections; `W` decides how documents are written.
pub(crate) struct PersistentBackend<W> {
    store: Arc<Store>,
    writer: Arc<W>,
    /// Every collection known to this process, persisted or pending, by name.
    collections: RwLock<Collections<W>>,
}

struct Collections<W> {
    by_name: BTreeMap<String, Arc<PersistentCollection<W>>>,
    /// One more than the largest id ever handed out: ids are never reused while open.
    next_id: CollectionId,
}

impl<W: WritePath> PersistentBackend<W> {
    pub(crate) fn new(opened: Opened, writer: W) -> Self {
        let store = Arc::new(opened.store);
        let writer = Arc::new(writer);
        let next_id = opened.collections.values().max().map_or(0, |max| max + 1);
        let by_name = opened
            .collections
            .into_iter()
            .map(|(name, id)| {
                let target = CollectionRef {
                    id,
                    name: name.clone(),
                };
                (
                    name,
                    Arc::new(PersistentCollection::new(
                        target,
                        store.clone(),
                        writer.clone(),
                    )),
                )
            })
            .collect();
        Self {
            store,
            writer,
            collections: RwLock::new(Collections { by_name, next_id }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    #[cfg(feature = "automerge-backend")]
    pub(crate) fn writer(&self) -> &W {
        &self.writer
    }

    /// An existing collection, without creating it.
    #[cfg(feature = "automerge-backend")]
    pub(crate) fn existing(&self, name: &str) -> Option<CollectionRef> {
        let collections = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        collections.by_name.get(name).map(|c| c.target().clone())
    }

    /// A collection's reference, creating the collection when it does not exist.
    #[cfg(feature = "automerge-backend")]
    pub(crate) fn target(&self, name: &str) -> CollectionRef {
        if let Some(found) = self.existing(name) {
            return found;
        }
        drop(self.collection(name));
        self.existing(name)
            .expect("a collection once created stays")
    }

    /// Every collection, sorted by name.
    pub(crate) fn collection_refs(&self) -> Vec<CollectionRef> {
        let collections = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        collections
            .by_name
            .values()
            .map(|c| c.target().clone())
            .collect()
    }
}

// A poisoned lock here guards a map that is only inserted into; it stays consistent.
impl<W: WritePath> StorageBackend for PersistentBackend<W> {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let collections = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = collections.by_name.get(name) {
            return found.clone();
        }
        drop(collections);
        // Another thread may create the same collection here: the write lock checks again.
        crate::schedule::point("collection: not found");
        let mut collections = self
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = collections.by_name.get(name) {
            return found.clone();
        }
        let id = collections.next_id;
        collections.next_id += 1;
        // Under the write lock: a thread stopped in its commit would stop every lookup.
        crate::schedule::without_points(|| self.store.create_collection(name, id));
        let target = CollectionRef {
            id,
            name: name.to_owned(),
        };
        let created = Arc::new(PersistentCollection::new(
            target,
            self.store.clone(),
            self.writer.clone(),
        ));
        collections.by_name.insert(name.to_owned(), created.clone());
        created
    }

    fn list_collections(&self) -> Vec<String> {
        let collections = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        collections.by_name.keys().cloned().collect()
    }

    fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    fn close(self) -> Result<()> {
        self.store.close()
    }
}

/// Implements [`StorageBackend`] for a public backend type by forwarding to its `inner`
/// [`PersistentBackend`].
macro_rules! forward_storage_backend {
    ($backend:ty) => {
        impl $crate::StorageBackend for $backend {
            fn collection(&self, name: &str) -> std::sync::Arc<dyn $crate::Collection> {
                self.inner.collection(name)
            }

            fn list_collections(&self) -> Vec<String> {
                self.inner.list_collections()
            }

            fn flush(&self) -> $crate::Result<()> {
                self.inner.flush()
            }

            fn close(self) -> $crate::Result<()> {
                self.inner.close()
            }
        }
    };
}
pub(crate) use forward_storage_backend;
