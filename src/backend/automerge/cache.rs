//! The bounded cache of hot Automerge documents, so repeated upserts do not reload history.

use std::num::NonZeroUsize;

use lru::LruCache;

use super::super::persistent::CollectionId;
use super::change_log::LoggedDocument;

/// A document's place: its collection and id.
pub(crate) type DocumentKey = (CollectionId, String);

/// Least-recently-used documents, at most `capacity` of them.
///
/// Invariant: a cached document is exactly the committed state of its change log. Writers take
/// a document out, change it, and put it back only after their transaction committed, all
/// while holding the cache's lock; a failed write drops the document, and the next write
/// reloads it from the log.
pub(crate) struct DocumentCache {
    documents: LruCache<DocumentKey, LoggedDocument>,
}

impl DocumentCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            documents: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
        }
    }

    /// Removes and returns a document.
    pub(crate) fn take(&mut self, collection: CollectionId, id: &str) -> Option<LoggedDocument> {
        // `pop` borrows the key as `(u64, String)`; building it costs one allocation, which is
        // small beside the Automerge change that follows.
        self.documents.pop(&(collection, id.to_owned()))
    }

    /// A cached document, without touching its recency.
    pub(crate) fn peek(&self, collection: CollectionId, id: &str) -> Option<&LoggedDocument> {
        self.documents.peek(&(collection, id.to_owned()))
    }

    /// Caches a document, evicting the least recently used one when full.
    pub(crate) fn put(&mut self, key: DocumentKey, document: LoggedDocument) {
        self.documents.put(key, document);
    }
}
