//! `RedbBackend`: document bytes straight in redb, no CRDT — the floor every report measures
//! the Automerge backend against.

use std::path::Path;

use super::persistent::{
    CollectionRef, MaterializedWriter, OpenOptions, PersistentBackend, Store, VerifyReport,
    WritePath, forward_storage_backend, open_path, open_storage, verify_materialized,
};
use crate::{Document, Result};

/// Documents stored as plain bytes in one redb file, with the same tables, durability and
/// crash contract as [`AutomergeBackend`](crate::AutomergeBackend) but no Automerge: the gap
/// between the two is what the CRDT layer costs.
///
/// ```
/// use storebench::{OpenOptions, RedbBackend, StorageBackend};
///
/// let dir = tempfile::tempdir()?;
/// let store = RedbBackend::open(dir.path().join("docs.redb"), OpenOptions::new())?;
/// store.collection("nodes").upsert("n1", b"up".to_vec())?;
/// store.close()?;
///
/// let store = RedbBackend::open(dir.path().join("docs.redb"), OpenOptions::new())?;
/// assert_eq!(store.collection("nodes").get("n1")?, Some(b"up".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbBackend {
    inner: PersistentBackend<RawWrites>,
}

impl RedbBackend {
    /// Opens the database at `path`, creating it if the file does not exist.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the file cannot be opened,
    /// [`Error::AlreadyOpen`](crate::Error::AlreadyOpen) when another handle holds it,
    /// [`Error::NotADatabase`](crate::Error::NotADatabase),
    /// [`Error::WrongBackend`](crate::Error::WrongBackend),
    /// [`Error::UnsupportedFormat`](crate::Error::UnsupportedFormat) or
    /// [`Error::CorruptDatabase`](crate::Error::CorruptDatabase) when the file is not one this
    /// backend can read.
    pub fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let opened = open_path(path.as_ref(), &options, RawWrites::BACKEND)?;
        Ok(Self {
            inner: PersistentBackend::new(opened, RawWrites),
        })
    }

    /// Opens a database kept in any redb storage: redb's in-memory storage, or a
    /// fault-injecting one for crash tests.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_storage(
        storage: impl ::redb::StorageBackend,
        options: OpenOptions,
    ) -> Result<Self> {
        let opened = open_storage(storage, &options, RawWrites::BACKEND, None)?;
        Ok(Self {
            inner: PersistentBackend::new(opened, RawWrites),
        })
    }

    /// Checks that every collection's stored count equals its documents and that no document
    /// lies outside a known collection.
    ///
    /// # Errors
    /// Only storage errors; inconsistencies are listed in the report.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify_materialized(
            &self.inner.store().read()?,
            &self.inner.collection_refs(),
            |_, _, _, _| Ok(()),
        )
    }

    /// Makes every write durable and shrinks the file to what the data needs (redb's
    /// compaction). Every update leaves free pages behind until redb reuses them; this returns
    /// them to the file system.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage) when another thread holds a transaction open
    /// (a scan in progress) or the file cannot be rewritten.
    pub fn compact(&self) -> Result<()> {
        self.inner.store().compact()
    }
}

forward_storage_backend!(RedbBackend);

/// Writes go to the materialized table and nowhere else.
struct RawWrites;

impl WritePath for RawWrites {
    const BACKEND: &'static str = "redb";

    fn upsert_many(
        &self,
        store: &Store,
        collection: &CollectionRef,
        docs: Vec<Document>,
    ) -> Result<()> {
        let bytes = docs.iter().map(|(id, data)| id.len() + data.len()).sum();
        store.write(bytes, |txn, progress| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            progress.writing();
            for (id, data) in &docs {
                materialized.put(id, data)?;
            }
            materialized.finish()
        })
    }

    fn delete(&self, store: &Store, collection: &CollectionRef, id: &str) -> Result<()> {
        store.write(id.len(), |txn, progress| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            progress.writing();
            materialized.remove(id)?;
            materialized.finish()
        })
    }
}
