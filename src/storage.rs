//! The storage interface every backend implements.

use std::sync::Arc;

use crate::Result;

/// A document as a scan returns it: its id and its bytes.
pub type Document = (String, Vec<u8>);

/// A filter over document bytes, for [`Collection::find`].
pub type DocumentPredicate = Box<dyn Fn(&[u8]) -> bool + Send>;

/// A store of named collections of documents.
///
/// Every backend shares these semantics:
/// - Collections are isolated: any UTF-8 name is valid (empty, with `:` `/` `\0`, very long),
///   and no two names ever share documents.
/// - A collection exists from its first [`collection`](Self::collection) call; in a persistent
///   backend that existence becomes durable with the next flush, like any write.
/// - Reads see every completed write of the same process at once, from any thread.
/// - Concurrent writers never lose an update: each document ends with the value of one of its
///   last writes, and [`Collection::count`] equals the number of live ids.
pub trait StorageBackend: Send + Sync {
    /// Returns the collection called `name`, creating it if it does not exist.
    ///
    /// The same name always gives the same collection. Creation cannot fail here: in a
    /// persistent backend, a collection whose creation could not be written at once is written
    /// with the next successful write or flush.
    fn collection(&self, name: &str) -> Arc<dyn Collection>;

    /// The names of every collection, sorted by byte order.
    fn list_collections(&self) -> Vec<String>;

    /// Makes every write so far durable.
    ///
    /// # Errors
    /// Fails when the storage fails; then the durable state is either the one before the call
    /// or the one after it.
    fn flush(&self) -> Result<()>;

    /// Flushes and releases the database, so that another process may open it.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    fn close(self) -> Result<()>
    where
        Self: Sized;
}

/// A collection of documents: opaque bytes under string ids, ordered by the ids' UTF-8 bytes.
///
/// Reads see every write that has returned, from any thread. What is durable when is the
/// backend's [`Durability`](crate::Durability).
pub trait Collection: Send + Sync {
    /// The collection's name.
    fn name(&self) -> &str;

    /// Stores `data` under `doc_id`, replacing any previous value.
    ///
    /// # Errors
    /// Fails when the storage fails; the document then keeps its previous value.
    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()>;

    /// Stores every document in one atomic batch: after a crash, either all or none are there.
    /// When an id appears twice, the later value wins.
    ///
    /// # Errors
    /// Fails when the storage fails; then none of the documents is written.
    fn upsert_many(&self, docs: Vec<Document>) -> Result<()>;

    /// The current value of `doc_id`, or `None` when there is none.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>>;

    /// Removes `doc_id`. Removing an id that does not exist is not an error.
    ///
    /// # Errors
    /// Fails when the storage fails; the document then keeps its value.
    fn delete(&self, doc_id: &str) -> Result<()>;

    /// Every document, ordered by id.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn scan(&self) -> Result<Vec<Document>>;

    /// Every document whose id starts with `prefix`, ordered by id.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>>;

    /// At most `limit` documents whose ids are `>= start`, ordered by id.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>>;

    /// Every document whose bytes satisfy `predicate`, ordered by id.
    ///
    /// The predicate runs while the collection is being read; it must not write to the same
    /// backend.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>>;

    /// The number of documents. Constant time in every backend of this crate.
    ///
    /// # Errors
    /// Fails when the storage fails.
    fn count(&self) -> Result<usize>;
}

/// When a write becomes durable.
///
/// In both modes a write is visible to every reader as soon as the call returns. After a crash
/// or a storage failure, reopening yields exactly the state of the last successful flush
/// (`OnFlush`) or the last successful write (`EveryWrite`): never a mixture, never a torn
/// document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// A write is durable after the next successful `flush()` or `close()`. The default: writes
    /// cost no sync.
    #[default]
    OnFlush,
    /// A write is durable when the call returns: every write pays a sync.
    EveryWrite,
}

impl Durability {
    /// Both modes, in the order a binding that offers both prefers them.
    pub const ALL: [Durability; 2] = [Durability::OnFlush, Durability::EveryWrite];

    /// The mode's one spelling, in workload files, reports, flags and messages alike:
    /// `on-flush` or `every-write`.
    pub const fn name(self) -> &'static str {
        match self {
            Durability::OnFlush => "on-flush",
            Durability::EveryWrite => "every-write",
        }
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Durability`]: the text it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDurability(pub String);

impl std::fmt::Display for UnknownDurability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not `on-flush` or `every-write`", self.0)
    }
}

impl std::error::Error for UnknownDurability {}

impl std::str::FromStr for Durability {
    type Err = UnknownDurability;

    fn from_str(text: &str) -> std::result::Result<Durability, UnknownDurability> {
        Durability::ALL
            .into_iter()
            .find(|d| d.name() == text)
            .ok_or_else(|| UnknownDurability(text.to_owned()))
    }
}
