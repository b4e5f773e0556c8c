//! Which documents changed since a sync with a peer: a stamp per change, kept in memory.
//!
//! Nothing is recorded until the first sync session of an open asks (before that, any session
//! is a first one with its peer and offers every document), so a store that never syncs pays
//! one atomic load per write. A write is stamped after it commits, and asks whether to be only
//! then: a write the first session's scan of the database missed commits after recording
//! began, and is stamped; a session that takes its stamp before a write is stamped offers that
//! write's document again next time. A session's mark is the stamp it took before reading the
//! first heads it showed the peer (its offer's, or its first answer's when it answered first).
//! So a mark never covers a write the peer was not shown.
//!
//! Marks live as long as the open, per incarnation of each peer (a peer that died and lost
//! writes comes back as a new one). After a reopen the first session with a peer offers what
//! differs from the heads recorded in the database (see [`held`](super::held)).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use automerge::ChangeHash;

use crate::backend::persistent::CollectionId;

/// A document: its collection number and id.
pub(crate) type DocKey = (CollectionId, String);

/// A document as messages name it: its collection's name and its id.
pub(crate) type DocName = (String, String);

#[derive(Default)]
pub(crate) struct Journal {
    recording: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The next stamp; stamps start at 1, so a mark of 0 covers nothing.
    next: u64,
    /// Each document's latest stamp, and the documents by stamp: one entry per document.
    by_doc: HashMap<DocKey, u64>,
    by_stamp: BTreeMap<u64, DocKey>,
    /// Per peer (its replica and incarnation): every document stamped up to
    /// this is known to be there.
    marks: HashMap<Vec<u8>, u64>,
    /// Per peer, documents stamped by changes received from it that left them at the heads it
    /// had: it holds them at that stamp and need not be offered them back.
    held: HashMap<Vec<u8>, HashMap<DocKey, u64>>,
    /// Per peer, the heads it last showed of each document (by collection name and id): it
    /// holds them and every change before them, so they narrow what it needs sent even when
    /// its newest heads are unknown here.
    seen: HashMap<Vec<u8>, HashMap<DocName, Vec<ChangeHash>>>,
}

impl Journal {
    /// Whether writes are recorded: asked after each commit.
    fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Acquire)
    }

    /// The document's latest stamp, if it has one.
    pub(crate) fn stamp_of(&self, doc: &DocKey) -> Option<u64> {
        self.lock().by_doc.get(doc).copied()
    }

    /// Stamps committed writes to `ids` of one collection.
    pub(crate) fn record<'a>(
        &self,
        collection: CollectionId,
        ids: impl IntoIterator<Item = &'a str>,
    ) {
        if !self.is_recording() {
            return;
        }
        let mut inner = self.lock();
        for id in ids {
            inner.stamp((collection, id.to_owned()));
        }
    }

    /// Stamps a committed write of changes from `peer` after which the document's heads are
    /// the peer's: the peer holds it as of that stamp. Unless the document was stamped since
    /// `before` (its stamp when the write began): a local write that committed after this one
    /// may have been stamped first, and the peer does not hold that.
    pub(crate) fn record_held(&self, peer: &[u8], doc: DocKey, before: Option<u64>) {
        let mut inner = self.lock();
        let unchanged = inner.by_doc.get(&doc).copied() == before;
        let stamp = inner.stamp(doc.clone());
        if unchanged {
            inner
                .held
                .entry(peer.to_vec())
                .or_default()
                .insert(doc, stamp);
        }
    }

    /// Starts recording (if not yet) and returns the stamp now: every write stamped up to it
    /// is in what the database shows from here on.
    pub(crate) fn now(&self) -> u64 {
        self.start_recording().next
    }

    /// Starts recording, then locks: a write committed after this is stamped later than the
    /// stamp read under the lock, one committed before is in the database's state.
    fn start_recording(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.recording.store(true, Ordering::Release);
        self.lock()
    }

    /// Starts recording (if not yet) and returns the stamp now, with the documents stamped
    /// after `peer`'s mark; `None` for the documents when there is no mark (offer them all).
    pub(crate) fn since_mark(&self, peer: &[u8]) -> (u64, Option<Vec<DocKey>>) {
        // One lock for the stamp and the documents: none stamped between them.
        let inner = self.start_recording();
        let now = inner.next;
        let held = inner.held.get(peer);
        let changed = inner.marks.get(peer).map(|mark| {
            inner
                .by_stamp
                .range(mark + 1..)
                .filter(|(stamp, key)| held.and_then(|h| h.get(*key)) != Some(*stamp))
                .map(|(_, key)| key.clone())
                .collect()
        });
        (now, changed)
    }

    /// Records that `peer` holds every document stamped up to `stamp`.
    pub(crate) fn mark(&self, peer: &[u8], stamp: u64) {
        let mut inner = self.lock();
        let mark = inner.marks.entry(peer.to_vec()).or_default();
        *mark = (*mark).max(stamp);
        let mark = *mark;
        if let Some(held) = inner.held.get_mut(peer) {
            held.retain(|_, at| *at > mark);
        }
    }

    /// The heads `peer` last showed of `doc`: empty when it showed none.
    pub(crate) fn seen(&self, peer: &[u8], doc: &DocName) -> Vec<ChangeHash> {
        let inner = self.lock();
        inner
            .seen
            .get(peer)
            .and_then(|docs| docs.get(doc))
            .cloned()
            .unwrap_or_default()
    }

    /// Notes the heads `peer` showed of `doc`.
    pub(crate) fn saw(&self, peer: &[u8], doc: DocName, heads: &[ChangeHash]) {
        self.lock()
            .seen
            .entry(peer.to_vec())
            .or_default()
            .insert(doc, heads.to_vec());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the maps consistent before anything can panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn stamp(&mut self, doc: DocKey) -> u64 {
        self.next += 1;
        let stamp = self.next;
        if let Some(old) = self.by_doc.insert(doc.clone(), stamp) {
            self.by_stamp.remove(&old);
        }
        self.by_stamp.insert(stamp, doc);
        stamp
    }
}
