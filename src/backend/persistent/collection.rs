//! `PersistentCollection`: one collection of a persistent backend.

use std::sync::Arc;

use super::materialized;
use super::store::Store;
use super::view::with_view;
use super::write_path::{CollectionRef, WritePath};
use crate::{Collection, Document, DocumentPredicate, Result};

/// A collection of a persistent backend: writes go through the backend's [`WritePath`],
/// reads straight to the materialized table.
pub(crate) struct PersistentCollection<W> {
    target: CollectionRef,
    store: Arc<Store>,
    writer: Arc<W>,
}

impl<W: WritePath> PersistentCollection<W> {
    pub(crate) fn new(target: CollectionRef, store: Arc<Store>, writer: Arc<W>) -> Self {
        Self {
            target,
            store,
            writer,
        }
    }

    pub(crate) fn target(&self) -> &CollectionRef {
        &self.target
    }
}

impl<W: WritePath> Collection for PersistentCollection<W> {
    fn name(&self) -> &str {
        &self.target.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.writer
            .upsert_many(&self.store, &self.target, vec![(doc_id.to_owned(), data)])
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        self.writer.upsert_many(&self.store, &self.target, docs)
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        let view = self.store.view()?;
        with_view!(view, |txn| materialized::get(txn, self.target.id, doc_id))
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.writer.delete(&self.store, &self.target, doc_id)
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.collect("", usize::MAX, |_, _| Some(true))
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        self.collect(prefix, usize::MAX, |id, _| {
            id.starts_with(prefix).then_some(true)
        })
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        self.collect(start, limit, |_, _| Some(true))
    }

    /// The predicate runs while the store is read: it must not use the store itself.
    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        self.collect("", usize::MAX, |_, data| Some(predicate(data)))
    }

    fn count(&self) -> Result<usize> {
        let view = self.store.view()?;
        with_view!(view, |txn| materialized::count(txn, self.target.id))
    }
}

impl<W: WritePath> PersistentCollection<W> {
    /// [`materialized::collect`] over every completed write.
    fn collect(
        &self,
        start: &str,
        limit: usize,
        keep: impl FnMut(&str, &[u8]) -> Option<bool>,
    ) -> Result<Vec<Document>> {
        let view = self.store.view()?;
        with_view!(view, |txn| materialized::collect(
            txn,
            self.target.id,
            start,
            limit,
            keep
        ))
    }
}
