//! Sync sessions between replicas of the Automerge backend: which documents changed since two
//! replicas last synced, the messages they exchange, and the session that drives them.

mod bloom;
mod exchange;
mod held;
mod identity;
mod journal;
mod message;
mod session;

pub(crate) use identity::Identity;
/// A peer's name, for the convergence check's hostile peer.
#[cfg(feature = "check")]
pub(crate) use identity::PeerKey;
pub(crate) use journal::Journal;
/// The wire format, for the convergence check's hostile peer to write its own messages.
#[cfg(feature = "check")]
pub(crate) use message::{DocEntry, Message};
pub use session::{SyncSession, SyncStats};
