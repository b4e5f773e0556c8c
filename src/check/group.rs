//! Two writers at once: with `EveryWrite` the model check makes a write (every eighth step's)
//! twice, from two threads, in the schedule that has both join one shared transaction (group commit) before
//! either commits, and then wants what one writer would have got: both `Ok` and the write
//! durable, or, after an injected failure, no `Ok` for a write that did not survive. So every
//! scenario fuzz target meets the bugs of a group commit that a lone writer never shows: a
//! member released before the commit's sync, or told `Ok` when the commit failed.
//!
//! Writing the same documents twice leaves what writing them once does, so the model applies
//! the operation once. The schedule needs the store's points (the built-in backends mark
//! `group commit: arrived`); in a store without them the threads write one after the other.

use super::interpret::apply;
use super::op::Op;
use super::planted::Bug;
use super::schedule::run_schedule_on;
use crate::binding::Handle;
use crate::fault::Disk;
use crate::{Error, Result};

/// The schedule: thread 0 runs to its first point in the write (arrived at the group commit);
/// thread 1 to its own; thread 0 joins the open transaction and waits for thread 1, which
/// joins, commits and releases it.
const BOTH_JOIN: [usize; 3] = [0, 1, 0];

/// What one writer got.
pub(crate) struct Written {
    /// The write's result.
    pub(crate) result: Result<()>,
    /// The disk's durable image the moment the write returned `Ok`, when writes were still
    /// unsynced then or no sync had happened since the write began (else `None`: everything
    /// written had reached the durable image).
    pub(crate) durable_at_return: Option<Vec<u8>>,
}

/// Runs `op` from two threads at once on `handle`'s store (with `bug` in it), watching
/// `disk` when the store is on it. The handle comes back unless a thread kept it (after a
/// deadlock, whose threads stay blocked).
///
/// # Errors
/// A thread that panicked or a deadlock, with the points passed.
pub(crate) fn write_at_once(
    handle: Handle,
    op: &Op,
    bug: &Bug,
    disk: Option<&Disk>,
) -> (Option<Handle>, std::result::Result<Vec<Written>, String>) {
    let (op, disk, bug) = (op.clone(), disk.cloned(), bug.clone());
    run_schedule_on(&BOTH_JOIN, 2, handle, move |handle, _| {
        let syncs = disk.as_ref().map(Disk::syncs);
        let result = apply(&bug.in_store(handle.store()), &op).map(drop);
        // At once, before the other thread can sync what this one left unsynced. A write
        // that left nothing unsynced and saw a sync reached the durable image; any other
        // must be looked for there.
        let durable_at_return = match (&result, &disk) {
            (Ok(()), Some(disk)) if disk.unsynced() > 0 || Some(disk.syncs()) == syncs => {
                Some(disk.durable_image())
            }
            _ => None,
        };
        Written {
            result,
            durable_at_return,
        }
    })
}

/// The first error of the writers, if any.
pub(crate) fn first_error(written: &[Written]) -> Option<&Error> {
    written.iter().find_map(|w| w.result.as_ref().err())
}
