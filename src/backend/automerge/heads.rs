//! A document's heads: the few fields a local write needs to build the document's next change
//! without loading the document, and that a remote change needs to be applied the same way.
//!
//! Every change this backend writes has one op on the root key `data`: a put of the document's
//! bytes, or a delete (a tombstone: the history stays, so a replica that had not seen the
//! delete cannot bring the document back). The next local change is fixed by a handful of
//! fields: it depends on the document's heads, its op overwrites (its `pred` is) the ops whose
//! values stand under `data`, its op counter follows the largest in the document, and its seq
//! follows this database's last change to the document. Kept beside the change log, in the
//! same transactions, these fields let a write build its change directly (`ExpandedChange` into
//! `Change`) in a few microseconds, however long and however merged the history. `verify()`
//! checks them against the document rebuilt from its log.

use std::cmp::Ordering;
use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

use automerge::{ActorId, Change, ChangeHash, ExpandedChange, ScalarValue, legacy};

use super::actors::ActorFilter;
use super::bytes::Reader;
use super::document::DATA_KEY;

/// An op that put one of the values now under `data`: its counter and actor.
pub(crate) type ValueOp = legacy::OpId;

/// Where a document's history stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heads {
    /// How many chunks the document's change log has: one after a compaction.
    pub(crate) chunks: u64,
    /// The seq of its newest chunk, where a walk of its chunks starts (see
    /// [`Chain`](super::change_log::Chain)).
    pub(crate) last_seq: u64,
    /// The changes no other change depends on, sorted: one for a chain, several after
    /// concurrent changes were merged and until a change depends on all of them.
    pub(crate) hashes: Vec<ChangeHash>,
    /// The largest op counter in the document.
    pub(crate) max_op: u64,
    /// The ops whose values stand under `data`, in Lamport order (counter, then actor): none
    /// once the document is deleted, one usually, several while concurrent puts conflict. The
    /// last one's value is the document's (Automerge's rule).
    pub(crate) values: Vec<ValueOp>,
    /// The actor this database last wrote the document as, and the number of that actor's
    /// newest change to it; `None` when every change came from other replicas. An actor is
    /// fresh per open, so only the current open's actor ever continues from it. An earlier
    /// open's (a dead actor) may have lost changes in a crash that a peer sends back: applying
    /// them moves the number on; heads written before they were (the number behind) are sound
    /// too, as nothing writes as a dead actor again.
    pub(crate) writer: Option<(ActorId, u64)>,
    /// The actors whose changes the document holds, or more: a change numbered 1 from an
    /// actor not in it reuses no number here.
    pub(crate) actors: ActorFilter,
}

/// A local write to a document.
pub(crate) enum Edit {
    /// Sets the document's bytes.
    Put(Vec<u8>),
    /// Deletes the document, keeping its history.
    Delete,
}

/// The encoding: the chunks' count and newest seq, the hashes, the values, the writer and the
/// filter of actors, under a checksum. (Encodings 1 to 3 were format 2's, whose files this
/// build refuses.)
const ENCODING: u8 = 4;

