//! A document's heads: the few fields an upsert needs to write the document's next change
//! without loading the document.
//!
//! Every change this backend writes has one op, which puts the document's bytes under the root
//! key `data`, and depends on the change before it: a document's history is a chain. So the
//! next change is fixed by the last one alone: it depends on the last change's hash, its op
//! overwrites the last change's op, and its op counter and its actor's seq follow on. Kept
//! beside the change log, in the same transactions, these fields let an upsert build its change
//! directly (`ExpandedChange` into `Change`) in a few microseconds, however long the history,
//! where applying it to a loaded document costs tens of microseconds and keeps every past value
//! in memory. `verify()` checks them against the document rebuilt from its log.

use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

use automerge::{ActorId, Change, ChangeHash, ExpandedChange, ScalarValue, legacy};
use redb::ReadableTable;

use super::super::persistent::CollectionId;
use super::change_log::{ChangeLogTable, LoggedDocument, corrupt};
use super::document::DATA_KEY;
use crate::Result;

/// Where a document's history stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heads {
    /// The seq of the document's first chunk: the saves folded into its snapshot, or 1 before
    /// any compaction.
    pub(crate) snapshot_seq: u64,
    /// The seq of its last chunk.
    pub(crate) last_seq: u64,
    /// The hash of its last change, the one head of the chain.
    pub(crate) hash: ChangeHash,
    /// The actor of the last change, and that change's seq among the actor's changes.
    pub(crate) actor: ActorId,
    pub(crate) actor_seq: u64,
    /// The op counter of the last change's one op: the largest in the document.
    pub(crate) max_op: u64,
}

/// Version byte of the encoding, so that a later layout is told apart.
const ENCODING: u8 = 1;
/// Version, four u64 and a hash, before the actor's bytes.
const FIXED_LEN: usize = 1 + 4 * 8 + 32;

impl Heads {
    /// The heads after appending `change` as chunk `last_seq`, on top of `previous`.
    pub(crate) fn after(previous: Option<&Heads>, change: &Change, last_seq: u64) -> Heads {
        Heads {
            snapshot_seq: previous.map_or(last_seq, |p| p.snapshot_seq),
            last_seq,
            hash: change.hash(),
            actor: change.actor_id().clone(),
            actor_seq: change.seq(),
            max_op: change.max_op(),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let actor = self.actor.to_bytes();
        let mut out = Vec::with_capacity(FIXED_LEN + actor.len());
        out.push(ENCODING);
        for n in [
            self.snapshot_seq,
            self.last_seq,
            self.actor_seq,
            self.max_op,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&self.hash.0);
        out.extend_from_slice(actor);
        out
    }

    /// Reads encoded heads; `None` when the bytes are not a valid encoding.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Heads> {
        if bytes.len() <= FIXED_LEN || bytes[0] != ENCODING {
            return None;
        }
        let number = |i: usize| {
            let at = 1 + 8 * i;
            u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
        };
        let hash = ChangeHash(bytes[33..FIXED_LEN].try_into().expect("32 bytes"));
        let heads = Heads {
            snapshot_seq: number(0),
            last_seq: number(1),
            actor_seq: number(2),
            max_op: number(3),
            hash,
            actor: ActorId::from(&bytes[FIXED_LEN..]),
        };
        // Every count can take one more: the next change's numbers and the next chunk's seq,
        // which must stay below the heads' own.
        let ordered = 1 <= heads.snapshot_seq && heads.snapshot_seq <= heads.last_seq;
        let room =
            heads.last_seq < HEADS_SEQ - 1 && heads.actor_seq < u64::MAX && heads.max_op < u64::MAX;
        (ordered && room && heads.actor_seq >= 1 && heads.max_op >= 1).then_some(heads)
    }
}

/// The change-log seq the heads are stored at: after every chunk, next to the newest, which
/// the next upsert writes beside them.
pub(crate) const HEADS_SEQ: u64 = u64::MAX;

