//! Two threads asking a store for one new collection at once, in the schedule that stops the
//! first between its lookup and its insert and runs the second through. The model check runs
//! it before every write that creates a collection, so every scenario fuzz target (and
//! `fuzz_binding`) meets the race a store's `collection()` may have: creating the name twice
//! and handing the threads two collections, one of which the name no longer leads to.
//!
//! The stop needs a schedule point ([`point`](super::point)) in `collection()` between the
//! lookup and the insert, as the built-in backends mark; in a store without one the threads
//! run one after the other, and this finds nothing.

use std::sync::{Arc, Mutex, PoisonError};

use super::op::DocId;
use super::schedule::run_schedule;
use crate::binding::Handle;
use crate::{Collection, StorageBackend};

/// The schedule: thread 0 runs to its first point inside `collection()`; thread 1 runs to its
/// own and then through; thread 0 goes on.
const LOOKUP_THEN_INSERT: [usize; 3] = [0, 1, 1];

/// What each thread got when it asked for the collection, with the thread's number.
type Asked = Vec<(usize, Arc<dyn Collection>)>;

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
    let handle = Arc::new(handle);
    let got: Arc<Mutex<Asked>> = Arc::default();
    let setup = {
        let (handle, got) = (handle.clone(), got.clone());
        move || (handle.clone(), got.clone())
    };
    let ran = run_schedule(
        &LOOKUP_THEN_INSERT,
        2,
        setup,
        move |(handle, got), thread| {
            let collection = handle.store().collection(name);
            got.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((thread, collection));
        },
    );
    // The setup and the threads, ended, hold no clone of the handle any more.
    let handle = Arc::try_unwrap(handle).ok();
    let raced = ran.map(|()| {
        let mut got = std::mem::take(&mut *got.lock().unwrap_or_else(PoisonError::into_inner));
        got.sort_by_key(|(thread, _)| *thread);
        Raced {
            name,
            collections: got.into_iter().map(|(_, c)| c).collect(),
        }
    });
    (handle, raced)
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
