//! The concurrency check, for any binding: threads that upsert, delete and read overlapping
//! ids, each creating the collection itself as they start together, must lose no update and
//! keep `count` equal to the live ids; each must read its own writes while the others write.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Barrier;

use super::Divergence;
use super::checker::offered;
use crate::binding::{Binding, Concurrency};
use crate::error::with_causes;
use crate::{Durability, Result, StorageBackend};

const THREADS: usize = 4;
const OPS_PER_THREAD: usize = 250;
const IDS: usize = 12;

/// What thread `t` does at step `i`: `Some(value)` upserts, `None` deletes, on id `id`.
fn step(t: usize, i: usize) -> (String, Option<Vec<u8>>) {
    let id = format!("k{}", (i * 7 + t * 3) % IDS);
    let value = if (i + t).is_multiple_of(5) {
        None
    } else {
        Some(format!("t{t}-{i}").into_bytes())
    };
    (id, value)
}

/// Runs four writers and a reader on one store of `binding` in `dir` (empty at first), then
/// checks every id holds one of its last writes and `count` equals the live ids, before and
/// after a reopen. A binding that allows one thread at a time passes without running.
///
/// # Errors
/// The first violation, as a [`Divergence`] at step 0 with no operation; one naming the modes
/// offered when the binding offers modes but not `durability`.
pub fn check_concurrency(
    binding: &dyn Binding,
    durability: Durability,
    dir: &Path,
) -> Result<(), Divergence> {
    let durability = offered(binding, durability)?;
    if binding.concurrency() == Concurrency::SingleThread {
        return Ok(());
    }
    let violated = |what: String| Divergence {
        step: 0,
        op: None,
        what,
    };
    let store = binding
        .open(dir, durability)
        .map_err(|e| violated(format!("open: {}", with_causes(&e))))?;
    hammer(store.store()).map_err(violated)?;
    final_state(store.store()).map_err(violated)?;
    store
        .close()
        .map_err(|e| violated(format!("close: {}", with_causes(&e))))?;
    if durability.is_some() {
        let reopened = binding
            .open(dir, durability)
            .map_err(|e| violated(format!("reopen: {}", with_causes(&e))))?;
        final_state(reopened.store()).map_err(|e| violated(format!("after a reopen: {e}")))?;
        reopened
            .close()
            .map_err(|e| violated(format!("close: {}", with_causes(&e))))?;
    }
    Ok(())
}

fn hammer(store: &dyn StorageBackend) -> Result<(), String> {
    let barrier = Barrier::new(THREADS + 1);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || -> Result<(), String> {
                    barrier.wait();
                    // Every thread creates the collection itself, all at once: concurrent
                    // creation of one name must give one collection.
                    let docs = store.collection("shared");
                    let own = format!("own-{t}");
                    for i in 0..OPS_PER_THREAD {
                        let written = match step(t, i) {
                            (id, Some(value)) => docs.upsert(&id, value),
                            (id, None) => docs.delete(&id),
                        };
                        written.map_err(|e| format!("thread {t} step {i}: {}", with_causes(&e)))?;
                        let mine = format!("{t}:{i}").into_bytes();
                        docs.upsert(&own, mine.clone())
                            .map_err(|e| format!("thread {t}: {}", with_causes(&e)))?;
                        let read = docs
                            .get(&own)
                            .map_err(|e| format!("thread {t}: {}", with_causes(&e)))?;
                        if read != Some(mine) {
                            return Err(format!(
                                "thread {t} does not read its own write at step {i}: {read:?}"
                            ));
                        }
                        if i.is_multiple_of(10) {
                            let count = docs.count().map_err(|e| e.to_string())?;
                            if count > IDS + THREADS {
                                return Err(format!("count {count} beyond the id space"));
                            }
                            let scanned = docs.scan().map_err(|e| e.to_string())?;
                            if !scanned.windows(2).all(|w| w[0].0 < w[1].0) {
                                return Err("a scan is out of order or repeats an id".into());
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let reader = scope.spawn(|| -> Result<(), String> {
            barrier.wait();
            let docs = store.collection("shared");
            for i in 0..200 {
                docs.get(&format!("k{}", i % IDS))
                    .map_err(|e| e.to_string())?;
                let found = docs
                    .find(Box::new(|d| d.starts_with(b"t")))
                    .map_err(|e| e.to_string())?;
                if found.len() > IDS + THREADS {
                    return Err(format!("find returned {} documents", found.len()));
                }
            }
            Ok(())
        });
        // Every thread is joined before the first failure is returned: a thread left unjoined
        // that panicked would make the scope itself panic instead of reporting it.
        let mut outcomes: Vec<Result<(), String>> = writers
            .into_iter()
            .map(|writer| {
                writer
                    .join()
                    .unwrap_or_else(|_| Err("a writer panicked".to_owned()))
            })
            .collect();
        outcomes.push(
            reader
                .join()
                .unwrap_or_else(|_| Err("the reader panicked".to_owned())),
        );
        outcomes.into_iter().collect()
    })
}

/// Every id holds one of the last writes made to it, and `count` equals the live ids.
fn final_state(store: &dyn StorageBackend) -> Result<(), String> {
    let docs = store.collection("shared");
    let e = |e: crate::Error| e.to_string();
    for t in 0..THREADS {
        let last = format!("{t}:{}", OPS_PER_THREAD - 1).into_bytes();
        let got = docs.get(&format!("own-{t}")).map_err(e)?;
        if got != Some(last) {
            return Err(format!("own-{t} lost thread {t}'s last write: {got:?}"));
        }
    }
    let scanned = docs.scan().map_err(e)?;
    let count = docs.count().map_err(e)?;
    if count != scanned.len() {
        return Err(format!(
            "count is {count} but a scan finds {} documents",
            scanned.len()
        ));
    }
    for k in 0..IDS {
        let id = format!("k{k}");
        // The last operation of each thread on this id: the final state must be one of them.
        let last_ops: BTreeSet<Option<Vec<u8>>> = (0..THREADS)
            .filter_map(|t| {
                (0..OPS_PER_THREAD)
                    .rev()
                    .map(|i| step(t, i))
                    .find(|(i, _)| *i == id)
            })
            .map(|(_, value)| value)
            .collect();
        let got = docs.get(&id).map_err(e)?;
        if !last_ops.contains(&got) {
            return Err(format!(
                "{id}: {got:?} is none of the last writes {last_ops:?}: an update was lost"
            ));
        }
    }
    let names = store.list_collections();
    if names.iter().filter(|n| *n == "shared").count() != 1 {
        return Err(format!("list_collections shows {names:?}"));
    }
    Ok(())
}
