//! Settling and the verdict: replicas synced to quiescence over a reliable link, sound after
//! it, converged on Automerge's merge, and reopening clean.

use automerge::{AutoCommit, ReadDoc, ScalarValue};

use super::run::{COLLECTION, DOCS, Replica, acknowledge_all, open};
use crate::backend::ReplicationBug;
use crate::{Error, StorageBackend};

/// Syncs every pair over a reliable link until a round changes nothing.
pub(super) fn settle(replicas: &mut [Replica]) -> Result<(), String> {
    for replica in replicas.iter() {
        replica.disk.disarm();
    }
    let count = replicas.len();
    for round in 0..=count + 1 {
        let mut applied = 0;
        for a in 0..count {
            for b in a + 1..count {
                let stats = replicas[a]
                    .store
                    .sync_with(&replicas[b].store)
                    .map_err(|e| format!("round {round}, replicas {a} and {b}: {e}"))?;
                applied += stats.changes_applied;
            }
        }
        if applied == 0 && round > 0 {
            return Ok(());
        }
    }
    Err(format!(
        "replicas still exchanged changes after {} rounds",
        count + 2
    ))
}

/// After a settle every replica's `verify()` is clean, its `compact()` succeeds (which makes
/// every write durable) and `verify()` is clean after it.
pub(super) fn sound_after_settling(replicas: &mut [Replica]) -> Result<(), String> {
    for (r, replica) in replicas.iter_mut().enumerate() {
        let verified = |when: &str| match replica.store.verify() {
            Ok(report) if report.is_clean() => Ok(()),
            Ok(report) => Err(format!(
                "replica {r} {when}: verify() finds {:?}",
                report.problems
            )),
            Err(e) => Err(format!("replica {r} {when}: verify() fails: {e}")),
        };
        verified("after settling")?;
        replica
            .store
            .compact()
            .map_err(|e| format!("replica {r} does not compact after settling: {e}"))?;
        verified("after compacting")?;
        acknowledge_all(replica).map_err(|e| format!("replica {r} after compacting: {e}"))?;
    }
    Ok(())
}

pub(super) fn check_converged(replicas: &[Replica]) -> Result<(), String> {
    let fail = |e: Error| e.to_string();
    for id in DOCS {
        let mut merged = AutoCommit::new();
        for replica in replicas {
            if let Some(mut doc) = replica.store.document(COLLECTION, id).map_err(fail)? {
                merged
                    .apply_changes(doc.get_changes(&[]))
                    .map_err(|e| format!("{id}: the replicas' changes do not merge: {e}"))?;
            }
        }
        let expected = value(&merged).map_err(|e| format!("{id}: {e}"))?;
        let heads = merged.get_heads();
        for (r, replica) in replicas.iter().enumerate() {
            let shown = replica.store.collection(COLLECTION).get(id).map_err(fail)?;
            if shown != expected {
                return Err(format!(
                    "replica {r} shows {shown:?} for {id}, Automerge's merge {expected:?}"
                ));
            }
            if replica.store.heads(COLLECTION, id).map_err(fail)? != heads {
                return Err(format!(
                    "replica {r} has other heads for {id} than the merge"
                ));
            }
            let conflicts = merged
                .get_all(automerge::ROOT, "data")
                .map_or(0, |v| v.len());
            if replica.store.conflicts(COLLECTION, id).map_err(fail)? != conflicts {
                return Err(format!("replica {r} counts other conflicts for {id}"));
            }
            for (doc, acked) in &replica.acked {
                if *doc == id
                    && acked
                        .iter()
                        .any(|h| merged.get_change_meta_by_hash(h).is_none())
                {
                    return Err(format!(
                        "replica {r} acknowledged a durable write to {id} that no replica has"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn value(doc: &AutoCommit) -> Result<Option<Vec<u8>>, String> {
    match doc.get(automerge::ROOT, "data") {
        Ok(None) => Ok(None),
        Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Bytes(b) => Ok(Some(b.clone())),
            other => Err(format!("the merge holds {other:?}")),
        },
        Ok(Some((other, _))) => Err(format!("the merge holds {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Closes a replica, reopens it: `verify()` clean and the same values.
pub(super) fn reopen_clean(
    r: usize,
    replica: Replica,
    bug: Option<ReplicationBug>,
) -> Result<(), String> {
    let docs = replica.store.collection(COLLECTION);
    let before: Vec<Option<Vec<u8>>> = DOCS
        .iter()
        .map(|id| docs.get(id))
        .collect::<crate::Result<_>>()
        .map_err(|e| e.to_string())?;
    drop(docs);
    replica
        .store
        .close()
        .map_err(|e| format!("replica {r} closes: {e}"))?;
    let store = open(&replica.disk, replica.durable, bug)
        .map_err(|e| format!("replica {r} reopens: {e}"))?;
    let report = store.verify().map_err(|e| e.to_string())?;
    if !report.is_clean() {
        return Err(format!("replica {r} after reopen: {:?}", report.problems));
    }
    let docs = store.collection(COLLECTION);
    for (id, was) in DOCS.iter().zip(before) {
        let now = docs.get(id).map_err(|e| e.to_string())?;
        if now != was {
            return Err(format!(
                "replica {r}: {id} was {was:?}, after reopen {now:?}"
            ));
        }
    }
    Ok(())
}
