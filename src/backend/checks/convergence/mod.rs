//! The `convergence` target: the Automerge backend's own replication check, beside it because
//! it uses what only that store exposes (its heads, changes forged from Automerge's, its sync
//! message format, power loss on the fault-injecting disk). What any replicating store owes
//! through the binding API is checked by `check::check_replication`.
//!
//! Two to four Automerge replicas, each on its own fault-injecting disk, writing on their own, syncing over links that lose, repeat, reorder and misaddress
//! messages, crashing and failing I/O, flushing, settling now and then, and facing a hostile
//! peer; then synced to quiescence over a reliable link.
//!
//! What may go wrong on the way, and what must happen then:
//!
//! - a message damaged in transit is refused whole, storing nothing;
//! - a message of another session (a late one of a session the link dropped, or of one before
//!   a crash) or one a replica sent another peer is refused, or taken as a first message
//!   (which only stalls the session): never as an answer, storing nothing when refused;
//! - a hostile peer's change, by `apply_changes` or in a sync message of its own (framed and
//!   sealed as a real one), is refused with its typed reason, stores nothing, and leaves
//!   `verify()` clean and the document writable: a change reusing an (actor, seq) the replica
//!   holds with other bytes, a change damaged under its chunk header, a change of another
//!   document;
//! - a replica that loses power may get its own lost changes back from a peer.
//!
//! Checks: after every settle, each replica's `verify()` is clean and its `compact()`
//! succeeds; at the end every replica shows the same documents with the same heads; that is
//! what plain Automerge's merge of every surviving change shows; every local write
//! acknowledged as durable (an `EveryWrite` replica's write that returned, any write before a
//! flush or a compaction that returned) is among the surviving changes; every replica reopens
//! with `verify()` clean and the same values.
//!
//! [`check_convergence_planted`] runs the same with a replication defect planted back in every
//! replica ([`ReplicationBug`](crate::backend::ReplicationBug)), to show the check finds it.
//!
//! An input is a header byte (bits 0-1: how many replicas, bit 2 on: replica i writes
//! durably for bit 2 + i), then two bytes per step: a tag (low four bits the kind, high four
//! which replica or link) and an argument. Any bytes decode. Syncing takes most of the kinds:
//! a session settles only after several messages each way.
//!
//! | kind  | step                                                                     |
//! |-------|--------------------------------------------------------------------------|
//! | 0-2   | put: document `arg & 3`, value `[arg >> 2]`                              |
//! | 3     | delete: document `arg & 3`                                               |
//! | 4-7   | a side of the link sends its next message                                |
//! | 8-11  | a message on the link is delivered, lost, repeated or damaged (`arg & 7`) |
//! | 12    | the hostile peer forges a change ([`hostile`])                           |
//! | 13    | both sides of the link send, and their messages arrive                   |
//! | 14    | `arg & 3`: 0 the link drops its sessions for new ones, keeping what was   |
//! |       | on its wire as late messages; 2 a message on it goes to a third replica; |
//! |       | 1, 3 a late message of the link arrives in its current session           |
//! | 15    | `arg & 3`: 0, 2 power loss; 1 an injected failure; 3 a flush (`arg & 4`   |
//! |       | off) or a settle                                                         |

mod hostile;
mod link;
mod run;
mod verdict;

pub use run::{Converged, MAX_STEPS, check_convergence, check_convergence_planted};
