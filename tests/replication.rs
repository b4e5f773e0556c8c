//! Replicas of the Automerge backend exchanging changes document by document: they converge to
//! exactly what Automerge's own merge of the same changes shows, deletes included, and refuse
//! what the store cannot show.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, Change, ReadDoc, ScalarValue};
use storebench::{
    Applied, AutomergeBackend, OpenOptions, Refusal, ReplicationError, StorageBackend,
};
use tempfile::TempDir;

/// Every failure here is a replication one, or the storage error it carries.
type Result<T, E = ReplicationError> = std::result::Result<T, E>;

const DOCS: &str = "cells";

fn replica(dir: &TempDir, name: &str) -> storebench::Result<AutomergeBackend> {
    AutomergeBackend::open(dir.path().join(name), OpenOptions::new())
}

/// Sends `to` every change of `id` that `from` has and it lacks.
fn send(from: &AutomergeBackend, to: &AutomergeBackend, id: &str) -> Result<Applied> {
    let changes = from.changes_since(DOCS, id, &to.heads(DOCS, id)?)?;
    to.apply_changes(DOCS, id, changes)
}

/// Every change any replica has of `id`, merged by plain Automerge.
fn automerge_merge(replicas: &[&AutomergeBackend], id: &str) -> Result<AutoCommit> {
    let mut merged = AutoCommit::new();
    for replica in replicas {
        if let Some(mut doc) = replica.document(DOCS, id)? {
            merged
                .apply_changes(doc.get_changes(&[]))
                .expect("changes of one document merge");
        }
    }
    Ok(merged)
}

fn value_of(doc: &AutoCommit) -> Option<Vec<u8>> {
    match doc.get(automerge::ROOT, "data").expect("readable")? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            other => panic!("not bytes: {other:?}"),
        },
        other => panic!("not a scalar: {other:?}"),
    }
}

/// Each replica shows, through the store's API, what Automerge's merge shows.
fn assert_each_shows_the_merge(replicas: &[&AutomergeBackend], ids: &[&str]) -> Result<()> {
    for id in ids {
        let mut merged = automerge_merge(replicas, id)?;
        let expected = value_of(&merged);
        let conflicts = merged
            .get_all(automerge::ROOT, "data")
            .expect("readable")
            .len();
        for (n, replica) in replicas.iter().enumerate() {
            let docs = replica.collection(DOCS);
            assert_eq!(docs.get(id)?, expected, "replica {n}, document {id}");
            assert_eq!(replica.conflicts(DOCS, id)?, conflicts, "replica {n}, {id}");
            assert_eq!(
                replica.heads(DOCS, id)?,
                merged.get_heads(),
                "replica {n}, {id}"
            );
        }
    }
    for (n, replica) in replicas.iter().enumerate() {
        let live = ids
            .iter()
            .filter(|id| replica.collection(DOCS).get(id).ok().flatten().is_some())
            .count();
        assert_eq!(replica.collection(DOCS).count()?, live, "replica {n}");
        let report = replica.verify()?;
        assert!(report.is_clean(), "replica {n}: {:?}", report.problems);
    }
    Ok(())
}

#[test]
fn concurrent_puts_conflict_as_automerge_says_and_a_write_resolves_them() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    a.collection(DOCS).upsert("x", b"first".to_vec())?;
    send(&a, &b, "x")?;
    assert_each_shows_the_merge(&[&a, &b], &["x"])?;
    // Both update what they last saw, without seeing each other.
    a.collection(DOCS).upsert("x", b"from a".to_vec())?;
    b.collection(DOCS).upsert("x", b"from b".to_vec())?;
    send(&a, &b, "x")?;
    send(&b, &a, "x")?;
    assert_eq!(a.conflicts(DOCS, "x")?, 2);
    assert_eq!(a.heads(DOCS, "x")?.len(), 2);
    assert_each_shows_the_merge(&[&a, &b], &["x"])?;
    // A write on the merged heads depends on both and overwrites both values.
    b.collection(DOCS).upsert("x", b"resolved".to_vec())?;
    send(&b, &a, "x")?;
    assert_eq!(a.conflicts(DOCS, "x")?, 1);
    assert_eq!(a.collection(DOCS).get("x")?, Some(b"resolved".to_vec()));
    assert_each_shows_the_merge(&[&a, &b], &["x"])
}

