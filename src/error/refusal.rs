//! Why the Automerge backend refused changes from another replica: a reason a caller can act
//! on, carried by [`ReplicationError::ChangeRefused`](super::ReplicationError::ChangeRefused).
//! It lives with the errors, not the backend, so that the error types stand on nothing of the
//! crate.

use std::fmt;

use automerge::{ActorId, ChangeHash};

/// Why changes from another replica were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The bytes are not an Automerge change (random, truncated, or damaged in transit: their
    /// chunk checksum does not match them), or one Automerge finds inconsistent with the
    /// history while merging.
    Malformed {
        /// What Automerge said.
        detail: String,
    },
    /// The changes depend on changes this replica does not have. Nothing is kept: send them
    /// again with the changes they depend on (a sync session does this by itself).
    MissingDependencies {
        /// The changes missing.
        missing: Vec<ChangeHash>,
    },
    /// A change does something other than set the document's bytes under the root key `data`
    /// or delete them, which this store cannot show through its API.
    Shape {
        /// What the change does.
        detail: String,
    },
    /// A change bears a number its actor gave another change of the document (Automerge's
    /// "duplicate seq"): two replicas or opens wrote as one actor, or the change was forged.
    /// Automerge refuses to load a document holding both.
    DuplicateSeq {
        /// The actor.
        actor: ActorId,
        /// The number the two changes share.
        seq: u64,
    },
    /// A change does not follow its actor's change before it: it skips a number, or does not
    /// depend on the change numbered one less. Automerge cannot load a document holding it.
    OutOfSequence {
        /// The actor.
        actor: ActorId,
        /// The change's number.
        seq: u64,
        /// The number the actor's next change here must bear.
        expected: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed { detail } => write!(f, "not an Automerge change ({detail})"),
            Refusal::MissingDependencies { missing } => write!(
                f,
                "they depend on {} change(s) this replica lacks, the first {}; send those too",
                missing.len(),
                missing.first().map(ToString::to_string).unwrap_or_default()
            ),
            Refusal::Shape { detail } => write!(
                f,
                "a change {detail}; a storebench document holds only bytes under the root key \
                 `data`"
            ),
            Refusal::DuplicateSeq { actor, seq } => write!(
                f,
                "actor {actor} numbered another change {seq} already: two replicas wrote as one \
                 actor, or the change was forged"
            ),
            Refusal::OutOfSequence {
                actor,
                seq,
                expected,
            } if *seq == *expected => write!(
                f,
                "change {seq} of actor {actor} does not depend on that actor's change before it"
            ),
            Refusal::OutOfSequence {
                actor,
                seq,
                expected,
            } => write!(
                f,
                "change {seq} of actor {actor} skips a number: that actor's next change here is \
                 {expected}"
            ),
        }
    }
}
