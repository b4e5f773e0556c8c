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

use super::super::persistent::CollectionId;
use super::actors::ActorFilter;
use super::change_log::{ChangeLogRead, ChangeLogTable, LoggedDocument, corrupt};
use super::document::{self, DATA_KEY};
use super::planted::{ReplicationBug, planted};
use crate::Result;

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
const ENCODING_MERGED: u8 = 2;
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
                Self::decode_body(&mut Reader(body.get(1..)?), version == ENCODING)?
            }
            _ => return None,
        };
        heads.is_valid().then_some(heads)
    }

    /// The fields after the version byte; the actor filter only when `with_actors`.
    fn decode_body(r: &mut Reader<'_>, with_actors: bool) -> Option<Heads> {
        let (snapshot_seq, last_seq, max_op) = (r.u64()?, r.u64()?, r.u64()?);
        let hashes = (0..r.len()?)
            .map(|_| {
                r.take(32)
                    .map(|h| ChangeHash(h.try_into().expect("32 bytes")))
            })
            .collect::<Option<Vec<_>>>()?;
        let values = (0..r.len()?)
            .map(|_| Some(legacy::OpId(r.u64()?, r.actor()?)))
            .collect::<Option<Vec<_>>>()?;
        let writer = match r.take(1)? {
            [0] => None,
            [1] => Some((r.actor()?, r.u64()?)),
            _ => return None,
        };
        let actors = match with_actors {
            true => ActorFilter(r.take(ActorFilter::LEN)?.try_into().ok()?),
            false => ActorFilter::FULL,
        };
        r.0.is_empty().then_some(Heads {
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
        let mut r = Reader(&bytes[1..]);
        let (snapshot_seq, last_seq, actor_seq, max_op) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let hash = ChangeHash(r.take(32)?.try_into().expect("32 bytes"));
        let actor = ActorId::from(r.0);
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
fn checksum(bytes: &[u8]) -> u32 {
    super::checksum::fnv1a32(bytes)
}

/// Reads an encoding front to back; every read is `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        // Each counted item takes at least a byte: a count beyond what is left is damage, not
        // a reason to allocate.
        let len = usize::try_from(len).ok()?;
        (len <= self.0.len()).then_some(len)
    }

    fn actor(&mut self) -> Option<ActorId> {
        let len = self.len()?;
        Some(ActorId::from(self.take(len)?))
    }
}

/// The change-log seq the heads are stored at: after every chunk, next to the newest, which
/// the next write puts beside them.
pub(crate) const HEADS_SEQ: u64 = u64::MAX;

/// A document's stored heads, or `None` when it has none.
///
/// # Errors
/// [`Error::Corrupt`](crate::Error::Corrupt) when they do not decode.
pub(crate) fn read(
    log: &impl ChangeLogRead,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
) -> Result<Option<Heads>> {
    let Some(stored) = log.get((collection, id, HEADS_SEQ))? else {
        return Ok(None);
    };
    Heads::decode(stored.value()).map(Some).ok_or_else(|| {
        corrupt(
            collection_name,
            id,
            "its change-log heads are malformed",
            None,
        )
    })
}

/// A document's heads before a write appends to its change log (a local change, or changes
/// from another replica), read with its newest chunk in one descent of the change log; `None`
/// for a new document. Everything about the stored document that can refuse the write is
/// checked here, before the write changes anything.
///
/// # Errors
/// [`Error::Corrupt`](crate::Error::Corrupt) when the heads do not decode; when the document
/// has chunks but no heads (writing on would overwrite the chunks and hide the damage); when a
/// chunk lies past the heads' last seq (the change appended next would land on it).
pub(crate) fn read_to_append(
    log: &impl ChangeLogRead,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
) -> Result<Option<Heads>> {
    let mut newest = log
        .range((collection, id, 0)..=(collection, id, HEADS_SEQ))?
        .rev();
    let Some(last) = newest.next() else {
        return Ok(None);
    };
    let (key, stored) = last?;
    let damaged = |detail| corrupt(collection_name, id, detail, None);
    if key.value().2 != HEADS_SEQ {
        return Err(damaged("its change log has no heads"));
    }
    let heads = Heads::decode(stored.value())
        .ok_or_else(|| damaged("its change-log heads are malformed"))?;
    if let Some(chunk) = newest.next()
        && chunk?.0.value().2 > heads.last_seq
    {
        return Err(damaged("its heads are behind its change log"));
    }
    Ok(Some(heads))
}

/// Stores a document's heads.
pub(crate) fn write(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    id: &str,
    heads: &Heads,
) -> Result<()> {
    log.insert((collection, id, HEADS_SEQ), heads.encode().as_slice())?;
    Ok(())
}

/// The heads that describe `logged`, with `writer` as their writer (which the document cannot
/// tell; its number is that actor's newest change's, `None` when it has none): after a merge
/// Automerge made, and for `verify()` to compare with the stored ones.
pub(crate) fn describe(logged: &mut LoggedDocument, writer: Option<&ActorId>) -> Option<Heads> {
    let hashes = logged.doc.get_heads();
    // Every change's ops come after those of the changes it depends on, so the largest op
    // counter is in one of the heads.
    let max_op = hashes
        .iter()
        .map(|h| logged.doc.get_change_meta_by_hash(h).map(|m| m.max_op))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()?;
    let mut values = document::value_ops(&logged.doc)?;
    values.sort_by(lamport);
    let changes = logged.doc.get_changes_meta(&[]);
    let actors = ActorFilter::of(changes.iter().map(|m| m.actor.as_ref()));
    let writer = writer.and_then(|writer| {
        let newest = changes.iter().filter(|m| m.actor.as_ref() == writer);
        newest.map(|m| m.seq).max().map(|seq| (writer.clone(), seq))
    });
    Some(Heads {
        snapshot_seq: logged.first_seq,
        last_seq: logged.last_seq,
        hashes,
        max_op,
        values,
        writer,
        actors,
    })
}

/// How `heads` disagree with the document its change log rebuilds, if they do; `me` is the
/// actor the database writes as in this open.
pub(crate) fn disagreement(
    heads: &Heads,
    logged: &mut LoggedDocument,
    me: &ActorId,
) -> Option<String> {
    if (heads.snapshot_seq, heads.last_seq) != (logged.first_seq, logged.last_seq) {
        return Some(format!(
            "its heads name chunks {} to {}, but its change log holds {} to {}",
            heads.snapshot_seq, heads.last_seq, logged.first_seq, logged.last_seq
        ));
    }
    let writer = heads.writer.as_ref().map(|(actor, _)| actor);
    let Some(described) = describe(logged, writer) else {
        return Some("its history cannot be described (a head without metadata)".into());
    };
    if let Some((actor, seq)) = &heads.writer {
        // The writer's newest change to the document must be there, and be the newest: the
        // next one this open writes follows it. A dead actor's newest may have come back
        // from a peer since: nothing writes as it again.
        let last = described.writer.as_ref().map(|(_, last)| *last);
        let behind = actor != me && last.is_some_and(|last| *seq < last);
        let behind = behind && !planted(ReplicationBug::DeadWriterHeads);
        if last != Some(*seq) && !behind {
            return Some(format!(
                "its heads say this database last wrote it as change {seq} of actor {actor}, \
                 but its change log ends that actor at {last:?}"
            ));
        }
    }
    if described.hashes != heads.hashes {
        return Some("its heads name other last changes than its change log ends with".into());
    }
    // A filter may hold more actors than the document (heads from before the filter hold
    // every one), never fewer: a change would be taken for its actor's first.
    if !heads.actors.covers(&described.actors) {
        return Some("its heads' filter of actors lacks one its change log holds".into());
    }
    let described = Heads {
        actors: heads.actors,
        writer: heads.writer.clone(),
        ..described
    };
    (described != *heads).then(|| {
        format!(
            "its heads say op counter {} and values {:?}, its change log {} and {:?}",
            heads.max_op, heads.values, described.max_op, described.values
        )
    })
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
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc};

    use super::*;
    use crate::backend::automerge::change_log::LoggedDocument;

    fn logged(doc: &AutoCommit, chunks: u64) -> LoggedDocument {
        LoggedDocument {
            doc: doc.clone(),
            first_seq: 1,
            last_seq: chunks,
        }
    }

    /// Changes built from heads alone load into the same document Automerge would build: one
    /// chain, every value kept, the last one current, a delete leaving no value, and writable
    /// on by Automerge itself.
    #[test]
    fn built_changes_chain_into_a_document_automerge_loads() {
        let (first, second) = (ActorId::random(), ActorId::random());
        let mut heads: Option<Heads> = None;
        let mut log = Vec::new();
        // One actor per open: an actor's changes to a document are consecutive.
        for (seq, actor) in [&first, &first, &second, &second, &second]
            .into_iter()
            .enumerate()
        {
            let change = next_change(heads.as_ref(), actor, Edit::Put(vec![seq as u8; 100]));
            log.extend_from_slice(change.raw_bytes());
            heads = Some(Heads::after_local(
                heads.as_ref(),
                &change,
                seq as u64 + 1,
                true,
            ));
        }
        let heads = heads.expect("five changes");
        assert_eq!(
            heads.writer,
            Some((second.clone(), 3)),
            "the second actor's third change"
        );
        let mut doc = AutoCommit::load(&log).expect("the chain loads");
        assert_eq!(doc.get_heads(), heads.hashes);
        assert_eq!(disagreement(&heads, &mut logged(&doc, 5), &second), None);
        assert_eq!(doc.get_changes(&[]).len(), 5);
        assert_eq!(
            super::super::document::data(&doc, "c", "d").expect("bytes"),
            vec![4u8; 100]
        );
        // A delete is a change like any other: the value goes, the history stays.
        let delete = next_change(Some(&heads), &second, Edit::Delete);
        doc.apply_changes([delete.clone()])
            .expect("the delete applies");
        let deleted = Heads::after_local(Some(&heads), &delete, 6, false);
        assert!(
            doc.get(automerge::ROOT, DATA_KEY)
                .expect("readable")
                .is_none()
        );
        assert_eq!(deleted.writer, Some((second.clone(), 4)));
        assert_eq!(disagreement(&deleted, &mut logged(&doc, 6), &second), None);
        // Automerge itself writes on from there, as a replica merging the document would.
        doc.put(automerge::ROOT, DATA_KEY, ScalarValue::Bytes(vec![9; 3]))
            .expect("put");
        doc.commit();
        assert_eq!(doc.get_changes(&[]).len(), 7);
        assert_eq!(
            super::super::document::data(&doc, "c", "d").expect("bytes"),
            vec![9u8; 3]
        );
        assert_eq!(Heads::decode(&deleted.encode()), Some(deleted));
    }

    /// Two actors writing concurrently leave two heads and two values; a local change on top
    /// depends on both and overwrites both.
    #[test]
    fn a_change_on_merged_heads_resolves_the_conflict() {
        let (a, b, mine) = (ActorId::random(), ActorId::random(), ActorId::random());
        let root = next_change(None, &a, Edit::Put(b"root".to_vec()));
        let root_heads = Heads::after_local(None, &root, 1, true);
        let left = next_change(Some(&root_heads), &a, Edit::Put(b"left".to_vec()));
        let right = next_change(Some(&root_heads), &b, Edit::Put(b"right".to_vec()));
        let mut doc = AutoCommit::new();
        doc.apply_changes([root, left, right]).expect("applies");
        let mut merged = logged(&doc, 3);
        let heads = describe(&mut merged, None).expect("described");
        assert_eq!(heads.hashes.len(), 2);
        assert_eq!(heads.values.len(), 2, "both values stand");
        assert_eq!(disagreement(&heads, &mut merged, &mine), None);
        let resolved = next_change(Some(&heads), &mine, Edit::Put(b"mine".to_vec()));
        doc.apply_changes([resolved.clone()]).expect("applies");
        assert!(doc.get_missing_deps(&[]).is_empty());
        assert_eq!(
            doc.get_all(automerge::ROOT, DATA_KEY)
                .expect("readable")
                .len(),
            1
        );
        let after = Heads::after_local(Some(&heads), &resolved, 4, true);
        assert_eq!(disagreement(&after, &mut logged(&doc, 4), &mine), None);
        assert_eq!(Heads::decode(&after.encode()), Some(after));
    }

    #[test]
    fn decode_refuses_what_encode_never_writes() {
        let actor = ActorId::random();
        let change = next_change(None, &actor, Edit::Put(b"v".to_vec()));
        let heads = Heads::after_local(None, &change, 1, true);
        let bytes = heads.encode();
        assert_eq!(Heads::decode(&bytes), Some(heads.clone()));
        assert_eq!(Heads::decode(b""), None);
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert_eq!(Heads::decode(&damaged), None, "flipped byte {at}");
            assert_eq!(Heads::decode(&bytes[..at]), None, "cut at {at}");
        }
        // Fields that decode but leave no room for the next change.
        let full = Heads {
            max_op: u64::MAX,
            ..heads.clone()
        };
        assert_eq!(Heads::decode(&full.encode()), None, "no op counter left");
        let ended = Heads {
            last_seq: HEADS_SEQ - 1,
            ..heads.clone()
        };
        assert_eq!(
            Heads::decode(&ended.encode()),
            None,
            "no seq left for a chunk"
        );
        let unsorted = Heads {
            hashes: vec![heads.hashes[0], heads.hashes[0]],
            ..heads
        };
        assert_eq!(Heads::decode(&unsorted.encode()), None, "a head twice");
    }

    /// Heads whose fields decode must also be ones the write path can continue from: each
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

    /// A chain encoding must hold an actor: one cut right after the hash is refused, and the
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

    /// A built change is stamped with the time it was made, as Automerge stamps its own: a
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

    /// Heads written before the filter of actors still read, as holding every actor; a
    /// document's own filter holds each actor that wrote it.
    #[test]
    fn heads_from_before_the_actor_filter_hold_every_actor() {
        let (a, b) = (ActorId::random(), ActorId::random());
        let first = next_change(None, &a, Edit::Put(b"v".to_vec()));
        let first_heads = Heads::after_local(None, &first, 1, true);
        let second = next_change(Some(&first_heads), &b, Edit::Delete);
        let heads = Heads::after_local(Some(&first_heads), &second, 2, false);
        assert_eq!(heads.actors, ActorFilter::of([&a, &b]));
        let mut doc = AutoCommit::new();
        doc.apply_changes([first, second]).expect("applies");
        assert_eq!(
            describe(&mut logged(&doc, 2), Some(&b)),
            Some(heads.clone())
        );
        // Version 2: the same fields without the filter, under their checksum.
        let mut bytes = heads.encode();
        bytes.truncate(bytes.len() - 4 - ActorFilter::LEN);
        bytes[0] = ENCODING_MERGED;
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        let read = Heads::decode(&bytes).expect("version 2 reads");
        assert_eq!(read.actors, ActorFilter::FULL);
        assert_eq!(
            Heads {
                actors: heads.actors,
                ..read.clone()
            },
            heads
        );
        // Holding more actors than the document agrees with it; fewer does not.
        assert_eq!(disagreement(&read, &mut logged(&doc, 2), &b), None);
        let fewer = Heads {
            actors: ActorFilter::of([&a]),
            ..heads
        };
        assert!(disagreement(&fewer, &mut logged(&doc, 2), &b).is_some());
    }

    /// A dead actor (an earlier open's) whose lost change came back from a peer leaves its
    /// number behind in heads written before: sound, as nothing writes as it again. The
    /// current open's number behind, or any writer's ahead, is not.
    #[test]
    fn a_dead_writers_number_may_be_behind_and_only_that() {
        let (dead, me) = (ActorId::random(), ActorId::random());
        let first = next_change(None, &dead, Edit::Put(b"one".to_vec()));
        let after_first = Heads::after_local(None, &first, 1, true);
        let second = next_change(Some(&after_first), &dead, Edit::Put(b"two".to_vec()));
        let heads = Heads::after_local(Some(&after_first), &second, 2, true);
        let mut doc = AutoCommit::new();
        doc.apply_changes([first, second]).expect("applies");
        let with_writer = |seq| Heads {
            writer: Some((dead.clone(), seq)),
            ..heads.clone()
        };
        assert_eq!(
            disagreement(&with_writer(2), &mut logged(&doc, 2), &me),
            None
        );
        assert_eq!(
            disagreement(&with_writer(1), &mut logged(&doc, 2), &me),
            None
        );
        assert!(disagreement(&with_writer(1), &mut logged(&doc, 2), &dead).is_some());
        assert!(disagreement(&with_writer(3), &mut logged(&doc, 2), &me).is_some());
        assert_eq!(
            describe(&mut logged(&doc, 2), Some(&dead)).map(|h| h.writer),
            Some(Some((dead.clone(), 2)))
        );
        assert_eq!(
            describe(&mut logged(&doc, 2), Some(&me)).map(|h| h.writer),
            Some(None),
            "an actor without a change here writes nothing"
        );
    }
}