#[test]
fn a_delete_replicates_and_a_concurrent_put_survives_it() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    for id in ["gone", "raced"] {
        a.collection(DOCS).upsert(id, b"v1".to_vec())?;
        send(&a, &b, id)?;
    }
    // A delete is a change: it reaches b, and b's older history does not bring the document
    // back to a.
    a.collection(DOCS).delete("gone")?;
    send(&a, &b, "gone")?;
    send(&b, &a, "gone")?;
    assert_eq!(b.collection(DOCS).get("gone")?, None);
    assert_eq!(a.collection(DOCS).get("gone")?, None);
    // A delete removes the values it saw; a put it did not see stays (Automerge's rule).
    a.collection(DOCS).delete("raced")?;
    b.collection(DOCS).upsert("raced", b"kept".to_vec())?;
    send(&a, &b, "raced")?;
    send(&b, &a, "raced")?;
    assert_eq!(a.collection(DOCS).get("raced")?, Some(b"kept".to_vec()));
    assert_each_shows_the_merge(&[&a, &b], &["gone", "raced"])
}

#[test]
fn three_replicas_writing_and_exchanging_at_random_converge_to_automerges_merge() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let replicas = [
        replica(&dir, "a")?,
        replica(&dir, "b")?,
        replica(&dir, "c")?,
    ];
    let ids = ["d0", "d1", "d2", "d3"];
    // A fixed xorshift stream: the same run every time.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut fast, mut merged, mut conflicted) = (0, 0, 0);
    // Heads each replica had along the way: what a peer might say it has.
    let mut history: Vec<Vec<automerge::ChangeHash>> = Vec::new();
    for step in 0..400 {
        if step % 7 == 0 {
            history.push(replicas[step % 3].heads(DOCS, ids[step % ids.len()])?);
        }
        let (r, id) = (next(3), ids[next(ids.len())]);
        match next(10) {
            0..=4 => replicas[r]
                .collection(DOCS)
                .upsert(id, format!("{step}").into_bytes())?,
            5 => replicas[r].collection(DOCS).delete(id)?,
            _ => {
                let to = &replicas[(r + 1 + next(2)) % 3];
                let applied = send(&replicas[r], to, id)?;
                match (applied.new, applied.merged) {
                    (0, _) => {}
                    (_, false) => fast += 1,
                    (_, true) => merged += 1,
                }
                conflicted += usize::from(to.conflicts(DOCS, id)? > 1);
            }
        }
    }
    // The run reaches both ways of applying, and conflicts.
    assert!(
        fast > 10 && merged > 10 && conflicted > 5,
        "{fast} {merged} {conflicted}"
    );
    for _ in 0..2 {
        for (from, to) in [(0, 1), (1, 2), (2, 0)] {
            for id in ids {
                send(&replicas[from], &replicas[to], id)?;
            }
        }
    }
    let refs: Vec<&AutomergeBackend> = replicas.iter().collect();
    assert_each_shows_the_merge(&refs, &ids)?;
    // What changes_since reads from the log's newest chunks is what Automerge's own
    // get_changes gives for the same heads, whichever heads the peer names; and after a
    // compaction (one snapshot, loaded whole) too.
    for compacted in [false, true] {
        if compacted {
            replicas[1].compact()?;
        }
        for id in ids {
            let mut doc = replicas[1]
                .document(DOCS, id)?
                .expect("every document exists");
            for have in history.iter().chain([&Vec::new()]) {
                let known: Vec<_> = have
                    .iter()
                    .filter(|h| doc.get_change_meta_by_hash(h).is_some())
                    .copied()
                    .collect();
                let mut expected: Vec<_> =
                    doc.get_changes(&known).iter().map(Change::hash).collect();
                let mut walked: Vec<_> = replicas[1]
                    .changes_since(DOCS, id, have)?
                    .iter()
                    .map(Change::hash)
                    .collect();
                expected.sort();
                walked.sort();
                assert_eq!(walked, expected, "{id}, compacted {compacted}");
            }
        }
    }
    Ok(())
}

