//! The use-after-close check, for any binding: a collection handle kept past `close()` must
//! refuse every operation with the error the binding declares ([`Binding::closed_error`],
//! `Error::Closed` by default), never panic, and never read or write as if the store were
//! open: a write that lands after close lands after the last flush, where no crash contract
//! covers it.

use std::path::Path;

use super::Divergence;
use super::bounded::{Bounded, call_bounded, deadline};
use super::known::{Excused, Excuses, KnownDefect};
use crate::Collection;
use crate::binding::Binding;
use crate::error::with_causes;

/// Every operation of a collection handle, by name, as the check calls it after close.
type Call = (&'static str, fn(&dyn Collection) -> crate::Result<()>);

const CALLS: [Call; 9] = [
    ("upsert", |c| c.upsert("late", b"after close".to_vec())),
    ("upsert_many", |c| {
        c.upsert_many(vec![("late".to_owned(), b"after close".to_vec())])
    }),
    ("get", |c| c.get("kept").map(drop)),
    ("delete", |c| c.delete("kept")),
    ("scan", |c| c.scan().map(drop)),
    ("scan_prefix", |c| c.scan_prefix("k").map(drop)),
    ("scan_range", |c| c.scan_range("", 8).map(drop)),
    ("find", |c| c.find(Box::new(|_| true)).map(drop)),
    ("count", |c| c.count().map(drop)),
];

/// Opens `binding`'s store in `dir` (empty at first) with its preferred durability, writes a
/// document, closes the store and then calls every operation on the collection handle it
/// kept: each must fail with the binding's closed error, within 30 s (each call runs on a
/// thread of its own, so that a hang is cut off and a panic caught). A persistent store is reopened last,
/// and must hold exactly the document written before the close. A divergence one of `known`
/// explains is returned among the [`Excused`], and the check goes on.
///
/// # Errors
/// The first operation that succeeded, panicked, hung or failed otherwise, as a [`Divergence`] at
/// step 0 with no operation, naming it.
pub fn check_use_after_close(
    binding: &dyn Binding,
    dir: &Path,
    known: &[KnownDefect],
) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    let failed = |what: String| Divergence {
        step: 0,
        op: None,
        what,
    };
    let durability = binding.durabilities().first().copied();
    let store = binding
        .open(dir, durability)
        .map_err(|e| failed(format!("open: {}", with_causes(&e))))?;
    let kept = store.collection("closed");
    kept.upsert("kept", b"before close".to_vec())
        .map_err(|e| failed(format!("upsert before close: {}", with_causes(&e))))?;
    store
        .close()
        .map_err(|e| failed(format!("close: {}", with_causes(&e))))?;
    for (name, call) in CALLS {
        let handle = kept.clone();
        let answered = call_bounded("storebench-closed-call", deadline(), move || {
            call(handle.as_ref())
        });
        match answered {
            Bounded::Returned(Err(e)) if binding.closed_error(&e) => {}
            Bounded::Returned(Err(e)) => {
                excuses.excuse(failed(format!(
                    "{name} after close() failed with \"{}\", not the closed error the binding \
                     declares (Binding::closed_error)",
                    with_causes(&e)
                )))?;
            }
            Bounded::Returned(Ok(())) => {
                excuses.excuse(failed(format!(
                    "{name} after close() succeeded: the store was not closed (or its \
                     collection handles outlive it)"
                )))?;
            }
            Bounded::Panicked(panic) => {
                excuses.excuse(failed(format!("{name} after close() panicked: {panic}")))?;
            }
            Bounded::Hung(seconds) => {
                excuses.excuse(failed(format!(
                    "{name} after close() hung: no answer in {seconds} s"
                )))?;
            }
            Bounded::NoThread(e) => {
                return Err(failed(format!("no thread to call {name} on: {e}")));
            }
        }
    }
    drop(kept);
    if durability.is_none() {
        return Ok(excuses.into_excused());
    }
    let reopened = binding
        .open(dir, durability)
        .map_err(|e| failed(format!("reopen: {}", with_causes(&e))))?;
    let docs = reopened
        .collection("closed")
        .scan()
        .map_err(|e| failed(format!("scan after reopen: {}", with_causes(&e))))?;
    if docs != [("kept".to_owned(), b"before close".to_vec())] {
        excuses.excuse(failed(format!(
            "after a reopen the collection holds {docs:?}: an operation after close() changed it"
        )))?;
    }
    reopened
        .close()
        .map_err(|e| failed(format!("close after reopen: {}", with_causes(&e))))?;
    Ok(excuses.into_excused())
}
