//! The newest chunks of a document's change log, each read once (its hash, actor, number and
//! dependencies) and only as far back as applying a batch asks: where a change's dependencies
//! are, and its actor's newest change.
//!
//! Chunks are appended in causal order (a change after every change it depends on, and each
//! actor's changes in the order of their numbers), so every change after a given one in the
//! log is newer than it, and its descendants are all among them.

use super::change_log::{Chain, ChangeLogRead};
use super::chunk::{self, StoredChange};
use super::heads::Heads;
use crate::{Error, Result};

/// Chunks looked at, newest first: a replica writing concurrently depends on something
/// recent; one further back is merged by Automerge.
pub(crate) const LOOK_BACK: usize = 64;

pub(crate) struct Newest<'a, L> {
    /// The document's chunks, newest first; `None` for a document with none.
    chain: Option<Chain<'a, L>>,
    /// The changes read so far, newest first.
    seen: Vec<StoredChange>,
    /// How many chunks the heads say the log holds: once that many changes are read, every
    /// change of the document is in `seen`.
    chunks_in_log: u64,
    /// A chunk that is not one change (a compacted snapshot) was met, or the chain is broken:
    /// nothing older is read.
    blocked: bool,
}

impl<'a, L: ChangeLogRead> Newest<'a, L> {
    /// The chunks of the document whose stored heads are `heads` (`None`: it has none), in
    /// collection `collection` (its name).
    pub(crate) fn new(log: &'a L, collection: &'a str, id: &'a str, heads: Option<&Heads>) -> Self {
        Newest {
            chain: heads.map(|heads| Chain::new(log, collection, id, heads)),
            seen: Vec::new(),
            chunks_in_log: heads.map_or(0, |h| h.chunks),
            blocked: false,
        }
    }

    /// The `at`-th newest change (0 the newest), or `None` past what can be read: the start of
    /// the log, a snapshot, or [`LOOK_BACK`].
    pub(crate) fn get(&mut self, at: usize) -> Result<Option<&StoredChange>> {
        while self.seen.len() <= at && !self.exhausted() {
            let next = match &mut self.chain {
                Some(chain) => chain.next_chunk(),
                None => Ok(None),
            };
            let chunk = match next {
                Ok(Some((_, chunk))) => chunk,
                // A broken chain, or fewer chunks than the heads say: only a load tells what
                // is wrong.
                Ok(None) | Err(Error::Corrupt { .. }) => {
                    self.blocked = true;
                    break;
                }
                Err(error) => return Err(error),
            };
            match chunk::read_change(chunk.value().1) {
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
