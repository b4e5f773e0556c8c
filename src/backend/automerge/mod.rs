//! The Automerge backend: materialized values for reads, and for the CRDT state a change log
//! of Automerge chunks with the heads that let an upsert append to it without loading it.

mod actors;
mod apply;
mod backend;
mod batch;
mod bytes;
mod change_log;
mod checksum;
mod chunk;
mod compaction;
mod document;
mod heads;
mod newest;
mod planted;
mod replicate;
mod sequence;
mod stored_heads;
mod sync;
mod verified;
mod verify;
mod writes;

pub use apply::Applied;
pub use backend::AutomergeBackend;
#[cfg_attr(not(feature = "check"), allow(unreachable_pub))]
pub use planted::ReplicationBug;
#[cfg(feature = "check")]
pub(crate) use sync::{DocEntry, Message, PeerKey};
pub use sync::{SyncSession, SyncStats};
