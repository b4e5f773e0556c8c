//! `InMemoryBackend`: ordered maps in memory, the reference model for every check.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::{Collection, Document, DocumentPredicate, Error, Result, StorageBackend};

/// Documents in ordered maps in memory: fast, never durable, and the specification the
/// persisted backends are checked against.
///
/// Each collection has its own lock, so a scan of one collection never blocks another. A
/// collection handle kept past `close()` fails every operation with [`Error::Closed`], as a
/// persistent store's does.
///
/// ```
/// use storebench::{InMemoryBackend, StorageBackend};
///
/// let store = InMemoryBackend::new();
/// let cells = store.collection("cells");
/// cells.upsert("c1", b"alive".to_vec())?;
/// assert_eq!(cells.get("c1")?, Some(b"alive".to_vec()));
/// # Ok::<(), storebench::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct InMemoryBackend {
    collections: RwLock<BTreeMap<String, Arc<MemoryCollection>>>,
}

impl InMemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl StorageBackend for InMemoryBackend {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        if let Some(found) = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return found.clone();
        }
        crate::schedule::point("collection: not found");
        let mut collections = self
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        collections
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(MemoryCollection::new(name)))
            .clone()
    }

    fn list_collections(&self) -> Vec<String> {
        let collections = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        collections.keys().cloned().collect()
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn close(self) -> Result<()> {
        let collections = self
            .collections
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for collection in collections.values() {
            collection.closed.store(true, Ordering::Release);
        }
        Ok(())
    }
}

// A poisoned lock means a panic in another thread while it held the lock. Every mutation here
// is a single map call that leaves the map valid, so the data behind a poisoned lock is still
// consistent and is used as it is.
#[derive(Debug)]
struct MemoryCollection {
    name: String,
    documents: RwLock<BTreeMap<String, Vec<u8>>>,
    /// Set by the store's `close()`, after which every operation fails.
    closed: AtomicBool,
}

impl MemoryCollection {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            documents: RwLock::default(),
            closed: AtomicBool::new(false),
        }
    }

    fn open(&self) -> Result<()> {
        match self.closed.load(Ordering::Acquire) {
            true => Err(Error::Closed),
            false => Ok(()),
        }
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>>> {
        self.open()?;
        Ok(self
            .documents
            .read()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>>> {
        self.open()?;
        Ok(self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

fn owned<'a>(entries: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> Vec<Document> {
    entries
        .map(|(id, data)| (id.clone(), data.clone()))
        .collect()
}

impl Collection for MemoryCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.write()?.insert(doc_id.to_owned(), data);
        Ok(())
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.write()?.extend(docs);
        Ok(())
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.read()?.get(doc_id).cloned())
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.write()?.remove(doc_id);
        Ok(())
    }

    fn scan(&self) -> Result<Vec<Document>> {
        Ok(owned(self.read()?.iter()))
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        let documents = self.read()?;
        let from = documents.range::<str, _>((Bound::Included(prefix), Bound::Unbounded));
        Ok(owned(from.take_while(|(id, _)| id.starts_with(prefix))))
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        let documents = self.read()?;
        let from = documents.range::<str, _>((Bound::Included(start), Bound::Unbounded));
        Ok(owned(from.take(limit)))
    }

    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        Ok(owned(
            self.read()?.iter().filter(|(_, data)| predicate(data)),
        ))
    }

    fn count(&self) -> Result<usize> {
        Ok(self.read()?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_are_ordered_and_bounded() -> Result<()> {
        let store = InMemoryBackend::new();
        let c = store.collection("c");
        for id in ["b", "a", "ab", "b0", ""] {
            c.upsert(id, id.as_bytes().to_vec())?;
        }
        let ids = |docs: Vec<Document>| docs.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        assert_eq!(ids(c.scan()?), ["", "a", "ab", "b", "b0"]);
        assert_eq!(ids(c.scan_prefix("a")?), ["a", "ab"]);
        assert_eq!(ids(c.scan_range("ab", 2)?), ["ab", "b"]);
        assert_eq!(ids(c.find(Box::new(|d| d.len() == 2))?), ["ab", "b0"]);
        c.delete("missing")?;
        c.delete("a")?;
        assert_eq!(c.count()?, 4);
        Ok(())
    }

    #[test]
    fn a_handle_kept_past_close_is_refused() -> Result<()> {
        let store = InMemoryBackend::new();
        let c = store.collection("c");
        c.upsert("a", b"1".to_vec())?;
        store.close()?;
        assert!(matches!(c.get("a"), Err(Error::Closed)));
        assert!(matches!(c.upsert("b", Vec::new()), Err(Error::Closed)));
        Ok(())
    }
}
