//! The replication check over the binding API: the Automerge binding converges from random
//! inputs and from one that takes every kind of step; a store that does not replicate is
//! refused by name; a store whose sessions carry nothing is caught.

use std::path::Path;

use storebench::binding::builtin::{AutomergeBinding, MemoryBinding};
use storebench::binding::{Binding, Handle, Received, SyncEndpoint};
use storebench::check::check_replication;
use storebench::{AutomergeBackend, Durability, OpenOptions, Result};

use crate::common::random::for_random_bytes;

/// Two replicas taking each kind of step: puts on both, a session, a cut session, a delete,
/// a reopen, and puts of one document on both sides before the final settle.
const EVERY_STEP: &[u8] = &[
    0x00, // two replicas
    0x00, 0x04, // 0 puts r0
    0x08, 0x05, // 1 puts r1
    0x04, 0x00, // 0 syncs with 1
    0x0b, 0x04, // 1 deletes r0
    0x06, 0x01, // 0 syncs with 1, cut after one message
    0x07, 0x00, // 0 reopens
    0x01, 0x02, // 0 puts r2
    0x09, 0x06, // 1 puts r2 too
];

#[test]
fn the_automerge_binding_converges_through_its_endpoints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ran = check_replication(&AutomergeBinding::default(), dir.path(), EVERY_STEP)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ran.replicas, 2);
    assert_eq!(ran.writes, 5);
    assert_eq!(ran.cut, 1);
    // The step's reopen and one of each replica at the end.
    assert_eq!(ran.reopens, 3);
    // The step's session and the settling ones, each with messages both ways.
    assert!(ran.sessions >= 2 && ran.messages >= 4, "{ran:?}");

    let mut case = 0;
    for_random_bytes(24, 64, |data| {
        case += 1;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        check_replication(&AutomergeBinding::default(), dir.path(), data).map(drop)
    });
    assert_eq!(case, 24);
}

#[test]
fn a_store_that_does_not_replicate_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = check_replication(&MemoryBinding, dir.path(), EVERY_STEP).expect_err("refused");
    assert!(err.contains("`memory` store does not replicate"), "{err}");
}

/// The Automerge backend behind endpoints that send nothing and say they are done: replicas
/// that never exchange a change.
struct Deaf;

impl SyncEndpoint for Deaf {
    fn next_message(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn receive(&mut self, _message: &[u8]) -> Result<Received> {
        Ok(Received::default())
    }

    fn is_done(&self) -> bool {
        true
    }
}

struct DeafBinding;

impl Binding for DeafBinding {
    fn name(&self) -> &str {
        "deaf"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush]
    }

    fn open(&self, dir: &Path, _durability: Option<Durability>) -> Result<Handle> {
        let store = AutomergeBackend::open(dir.join("deaf.redb"), OpenOptions::new())?;
        Ok(Handle::replicating(
            store,
            |_| Ok(Vec::new()),
            |_| Box::new(Deaf),
        ))
    }
}

#[test]
fn sessions_that_carry_nothing_leave_replicas_apart_and_are_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = check_replication(&DeafBinding, dir.path(), EVERY_STEP).expect_err("caught");
    assert!(
        err.contains("after every pair synced, replica 1 shows"),
        "{err}"
    );
}