impl Heads {
    /// The heads after this database appended its own `change` (built by [`next_change`]) as
    /// chunk `last_seq`, on top of `previous`.
    /// `put` says whether the change put a value or deleted the document.
    pub(crate) fn after_local(
        previous: Option<&Heads>,
        change: &Change,
        last_seq: u64,
        put: bool,
    ) -> Heads {
        Heads {
            chunks: previous.map_or(1, |p| p.chunks + 1),
            last_seq,
            hashes: vec![change.hash()],
            max_op: change.max_op(),
            values: if put {
                vec![legacy::OpId(
                    change.start_op().get(),
                    change.actor_id().clone(),
                )]
            } else {
                Vec::new()
            },
            writer: Some((change.actor_id().clone(), change.seq())),
            actors: previous
                .map_or(ActorFilter::EMPTY, |p| p.actors)
                .with(change.actor_id()),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 32 * self.hashes.len() + 40 * self.values.len());
        out.push(ENCODING);
        for n in [self.chunks, self.last_seq, self.max_op] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        put_len(&mut out, self.hashes.len());
        for hash in &self.hashes {
            out.extend_from_slice(&hash.0);
        }
        put_len(&mut out, self.values.len());
        for op in &self.values {
            out.extend_from_slice(&op.0.to_le_bytes());
            put_actor(&mut out, &op.1);
        }
        match &self.writer {
            None => out.push(0),
            Some((actor, seq)) => {
                out.push(1);
                put_actor(&mut out, actor);
                out.extend_from_slice(&seq.to_le_bytes());
            }
        }
        out.extend_from_slice(&self.actors.0);
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads encoded heads; `None` when the bytes are not a valid encoding.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Heads> {
        if *bytes.first()? != ENCODING {
            return None;
        }
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if checksum(body).to_le_bytes() != sum {
            return None;
        }
        let heads = Self::decode_body(&mut Reader::new(body.get(1..)?))?;
        heads.is_valid().then_some(heads)
    }

    /// The fields after the version byte.
    fn decode_body(r: &mut Reader<'_>) -> Option<Heads> {
        let (chunks, last_seq, max_op) = (r.u64_le()?, r.u64_le()?, r.u64_le()?);
        let hashes = (0..len(r)?).map(|_| r.hash()).collect::<Option<Vec<_>>>()?;
        let values = (0..len(r)?)
            .map(|_| Some(legacy::OpId(r.u64_le()?, actor(r)?)))
            .collect::<Option<Vec<_>>>()?;
        let writer = match r.take(1)? {
            [0] => None,
            [1] => Some((actor(r)?, r.u64_le()?)),
            _ => return None,
        };
        let actors = ActorFilter(r.array()?);
        r.rest().is_empty().then_some(Heads {
            chunks,
            last_seq,
            hashes,
            max_op,
            values,
            writer,
            actors,
        })
    }

    /// Whether every field is one the write path can continue from.
    fn is_valid(&self) -> bool {
        // Every chunk has its own seq from 1, the newest the greatest; every count can take one
        // more: the next change's numbers and the next chunk's seq.
        let ordered = 1 <= self.chunks && self.chunks <= self.last_seq;
        let room = self.last_seq < u64::MAX && 1 <= self.max_op && self.max_op < u64::MAX;
        let hashes = !self.hashes.is_empty() && self.hashes.is_sorted_by(|a, b| a < b);
        let values = self
            .values
            .is_sorted_by(|a, b| lamport(a, b) == Ordering::Less)
            && self
                .values
                .iter()
                .all(|op| 1 <= op.0 && op.0 <= self.max_op);
        let writer = self
            .writer
            .as_ref()
            .is_none_or(|(_, seq)| 1 <= *seq && *seq < u64::MAX);
        ordered && room && hashes && values && writer
    }
}

/// Automerge's order of ops: by counter, then by actor. The greatest value wins.
pub(crate) fn lamport(a: &ValueOp, b: &ValueOp) -> Ordering {
    (a.0, &a.1).cmp(&(b.0, &b.1))
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).expect("fewer than 2^32 heads or values");
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_actor(out: &mut Vec<u8>, actor: &ActorId) {
    put_len(out, actor.to_bytes().len());
    out.extend_from_slice(actor.to_bytes());
}

/// A damaged field that still decodes is caught here, whether or not `verify()` can tell it
/// from the document (which actor this database last wrote as is not in it).
pub(super) fn checksum(bytes: &[u8]) -> u32 {
    super::checksum::fnv1a32(bytes)
}

/// A count (four bytes, little-endian) of items that each take at least a byte: a count
/// beyond what is left is damage, not a reason to allocate.
fn len(r: &mut Reader<'_>) -> Option<usize> {
    let len = u64::from(r.u32_le()?);
    r.holds(len, 1).then_some(len as usize)
}

/// An actor id: its length, then its bytes.
fn actor(r: &mut Reader<'_>) -> Option<ActorId> {
    let len = len(r)?;
    Some(ActorId::from(r.take(len)?))
}

/// The change that makes `edit` to a document, written by `actor`, after the state `previous`
/// describes (`None` for a new document).
pub(crate) fn next_change(previous: Option<&Heads>, actor: &ActorId, edit: Edit) -> Change {
    let (deps, pred, max_op, actor_seq) = match previous {
        None => (Vec::new(), Vec::new(), 0, 0),
        Some(p) => (
            p.hashes.clone(),
            p.values.clone(),
            p.max_op,
            match &p.writer {
                // An actor is fresh per open, so its changes to one document are consecutive.
                Some((writer, seq)) if writer == actor => *seq,
                _ => 0,
            },
        ),
    };
    let action = match edit {
        Edit::Put(data) => legacy::OpType::Put(ScalarValue::Bytes(data)),
        Edit::Delete => legacy::OpType::Delete,
    };
    let op = legacy::Op {
        action,
        obj: legacy::ObjectId::Root,
        key: legacy::Key::Map(DATA_KEY.into()),
        pred: pred.into(),
        insert: false,
    };
    Change::from(ExpandedChange {
        operations: vec![op],
        actor_id: actor.clone(),
        hash: None,
        seq: actor_seq + 1,
        start_op: NonZeroU64::new(max_op + 1).expect("one more than a count is never zero"),
        time: now_millis(),
        message: None,
        deps,
        extra_bytes: Vec::new(),
        author: None,
    })
}

/// Milliseconds since the Unix epoch, as Automerge stamps its changes.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each field just past its bound is refused, and each field at its bound still reads.
    #[test]
    fn decode_keeps_every_field_within_its_bounds() {
        let (a, b) = (ActorId::from(vec![1u8]), ActorId::from(vec![2u8]));
        let sound = Heads {
            chunks: 2,
            last_seq: 5,
            hashes: vec![ChangeHash([1; 32]), ChangeHash([2; 32])],
            max_op: 9,
            values: vec![legacy::OpId(3, a.clone()), legacy::OpId(3, b.clone())],
            writer: Some((a.clone(), 4)),
            actors: ActorFilter::of([&a, &b]),
        };
        let with = |edit: &dyn Fn(&mut Heads)| {
            let mut heads = sound.clone();
            edit(&mut heads);
            heads
        };
        let reads = [
            ("as written", sound.clone()),
            ("no writer", with(&|h| h.writer = None)),
            ("no value", with(&|h| h.values.clear())),
            ("one chunk", with(&|h| (h.chunks, h.last_seq) = (1, 1))),
            (
                "the last seq with room for one more",
                with(&|h| h.last_seq = u64::MAX - 1),
            ),
            (
                "the first op counter",
                with(&|h| {
                    h.max_op = 1;
                    h.values = vec![legacy::OpId(1, a.clone())];
                }),
            ),
            (
                "the last op counter with room",
                with(&|h| h.max_op = u64::MAX - 1),
            ),
            ("a value at the largest op", with(&|h| h.values[1].0 = 9)),
            (
                "the first writer seq",
                with(&|h| h.writer = Some((b.clone(), 1))),
            ),
            (
                "the last writer seq with room",
                with(&|h| h.writer = Some((b.clone(), u64::MAX - 1))),
            ),
        ];
        for (what, heads) in reads {
            assert_eq!(Heads::decode(&heads.encode()), Some(heads), "{what}");
        }
        let refused = [
            ("no chunk", with(&|h| h.chunks = 0)),
            (
                "more chunks than seqs up to the newest",
                with(&|h| h.chunks = 6),
            ),
            ("no seq left for a chunk", with(&|h| h.last_seq = u64::MAX)),
            (
                "op counter 0",
                with(&|h| {
                    h.max_op = 0;
                    h.values.clear();
                }),
            ),
            ("no head", with(&|h| h.hashes.clear())),
            ("heads out of order", with(&|h| h.hashes.reverse())),
            ("values out of Lamport order", with(&|h| h.values.reverse())),
            (
                "a value twice",
                with(&|h| h.values[1] = h.values[0].clone()),
            ),
            ("a value at op 0", with(&|h| h.values[0].0 = 0)),
            ("a value past the largest op", with(&|h| h.values[1].0 = 10)),
            ("writer seq 0", with(&|h| h.writer = Some((b.clone(), 0)))),
            (
                "no writer seq left",
                with(&|h| h.writer = Some((b.clone(), u64::MAX))),
            ),
        ];
        for (what, heads) in refused {
            assert_eq!(Heads::decode(&heads.encode()), None, "{what}");
        }
    }

    /// A change carries the time it was built, which a history viewer shows as when the
    /// write happened.
    #[test]
    fn a_built_change_is_stamped_with_the_time_it_was_made() {
        let before = now_millis();
        let change = next_change(None, &ActorId::random(), Edit::Put(b"v".to_vec()));
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis();
        assert!(
            before > 1_600_000_000_000,
            "{before} ms since the epoch is before 2020"
        );
        assert!(
            (before..=after as i64).contains(&change.timestamp()),
            "stamped {} outside {before}..={after}",
            change.timestamp()
        );
    }
}
