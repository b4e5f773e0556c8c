//! The Automerge backend: materialized values for reads, an incremental change log for the
//! CRDT state, and a cache of hot documents.

mod backend;
mod cache;
mod change_log;
mod document;
mod verify;
mod writes;

pub use backend::AutomergeBackend;