#[test]
fn changes_apply_in_any_order_once_and_never_without_what_they_depend_on() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    for n in 0..5 {
        a.collection(DOCS).upsert("x", vec![n; 3])?;
    }
    let mut changes = a.changes_since(DOCS, "x", &[])?;
    assert_eq!(changes.len(), 5);
    // Without the first change, the rest depend on something b lacks: refused, none kept.
    let err = b
        .apply_changes(DOCS, "x", changes[1..].to_vec())
        .expect_err("missing the first change");
    assert!(
        matches!(&err, ReplicationError::ChangeRefused { reason: Refusal::MissingDependencies { missing }, .. } if missing == &[changes[0].hash()]),
        "{err}"
    );
    // The error says what to do, naming the document and the change missing.
    let said = err.to_string();
    assert!(
        said.contains("\"x\"") && said.contains(&changes[0].hash().to_string()),
        "{said}"
    );
    assert_eq!(b.heads(DOCS, "x")?, vec![]);
    assert_eq!(b.collection(DOCS).get("x")?, None);
    // In reverse, all at once: applied; again: all known.
    changes.reverse();
    let applied = b.apply_changes(DOCS, "x", changes.clone())?;
    assert_eq!((applied.new, applied.known, applied.merged), (5, 0, false));
    let again = b.apply_changes(DOCS, "x", changes.clone())?;
    assert_eq!((again.new, again.known), (0, 5));
    assert_eq!(b.collection(DOCS).get("x")?, Some(vec![4; 3]));
    // The newest change alone again is a head; the one before it is among the newest chunks:
    // each known without loading the document.
    for change in &changes[..2] {
        let known = b.apply_changes(DOCS, "x", vec![change.clone()])?;
        assert_eq!((known.new, known.known, known.merged), (0, 1, false));
    }
    assert_each_shows_the_merge(&[&a, &b], &["x"])
}

/// Two changes concurrent on one before them in the same batch: the second depends on a change
/// that is no longer a head but came earlier in the batch, so it too is applied from the heads.
#[test]
fn a_batch_of_concurrent_changes_applies_without_a_merge() -> Result<()> {
    let put = |doc: &mut AutoCommit, byte: u8| -> Change {
        doc.put(automerge::ROOT, "data", ScalarValue::Bytes(vec![byte; 4]))
            .expect("a put");
        doc.get_last_local_change().expect("a change")
    };
    let mut ours = AutoCommit::new();
    let first = put(&mut ours, 1);
    let mut theirs = ours.fork();
    let (after, beside) = (put(&mut ours, 2), put(&mut theirs, 3));
    ours.merge(&mut theirs).expect("merges");
    let dir = tempfile::tempdir().expect("temp dir");
    // In both orders: one of the two wins (Lamport order), so the last in the batch is once
    // the new value and once a value that stands behind the one kept.
    for (n, batch) in [
        vec![first.clone(), after.clone(), beside.clone()],
        vec![first, beside, after],
    ]
    .into_iter()
    .enumerate()
    {
        let store = replica(&dir, &format!("store{n}"))?;
        let applied = store.apply_changes(DOCS, "c", batch)?;
        assert_eq!((applied.new, applied.merged), (3, false), "order {n}");
        assert_eq!(store.collection(DOCS).get("c")?, value_of(&ours));
        assert_eq!(store.conflicts(DOCS, "c")?, 2);
        assert_eq!(store.heads(DOCS, "c")?, ours.get_heads());
        assert!(store.verify()?.is_clean());
    }
    Ok(())
}

/// A remote delete of a value that stands is applied from the heads, like a local one.
#[test]
fn a_remote_delete_applies_without_a_merge() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    a.collection(DOCS).upsert("x", vec![1; 3])?;
    send(&a, &b, "x")?;
    a.collection(DOCS).delete("x")?;
    let applied = send(&a, &b, "x")?;
    assert_eq!((applied.new, applied.merged), (1, false));
    assert_eq!(b.collection(DOCS).get("x")?, None);
    assert_each_shows_the_merge(&[&a, &b], &["x"])
}

