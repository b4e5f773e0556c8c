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
pub(crate) use journal::Journal;
pub use session::{SyncSession, SyncStats};
