//! Two threads asking a store for one new collection at once, in the schedule that stops the
//! first between its lookup and its insert and runs the second through. The model check runs
//! it before every write that creates a collection, so every scenario fuzz target (and
//! `fuzz_binding`) meets the race a store's `collection()` may have: creating the name twice
//! and handing the threads two collections, one of which the name no longer leads to.
//!
//! The stop needs a schedule point ([`point`](super::point)) in `collection()` between the
//! lookup and the insert, as the built-in backends mark; in a store without one the threads
//! run one after the other, and this finds nothing.

use std::sync::Arc;

use super::op::DocId;
use super::schedule::run_schedule_on;
use crate::binding::Handle;
use crate::{Collection, StorageBackend};

/// The schedule: thread 0 runs to its first point inside `collection()`; thread 1 runs to its
/// own and then through; thread 0 goes on.
const LOOKUP_THEN_INSERT: [usize; 3] = [0, 1, 1];

/// The collections two threads got for one name, in thread order.
pub(crate) struct Raced {
    name: &'static str,
    collections: Vec<Arc<dyn Collection>>,
}

/// Runs the race on `handle`'s store. The handle comes back unless a thread kept it (after a
/// deadlock, whose threads stay blocked).
///
/// # Errors
/// A thread that panicked or a deadlock, with the points passed.
pub(crate) fn create_at_once(
    handle: Handle,
    name: &'static str,
) -> (Option<Handle>, Result<Raced, String>) {
    let (handle, got) = run_schedule_on(&LOOKUP_THEN_INSERT, 2, handle, move |handle, _| {
        handle.store().collection(name)
    });
    (handle, got.map(|collections| Raced { name, collections }))
}

impl Raced {
    /// After a write to the collection: each of `ids` reads the same through the collection
    /// each thread got as through the one `store` gives for the name now. (What the name gives
    /// is the model check's business; this tells only whether the threads got that one.)
    ///
    /// # Errors
    /// Which thread's collection reads otherwise, and what.
    pub(crate) fn agree(&self, store: &dyn StorageBackend, ids: &[DocId]) -> Result<(), String> {
        let by_name = store.collection(self.name);
        for (thread, collection) in self.collections.iter().enumerate() {
            for id in ids {
                let (through_thread, through_name) =
                    (collection.get(id.id()), by_name.get(id.id()));
                if through_thread.as_ref().ok() != through_name.as_ref().ok() {
                    return Err(format!(
                        "two threads created {:?} at once; {:?} reads {through_thread:?} \
                         through the collection thread {thread} got, {through_name:?} through \
                         the name",
                        self.name,
                        id.id()
                    ));
                }
            }
        }
        Ok(())
    }
}
