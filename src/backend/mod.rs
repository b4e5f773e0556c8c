//! The three backends, and what the two persistent ones share.

mod automerge;
mod memory;
mod persistent;
mod redb;

pub use self::automerge::AutomergeBackend;
pub use self::memory::InMemoryBackend;
pub use self::persistent::{Durability, Inconsistency, OpenOptions, VerifyReport};
pub use self::redb::RedbBackend;
