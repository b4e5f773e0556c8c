//! A document's heads in the change log: read before a write appends, written with it, and
//! described from (or checked against) the document the change log rebuilds. The heads
//! themselves, and the change a write builds from them, are [`super::heads`].

use automerge::ActorId;

use super::super::persistent::{CollectionId, CollectionRef, MaterializedWriter};
use super::actors::ActorFilter;
use super::change_log::{ChangeLogRead, ChangeLogTable, LoggedDocument, corrupt};
use super::document;
use super::heads::{Heads, lamport};
use super::planted::{ReplicationBug, planted};
use crate::Result;

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
    let Some(stored) = log.heads(collection, id)? else {
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
/// from another replica); `None` for a new document. Everything about the stored document
/// that can refuse the write is checked here, before the write changes anything.
///
/// # Errors
/// [`Error::Corrupt`](crate::Error::Corrupt) when the heads do not decode, or when the
/// document has a value but no heads: its chunks can no longer be found, and a write would
/// start a history of its own over them. (A deleted document whose heads are gone cannot be
/// told from a new one here; `verify()` finds its chunks, which no heads lead to.)
pub(crate) fn read_to_append(
    log: &impl ChangeLogRead,
    materialized: &MaterializedWriter<'_>,
    collection: &CollectionRef,
    id: &str,
) -> Result<Option<Heads>> {
    let heads = read(log, collection.id, &collection.name, id)?;
    if heads.is_none() && materialized.contains(id)? {
        return Err(corrupt(
            &collection.name,
            id,
            "it has a value but its change log has no heads",
            None,
        ));
    }
    Ok(heads)
}

/// Stores a document's heads.
pub(crate) fn write(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    id: &str,
    heads: &Heads,
) -> Result<()> {
    log.put_heads(collection, id, &heads.encode())
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
        chunks: logged.chunks,
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
    if (heads.chunks, heads.last_seq) != (logged.chunks, logged.last_seq) {
        return Some(format!(
            "its heads count {} chunks up to chunk {}, but its change log holds {} up to {}",
            heads.chunks, heads.last_seq, logged.chunks, logged.last_seq
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

#[cfg(test)]
mod tests {
    use super::super::document::DATA_KEY;
    use super::super::heads::{Edit, next_change};
    use automerge::ScalarValue;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc};

    use super::*;
    use crate::backend::automerge::change_log::LoggedDocument;

    fn logged(doc: &AutoCommit, chunks: u64) -> LoggedDocument {
        LoggedDocument {
            doc: doc.clone(),
            chunks,
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

    /// Heads whose fields decode must also be ones the write path can continue from.
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
            last_seq: u64::MAX,
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

    /// A document's filter of actors holds each actor that wrote it; heads whose filter holds
    /// more agree with the document, fewer do not.
    #[test]
    fn the_filter_of_actors_holds_each_writer_and_may_hold_more() {
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
        let every = Heads {
            actors: ActorFilter::FULL,
            ..heads.clone()
        };
        // Holding more actors than the document agrees with it; fewer does not.
        assert_eq!(disagreement(&every, &mut logged(&doc, 2), &b), None);
        let fewer = Heads {
            actors: ActorFilter::of([&a]),
            ..heads
        };
        assert!(disagreement(&fewer, &mut logged(&doc, 2), &b).is_some());
    }
}
