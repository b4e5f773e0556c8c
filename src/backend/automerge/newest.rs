//! The newest chunks of a document's change log, each read once (its hash, actor, number and
//! dependencies) and only as far back as applying a batch asks: where a change's dependencies
//! are, and its actor's newest change.
//!
//! Chunks are appended in causal order (a change after every change it depends on, and each
//! actor's changes in the order of their numbers), so every change after a given one in the
//! log is newer than it, and its descendants are all among them.

use std::iter::Rev;

use redb::Range;

use super::super::persistent::CollectionId;
use super::change_log::{self, ChangeLogRead};
use super::chunk::{self, StoredChange};
use crate::Result;

/// Chunks looked at, newest first: a replica writing concurrently depends on something
/// recent; one further back is merged by Automerge.
pub(crate) const LOOK_BACK: usize = 64;

/// The chunks of one document, newest first.
type Chunks<'a> = Rev<Range<'a, (CollectionId, &'static str, u64), &'static [u8]>>;

pub(crate) struct Newest<'a, L> {
    log: &'a L,
    collection: CollectionId,
    id: &'a str,
    chunks: Option<Chunks<'a>>,
    /// The changes read so far, newest first.
    seen: Vec<StoredChange>,
    /// The seqs the heads say the log holds: once that many changes are read, every change of
    /// the document is in `seen`.
    chunks_in_log: u64,
    /// A chunk that is not one change (a compacted snapshot) was met: nothing older is read.
    blocked: bool,
}

impl<'a, L: ChangeLogRead> Newest<'a, L> {
    /// The chunks of a document whose log holds `chunks_in_log` of them (0 for none).
    pub(crate) fn new(
        log: &'a L,
        collection: CollectionId,
        id: &'a str,
        chunks_in_log: u64,
    ) -> Self {
        Newest {
            log,
            collection,
            id,
            chunks: None,
            seen: Vec::new(),
            chunks_in_log,
            blocked: false,
        }
    }

    /// The `at`-th newest change (0 the newest), or `None` past what can be read: the start of
    /// the log, a snapshot, or [`LOOK_BACK`].
    pub(crate) fn get(&mut self, at: usize) -> Result<Option<&StoredChange>> {
        while self.seen.len() <= at && !self.exhausted() {
            let chunks = match &mut self.chunks {
                Some(chunks) => chunks,
                None => self.chunks.insert(
                    self.log
                        .range(change_log::chunks(self.collection, self.id))?
                        .rev(),
                ),
            };
            let Some(chunk) = chunks.next() else {
                // Fewer chunks than the heads say: only a load tells what is wrong.
                self.blocked = true;
                break;
            };
            match chunk::read_change(chunk?.1.value()) {
                Some(change) => self.seen.push(change),
                None => self.blocked = true,
            }
        }
        Ok(self.seen.get(at))
    }

    /// Whether every change of the document has been read.
    pub(crate) fn read_all(&self) -> bool {
        !self.blocked && self.seen.len() as u64 == self.chunks_in_log
    }

    fn exhausted(&self) -> bool {
        self.blocked || self.read_all() || self.seen.len() >= LOOK_BACK
    }
}