#[test]
fn plain_automerge_reads_the_store_and_writes_back_into_it() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    store
        .collection(DOCS)
        .upsert("x", b"from the store".to_vec())?;
    // Out of the store: saved and loaded by another program.
    let saved = store.document(DOCS, "x")?.expect("exists").save();
    let mut theirs = AutoCommit::load(&saved).expect("plain Automerge loads it");
    assert_eq!(value_of(&theirs), Some(b"from the store".to_vec()));
    // Back in: their edit, as bytes over any transport.
    let before = theirs.get_heads();
    theirs
        .put(
            automerge::ROOT,
            "data",
            ScalarValue::Bytes(b"from them".to_vec()),
        )
        .expect("put");
    theirs.commit();
    let bytes: Vec<Vec<u8>> = theirs
        .get_changes(&before)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let changes: Vec<Change> = bytes
        .iter()
        .map(|b| Change::try_from(b.as_slice()).expect("a change"))
        .collect();
    let applied = store.apply_changes(DOCS, "x", changes)?;
    assert_eq!(
        (applied.new, applied.merged),
        (1, false),
        "their put continues our heads"
    );
    assert_eq!(
        store.collection(DOCS).get("x")?,
        Some(b"from them".to_vec())
    );
    // A change that breaks the shape: refused, nothing stored.
    for (what, edit) in [
        ("a string", 0),
        ("a number under another key", 1),
        ("bytes under another key", 3),
        ("an object", 2),
    ] {
        let mut bad = store.document(DOCS, "x")?.expect("exists");
        let heads = bad.get_heads();
        match edit {
            0 => bad.put(automerge::ROOT, "data", "text").map(drop),
            1 => bad.put(automerge::ROOT, "other", 1).map(drop),
            3 => bad
                .put(automerge::ROOT, "other", ScalarValue::Bytes(vec![1]))
                .map(drop),
            _ => bad
                .put_object(automerge::ROOT, "data", automerge::ObjType::Map)
                .map(drop),
        }
        .expect("plain Automerge allows it");
        bad.commit();
        let err = store
            .apply_changes(DOCS, "x", bad.get_changes(&heads))
            .expect_err(what);
        assert!(
            matches!(
                &err,
                ReplicationError::ChangeRefused {
                    reason: Refusal::Shape { .. },
                    ..
                }
            ),
            "{what}: {err}"
        );
        assert_eq!(
            store.heads(DOCS, "x")?,
            theirs.get_heads(),
            "{what}: nothing stored"
        );
    }
    assert_eq!(
        store.collection(DOCS).get("x")?,
        Some(b"from them".to_vec())
    );
    assert!(store.verify()?.is_clean());
    // And they stay after a reopen.
    store.close()?;
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    assert_eq!(
        store.collection(DOCS).get("x")?,
        Some(b"from them".to_vec())
    );
    assert!(store.verify()?.is_clean());
    Ok(())
}

/// A change the store has, sent again behind new ones in one batch, is known: not appended a
/// second time, which would make it a head again.
#[test]
fn a_stored_change_behind_new_ones_in_a_batch_is_known() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    for n in 0..3 {
        a.collection(DOCS).upsert("x", vec![n; 3])?;
    }
    send(&a, &b, "x")?;
    for n in 7..9 {
        b.collection(DOCS).upsert("x", vec![n; 3])?;
    }
    let mut batch = b.changes_since(DOCS, "x", &a.heads(DOCS, "x")?)?;
    assert_eq!(batch.len(), 2);
    // The middle one of a's own three: neither a head nor the newest chunk.
    batch.push(a.changes_since(DOCS, "x", &[])?[1].clone());
    let applied = a.apply_changes(DOCS, "x", batch)?;
    assert_eq!((applied.new, applied.known, applied.merged), (2, 1, false));
    assert_each_shows_the_merge(&[&a, &b], &["x"])
}

/// A change sent again from further back than the chunks `apply_changes` looks through (the
/// newest 64) is known too: the document is merged to tell, never appended to.
#[test]
fn a_change_from_far_back_sent_again_is_known() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = replica(&dir, "a")?;
    for n in 0..80u8 {
        a.collection(DOCS).upsert("x", vec![n; 3])?;
    }
    let heads = a.heads(DOCS, "x")?;
    let old = a.changes_since(DOCS, "x", &[])?[1].clone();
    let applied = a.apply_changes(DOCS, "x", vec![old.clone()])?;
    assert_eq!((applied.new, applied.known, applied.merged), (0, 1, true));
    assert_eq!(a.heads(DOCS, "x")?, heads);
    // With a new change behind it, merged together: one known, one new.
    let mut theirs = a.document(DOCS, "x")?.expect("exists");
    theirs
        .put(automerge::ROOT, "data", ScalarValue::Bytes(vec![9; 3]))
        .expect("a put");
    let new = theirs.get_last_local_change().expect("a change");
    let applied = a.apply_changes(DOCS, "x", vec![old, new])?;
    assert_eq!((applied.new, applied.known, applied.merged), (1, 1, true));
    assert_eq!(a.collection(DOCS).get("x")?, Some(vec![9; 3]));
    assert!(a.verify()?.is_clean());
    Ok(())
}

