//! The bounded cache of hot Automerge documents, so repeated upserts do not reload history.

use lru::LruCache;

use super::super::persistent::CollectionId;
use super::change_log::LoggedDocument;

/// A document's place: its collection and id.
pub(crate) type DocumentKey = (CollectionId, String);

/// Least-recently-used documents, at most `capacity` of them holding at most `max_bytes` of
/// change log together (a loaded document keeps its whole history in memory, so the count
/// alone would not bound memory). The most recently used document always stays, however large:
/// evicting it would make every upsert of a long history reload it.
///
/// Invariant: a cached document is exactly the committed state of its change log. Writers take
/// a document out, change it, and put it back only after their transaction committed, all
/// while holding the cache's lock; a failed write drops the document, and the next write
/// reloads it from the log.
pub(crate) struct DocumentCache {
    documents: LruCache<DocumentKey, LoggedDocument>,
    capacity: usize,
    max_bytes: u64,
    /// The `log_bytes` of every cached document, summed.
    bytes: u64,
}

impl DocumentCache {
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            documents: LruCache::unbounded(),
            capacity: capacity.max(1),
            max_bytes: max_bytes as u64,
            bytes: 0,
        }
    }

    /// Removes and returns a document.
    pub(crate) fn take(&mut self, collection: CollectionId, id: &str) -> Option<LoggedDocument> {
        // `pop` borrows the key as `(u64, String)`; building it costs one allocation, which is
        // small beside the Automerge change that follows.
        let document = self.documents.pop(&(collection, id.to_owned()))?;
        self.bytes -= document.log_bytes;
        Some(document)
    }

    /// A cached document, without touching its recency.
    pub(crate) fn peek(&self, collection: CollectionId, id: &str) -> Option<&LoggedDocument> {
        self.documents.peek(&(collection, id.to_owned()))
    }

    /// Caches a document, evicting the least recently used ones while over either bound.
    pub(crate) fn put(&mut self, key: DocumentKey, document: LoggedDocument) {
        self.bytes += document.log_bytes;
        if let Some(replaced) = self.documents.put(key, document) {
            self.bytes -= replaced.log_bytes;
        }
        while self.documents.len() > 1
            && (self.documents.len() > self.capacity || self.bytes > self.max_bytes)
        {
            if let Some((_, evicted)) = self.documents.pop_lru() {
                self.bytes -= evicted.log_bytes;
            }
        }
    }

    /// Cached documents and the bytes of history they hold.
    #[cfg(test)]
    fn usage(&self) -> (usize, u64) {
        (self.documents.len(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;

    fn document(log_bytes: u64) -> LoggedDocument {
        LoggedDocument {
            log_bytes,
            ..LoggedDocument::new(ActorId::random())
        }
    }

    fn key(id: &str) -> DocumentKey {
        (0, id.to_owned())
    }

    #[test]
    fn evicts_the_least_recently_used_past_either_bound() {
        let mut cache = DocumentCache::new(3, 1_000);
        for id in ["a", "b", "c", "d"] {
            cache.put(key(id), document(100));
        }
        assert_eq!(cache.usage(), (3, 300), "the count bounds it");
        assert!(cache.peek(0, "a").is_none(), "the oldest went first");
        cache.put(key("e"), document(850));
        assert_eq!(cache.usage(), (2, 950), "the bytes bound it");
        assert!(cache.peek(0, "d").is_some() && cache.peek(0, "e").is_some());
    }

    #[test]
    fn keeps_one_document_larger_than_the_budget_and_counts_replacements_once() {
        let mut cache = DocumentCache::new(8, 1_000);
        cache.put(key("small"), document(10));
        cache.put(key("huge"), document(5_000));
        assert_eq!(cache.usage(), (1, 5_000));
        let huge = cache.take(0, "huge").expect("cached");
        assert_eq!(cache.usage(), (0, 0));
        cache.put(key("huge"), huge);
        cache.put(key("huge"), document(6_000));
        assert_eq!(cache.usage(), (1, 6_000));
    }
}