/// A document's stored heads, or `None` when it has none.
///
/// # Errors
/// [`Error::Corrupt`](crate::Error::Corrupt) when they do not decode.
pub(crate) fn read(
    log: &impl ReadableTable<(CollectionId, &'static str, u64), &'static [u8]>,
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

/// How `heads` disagree with the document its change log rebuilds, if they do.
pub(crate) fn disagreement(heads: &Heads, logged: &mut LoggedDocument) -> Option<String> {
    if (heads.snapshot_seq, heads.last_seq) != (logged.first_seq, logged.last_seq) {
        return Some(format!(
            "its heads name chunks {} to {}, but its change log holds {} to {}",
            heads.snapshot_seq, heads.last_seq, logged.first_seq, logged.last_seq
        ));
    }
    if logged.doc.get_heads() != [heads.hash] {
        return Some("its heads name another last change than its change log ends with".into());
    }
    // The change's metadata alone: building the whole change costs far more, and verify runs
    // this for every document.
    let last = logged.doc.get_change_meta_by_hash(&heads.hash)?;
    let described = (last.actor.as_ref(), last.seq, last.max_op);
    (described != (&heads.actor, heads.actor_seq, heads.max_op))
        .then(|| "its heads disagree with its last change's actor, seq or op".into())
}

/// The change that sets a document's bytes to `data`, written by `actor`, after the change
/// `previous` describes (`None` for a new document).
pub(crate) fn next_change(previous: Option<&Heads>, actor: &ActorId, data: Vec<u8>) -> Change {
    let (deps, pred, max_op, actor_seq) = match previous {
        None => (Vec::new(), Vec::new(), 0, 0),
        Some(p) => (
            vec![p.hash],
            vec![legacy::OpId(p.max_op, p.actor.clone())],
            p.max_op,
            // An actor is fresh per open, so its changes to one document are consecutive.
            if p.actor == *actor { p.actor_seq } else { 0 },
        ),
    };
    let put = legacy::Op {
        action: legacy::OpType::Put(ScalarValue::Bytes(data)),
        obj: legacy::ObjectId::Root,
        key: legacy::Key::Map(DATA_KEY.into()),
        pred: pred.into(),
        insert: false,
    };
    Change::from(ExpandedChange {
        operations: vec![put],
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

    /// Changes built from heads alone load into the same document Automerge would build: one
    /// chain, every value kept, the last one current, and writable on by Automerge itself.
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
            let change = next_change(heads.as_ref(), actor, vec![seq as u8; 100]);
            log.extend_from_slice(change.raw_bytes());
            heads = Some(Heads::after(heads.as_ref(), &change, seq as u64 + 1));
        }
        let heads = heads.expect("five changes");
        assert_eq!(heads.actor_seq, 3, "the second actor's third change");
        let mut doc = AutoCommit::load(&log).expect("the chain loads");
        assert_eq!(doc.get_heads(), vec![heads.hash]);
        assert_eq!(doc.get_changes(&[]).len(), 5);
        assert_eq!(
            doc.get_all(automerge::ROOT, DATA_KEY)
                .expect("readable")
                .len(),
            1
        );
        assert_eq!(
            super::super::document::data(&doc, "c", "d").expect("bytes"),
            vec![4u8; 100]
        );
        // Automerge itself writes on from there, as a replica merging the document would.
        doc.put(automerge::ROOT, DATA_KEY, ScalarValue::Bytes(vec![9; 3]))
            .expect("put");
        doc.commit();
        assert_eq!(doc.get_changes(&[]).len(), 6);
        assert_eq!(
            super::super::document::data(&doc, "c", "d").expect("bytes"),
            vec![9u8; 3]
        );
        assert_eq!(Heads::decode(&heads.encode()), Some(heads));
    }

    #[test]
    fn decode_refuses_what_encode_never_writes() {
        assert_eq!(Heads::decode(b""), None);
        assert_eq!(Heads::decode(&[ENCODING; FIXED_LEN]), None, "no actor");
        let mut bytes = vec![2u8; FIXED_LEN + 16];
        assert_eq!(Heads::decode(&bytes), None, "unknown encoding");
        bytes[0] = ENCODING;
        bytes[1..9].copy_from_slice(&5u64.to_le_bytes());
        bytes[9..17].copy_from_slice(&4u64.to_le_bytes());
        assert_eq!(Heads::decode(&bytes), None, "snapshot after the last chunk");
        bytes[9..17].copy_from_slice(&(HEADS_SEQ - 1).to_le_bytes());
        assert_eq!(
            Heads::decode(&bytes),
            None,
            "no seq left for the next chunk"
        );
        bytes[9..17].copy_from_slice(&5u64.to_le_bytes());
        bytes[25..33].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            Heads::decode(&bytes),
            None,
            "no op counter left for the next change"
        );
    }
}