/// `changes` with one byte of the last one's data flipped under its chunk header, where the
/// damaged bytes still parse as a change (Automerge's parse does not check the chunk's
/// checksum; its load does).
fn damaged_under_its_checksum(changes: &[Change]) -> Vec<Change> {
    let (last, rest) = changes.split_last().expect("a change");
    let bytes = last.raw_bytes();
    // The value is at the end of a change's bytes: flip from there back.
    let damaged = (8..bytes.len())
        .rev()
        .find_map(|at| {
            let mut damaged = bytes.to_vec();
            damaged[at] ^= 0x01;
            Change::try_from(damaged.as_slice()).ok()
        })
        .expect("a flip that still parses");
    assert_ne!(damaged.hash(), last.hash());
    [rest, &[damaged]].concat()
}

/// What a refused change must leave: nothing of it stored, `verify()` clean, the document
/// writable and readable by Automerge.
fn assert_untouched(
    store: &AutomergeBackend,
    id: &str,
    heads: &[automerge::ChangeHash],
) -> Result<()> {
    assert_eq!(store.heads(DOCS, id)?, heads, "nothing stored");
    assert_clean(store)?;
    store
        .collection(DOCS)
        .upsert(id, b"still writable".to_vec())?;
    assert!(store.document(DOCS, id)?.is_some(), "Automerge loads it");
    assert_clean(store)
}

/// `verify()` finds nothing wrong with `store`.
fn assert_clean(store: &AutomergeBackend) -> Result<()> {
    let report = store.verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    Ok(())
}

#[test]
fn a_change_damaged_under_its_chunk_checksum_is_refused() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    a.collection(DOCS).upsert("x", vec![1; 3])?;
    send(&a, &b, "x")?;
    a.collection(DOCS).upsert("x", vec![2; 3])?;
    // A new document, and one more change to a document b has (the heads fast path).
    for (id, have) in [("new", Vec::new()), ("x", b.heads(DOCS, "x")?)] {
        if id == "new" {
            a.collection(DOCS).upsert(id, vec![3; 3])?;
        }
        let changes = damaged_under_its_checksum(&a.changes_since(DOCS, id, &have)?);
        let err = b
            .apply_changes(DOCS, id, changes)
            .expect_err("a damaged change");
        assert!(
            matches!(&err, ReplicationError::ChangeRefused { reason: Refusal::Malformed { detail }, .. } if detail.contains("checksum")),
            "{id}: {err}"
        );
        assert_untouched(&b, id, &have)?;
    }
    Ok(())
}

/// A change `actor` makes numbered `seq`, putting `value` after `deps`: what a replica
/// writing as another's actor, or a forger, would send.
fn forged(
    actor: &automerge::ActorId,
    seq: u64,
    deps: Vec<automerge::ChangeHash>,
    value: u8,
) -> Change {
    Change::from(automerge::ExpandedChange {
        operations: vec![automerge::legacy::Op {
            action: automerge::legacy::OpType::Put(ScalarValue::Bytes(vec![value; 3])),
            obj: automerge::legacy::ObjectId::Root,
            key: automerge::legacy::Key::Map("data".into()),
            pred: Vec::new().into(),
            insert: false,
        }],
        actor_id: actor.clone(),
        hash: None,
        seq,
        start_op: std::num::NonZeroU64::new(100 + seq).expect("not zero"),
        time: 0,
        message: None,
        deps,
        extra_bytes: Vec::new(),
        author: None,
    })
}

