//! The backends: in memory, the two persisted in redb and what they share, and null.

#[cfg(feature = "automerge-backend")]
mod automerge;
#[cfg(all(feature = "automerge-backend", feature = "check"))]
pub(crate) mod checks;
mod memory;
mod null;
#[cfg(feature = "redb-backend")]
mod persistent;
#[cfg(feature = "redb-backend")]
mod redb;

#[cfg(all(feature = "automerge-backend", feature = "check"))]
pub use self::automerge::ReplicationBug;
#[cfg(feature = "automerge-backend")]
pub use self::automerge::{Applied, AutomergeBackend, SyncSession, SyncStats};
/// The sync wire format, for the convergence check's hostile peer.
#[cfg(all(feature = "automerge-backend", feature = "check"))]
pub(crate) use self::automerge::{
    DocEntry as SyncDocEntry, Message as SyncMessage, PeerKey as SyncPeer,
};
pub use self::memory::InMemoryBackend;
pub use self::null::NullBackend;
#[cfg(all(feature = "redb-backend", feature = "check"))]
pub use self::persistent::BatchBug;
#[cfg(feature = "redb-backend")]
pub use self::persistent::{Inconsistency, OpenOptions, VerifyReport};
#[cfg(feature = "redb-backend")]
pub use self::redb::RedbBackend;
