//! Replication defects the checks plant back (feature `check`), to prove the convergence check
//! finds each: one open's [`OpenOptions`](crate::OpenOptions) names a bug, and while one of its
//! replication entry points runs (a sync message received, `apply_changes`, `verify()`,
//! `compact()`) the bug is in force on that thread, where the fix it undoes checks for it with a
//! one-line `if`.
//!
//! Thread-scoped rather than passed down because the fixes sit deep in code reached through the
//! sync exchange, whose signatures must not carry a test switch. Without the feature the switch
//! is a constant `false` and every check site compiles as if it were not there.

use std::fmt;
use std::str::FromStr;

/// A replication defect, fixed, that a store opened with it has again.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only the feature `check` constructs one, and names it (`check::`).
#[cfg_attr(not(feature = "check"), allow(dead_code, unreachable_pub))]
pub enum ReplicationBug {
    /// A sync message of another session (a late one of a stalled session, one meant for
    /// another replica) is taken as an answer of the current one: its acknowledgement can
    /// complete the session and mark documents the peer never got.
    AnySession,
    /// A change reusing an (actor, seq) the document holds, with other bytes, is stored.
    DuplicateSeq,
    /// A change whose bytes were damaged under a chunk header that still parses is stored.
    NoChunkChecksum,
    /// A change of the heads' writer (an earlier open's actor) back from a peer leaves the
    /// writer's number behind it, and `verify()` and `compact()` take that for damage.
    DeadWriterHeads,
}

#[cfg_attr(not(feature = "check"), allow(dead_code, unreachable_pub))]
impl ReplicationBug {
    /// Every bug, in the order of the fixes.
    pub const ALL: [ReplicationBug; 4] = [
        ReplicationBug::AnySession,
        ReplicationBug::DuplicateSeq,
        ReplicationBug::NoChunkChecksum,
        ReplicationBug::DeadWriterHeads,
    ];

    /// Its name, as `STOREBENCH_PLANT` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ReplicationBug::AnySession => "any-session",
            ReplicationBug::DuplicateSeq => "duplicate-seq",
            ReplicationBug::NoChunkChecksum => "no-chunk-checksum",
            ReplicationBug::DeadWriterHeads => "dead-writer-heads",
        }
    }
}

impl fmt::Display for ReplicationBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReplicationBug {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|bug| bug.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|b| b.name()).collect();
                format!("no replication bug {name:?}; one of {}", names.join(", "))
            })
    }
}

#[cfg(feature = "check")]
mod switch {
    use std::cell::Cell;

    use super::ReplicationBug;

    thread_local! {
        static IN_FORCE: Cell<Option<ReplicationBug>> = const { Cell::new(None) };
    }

    /// Whether `bug` is in force on this thread.
    pub(crate) fn planted(bug: ReplicationBug) -> bool {
        IN_FORCE.get() == Some(bug)
    }

    /// Puts a store's bug in force on this thread until dropped, then restores what was (an
    /// entry point may call another: `receive` does not call `verify`, but a caller's may).
    pub(crate) struct InForce(Option<ReplicationBug>);

    impl InForce {
        pub(crate) fn enter(bug: Option<ReplicationBug>) -> Self {
            InForce(IN_FORCE.replace(bug))
        }
    }

    impl Drop for InForce {
        fn drop(&mut self) {
            IN_FORCE.set(self.0);
        }
    }
}

#[cfg(not(feature = "check"))]
mod switch {
    use super::ReplicationBug;

    /// Never: only the feature `check` plants a bug.
    #[inline(always)]
    pub(crate) fn planted(_bug: ReplicationBug) -> bool {
        false
    }

    pub(crate) struct InForce;

    impl InForce {
        #[inline(always)]
        pub(crate) fn enter(_bug: Option<ReplicationBug>) -> Self {
            InForce
        }
    }
}

pub(crate) use switch::{InForce, planted};
