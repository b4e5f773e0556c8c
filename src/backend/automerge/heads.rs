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

/// The change-log seq the heads are stored at: after every chunk, next to the newest, which
/// the next write puts beside them.
pub(crate) const HEADS_SEQ: u64 = u64::MAX;

/// An op that put one of the values now under `data`: its counter and actor.
pub(crate) type ValueOp = legacy::OpId;

/// Where a document's history stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heads {
    /// The seq of the document's first chunk: the saves folded into its snapshot, or 1 before
    /// any compaction.
    pub(crate) snapshot_seq: u64,
    /// The seq of its last chunk.
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

/// The encoding before replication: one chain, the last change a put.
const ENCODING_CHAIN: u8 = 1;
/// With merged heads, conflicting values and a checksum.
pub(super) const ENCODING_MERGED: u8 = 2;
/// The current encoding: that, and the filter of the document's actors.
const ENCODING: u8 = 3;
/// Version, four u64 and a hash, before the actor's bytes (the chain encoding).
const CHAIN_FIXED_LEN: usize = 1 + 4 * 8 + 32;

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
            snapshot_seq: previous.map_or(last_seq, |p| p.snapshot_seq),
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
        for n in [self.snapshot_seq, self.last_seq, self.max_op] {
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
        let heads = match *bytes.first()? {
            ENCODING_CHAIN => Self::decode_chain(bytes)?,
            version @ (ENCODING_MERGED | ENCODING) => {
                let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
                if checksum(body).to_le_bytes() != sum {
                    return None;
                }
                Self::decode_body(&mut Reader::new(body.get(1..)?), version == ENCODING)?
            }
            _ => return None,
        };
        heads.is_valid().then_some(heads)
    }

    /// The fields after the version byte; the actor filter only when `with_actors`.
    fn decode_body(r: &mut Reader<'_>, with_actors: bool) -> Option<Heads> {
        let (snapshot_seq, last_seq, max_op) = (r.u64_le()?, r.u64_le()?, r.u64_le()?);
        let hashes = (0..len(r)?).map(|_| r.hash()).collect::<Option<Vec<_>>>()?;
        let values = (0..len(r)?)
            .map(|_| Some(legacy::OpId(r.u64_le()?, actor(r)?)))
            .collect::<Option<Vec<_>>>()?;
        let writer = match r.take(1)? {
            [0] => None,
            [1] => Some((actor(r)?, r.u64_le()?)),
            _ => return None,
        };
        let actors = match with_actors {
            true => ActorFilter(r.array()?),
            false => ActorFilter::FULL,
        };
        r.rest().is_empty().then_some(Heads {
            snapshot_seq,
            last_seq,
            hashes,
            max_op,
            values,
            writer,
            actors,
        })
    }

    /// Heads written before replication: one chain whose last change put the value.
    fn decode_chain(bytes: &[u8]) -> Option<Heads> {
        if bytes.len() <= CHAIN_FIXED_LEN {
            return None;
        }
        let mut r = Reader::new(&bytes[1..]);
        let (snapshot_seq, last_seq, actor_seq, max_op) =
            (r.u64_le()?, r.u64_le()?, r.u64_le()?, r.u64_le()?);
        let hash = r.hash()?;
        let actor = ActorId::from(r.rest());
        Some(Heads {
            snapshot_seq,
            last_seq,
            hashes: vec![hash],
            max_op,
            values: vec![legacy::OpId(max_op, actor.clone())],
            writer: Some((actor, actor_seq)),
            actors: ActorFilter::FULL,
        })
    }

    /// Whether every field is one the write path can continue from.
    fn is_valid(&self) -> bool {
        // Every count can take one more: the next change's numbers and the next chunk's seq,
        // which must stay below the heads' own.
        let ordered = 1 <= self.snapshot_seq && self.snapshot_seq <= self.last_seq;
        let room = self.last_seq < HEADS_SEQ - 1 && 1 <= self.max_op && self.max_op < u64::MAX;
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
    /// field just past its bound is refused, and each field at its bound still reads.
    #[test]
    fn decode_keeps_every_field_within_its_bounds() {
        let (a, b) = (ActorId::from(vec![1u8]), ActorId::from(vec![2u8]));
        let sound = Heads {
            snapshot_seq: 2,
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
            (
                "one chunk",
                with(&|h| (h.snapshot_seq, h.last_seq) = (1, 1)),
            ),
            (
                "the last seq a chunk can take",
                with(&|h| h.last_seq = HEADS_SEQ - 2),
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
            ("snapshot seq 0", with(&|h| h.snapshot_seq = 0)),
            (
                "snapshot after the last chunk",
                with(&|h| h.snapshot_seq = 6),
            ),
            (
                "no seq left for a chunk",
                with(&|h| h.last_seq = HEADS_SEQ - 1),
            ),
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

    /// shortest actor still reads.
    #[test]
    fn chain_heads_without_an_actor_are_refused() {
        let mut bytes = vec![ENCODING_CHAIN];
        for n in [1u64, 1, 1, 1] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        bytes.extend_from_slice(&[7; 32]);
        assert_eq!(bytes.len(), CHAIN_FIXED_LEN);
        assert_eq!(Heads::decode(&bytes), None, "no actor");
        bytes.push(5);
        let actor = ActorId::from(vec![5u8]);
        assert_eq!(
            Heads::decode(&bytes),
            Some(Heads {
                snapshot_seq: 1,
                last_seq: 1,
                hashes: vec![ChangeHash([7; 32])],
                max_op: 1,
                values: vec![legacy::OpId(1, actor.clone())],
                writer: Some((actor, 1)),
                actors: ActorFilter::FULL,
            })
        );
    }

    /// history viewer shows when each write happened.
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

    /// Heads written before replication (one chain, the last change a put) still read.
    #[test]
    fn chain_heads_from_before_replication_still_read() {
        let actor = ActorId::random();
        let change = next_change(None, &actor, Edit::Put(b"v".to_vec()));
        let mut bytes = vec![ENCODING_CHAIN];
        for n in [1u64, 1, 1, 1] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        bytes.extend_from_slice(&change.hash().0);
        bytes.extend_from_slice(actor.to_bytes());
        assert_eq!(
            Heads::decode(&bytes),
            Some(Heads {
                actors: ActorFilter::FULL,
                ..Heads::after_local(None, &change, 1, true)
            })
        );
    }
}