#[test]
fn a_change_reusing_its_actors_number_is_refused_on_every_path() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    a.collection(DOCS).upsert("x", vec![1; 3])?;
    a.collection(DOCS).upsert("x", vec![2; 3])?;
    send(&a, &b, "x")?;
    let ours = a.changes_since(DOCS, "x", &[])?;
    let actor = ours[0].actor_id().clone();
    // Plain Automerge refuses a second change 2 of a's: "duplicate seq".
    let second = forged(&actor, 2, vec![ours[0].hash()], 9);
    let mut plain = AutoCommit::new();
    plain.apply_changes(ours.clone()).expect("a's changes");
    assert!(plain.apply_changes([second.clone()]).is_err());
    // In this order: each case writes to the document after its refusal (`assert_untouched`),
    // so only the first finds a's change 2 still among b's heads.
    let cases = [
        // On b's heads: a head is the dependency.
        (
            "change 2 again, after change 2",
            "x",
            vec![forged(&actor, 2, vec![ours[1].hash()], 8)],
            2,
        ),
        // On what a's first change left: from the newest chunks, without a merge.
        (
            "change 2 again, after change 1",
            "x",
            vec![second.clone()],
            2,
        ),
        // Depending on nothing: merged by Automerge.
        (
            "change 1 again, first",
            "x",
            vec![forged(&actor, 1, Vec::new(), 7)],
            1,
        ),
        // Two changes 2 in one batch, to a document b does not have.
        (
            "two changes 2 in a batch",
            "new",
            vec![ours[0].clone(), ours[1].clone(), second.clone()],
            2,
        ),
    ];
    for (what, id, batch, seq) in cases {
        let heads = b.heads(DOCS, id)?;
        let err = b.apply_changes(DOCS, id, batch).expect_err(what);
        assert!(
            matches!(&err, ReplicationError::ChangeRefused { reason: Refusal::DuplicateSeq { actor: by, seq: s }, .. } if *by == actor && *s == seq),
            "{what}: {err}"
        );
        assert_untouched(&b, id, &heads)?;
    }
    Ok(())
}

#[test]
fn a_change_skipping_its_actors_number_is_refused_and_never_panics() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    a.collection(DOCS).upsert("x", vec![1; 3])?;
    a.collection(DOCS).upsert("x", vec![2; 3])?;
    send(&a, &b, "x")?;
    let ours = a.changes_since(DOCS, "x", &[])?;
    let actor = ours[0].actor_id().clone();
    let unrelated = automerge::ActorId::random();
    for (what, change) in [
        // Automerge would store it, and then panic loading the document.
        (
            "change 4 after change 2",
            forged(&actor, 4, vec![ours[1].hash()], 9),
        ),
        // Automerge panics applying it.
        (
            "change 4 depending on nothing",
            forged(&actor, 4, Vec::new(), 8),
        ),
        (
            "a new actor's change 2",
            forged(&unrelated, 2, vec![ours[1].hash()], 7),
        ),
        // The next number, but not after change 2: a load could meet it first, and panic.
        (
            "change 3 after change 1",
            forged(&actor, 3, vec![ours[0].hash()], 6),
        ),
    ] {
        let heads = b.heads(DOCS, "x")?;
        let err = b.apply_changes(DOCS, "x", vec![change]).expect_err(what);
        assert!(
            matches!(
                &err,
                ReplicationError::ChangeRefused {
                    reason: Refusal::OutOfSequence { .. },
                    ..
                }
            ),
            "{what}: {err}"
        );
        assert_untouched(&b, "x", &heads)?;
    }
    Ok(())
}

/// A peer cannot hold a change of this open's that it lacks, but a forger can send one: it is
/// this open's actor's newest change to the document, and the next local write follows it
/// rather than reusing its number.
#[test]
fn a_change_made_as_this_opens_actor_is_followed_by_its_next_write() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = replica(&dir, "store")?;
    store.collection(DOCS).upsert("mine", vec![1; 3])?;
    let me = store.changes_since(DOCS, "mine", &[])?[0]
        .actor_id()
        .clone();
    let applied = store.apply_changes(DOCS, "x", vec![forged(&me, 1, Vec::new(), 5)])?;
    assert_eq!(applied.new, 1);
    store.collection(DOCS).upsert("x", vec![6; 3])?;
    let mut doc = store.document(DOCS, "x")?.expect("Automerge loads it");
    let numbers: Vec<u64> = doc.get_changes(&[]).iter().map(Change::seq).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(store.collection(DOCS).get("x")?, Some(vec![6; 3]));
    assert!(store.verify()?.is_clean());
    Ok(())
}
