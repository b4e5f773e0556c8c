//! storebench: one storage interface for document stores built on CRDTs, three backends of
//! its own behind it, any other store through a binding, and the tools to know what persistence
//! costs and that it never loses a write.
//!
//! - [`InMemoryBackend`]: ordered maps in memory, the reference model.
//! - [`AutomergeBackend`]: every document an Automerge CRDT document, persisted in redb
//!   (feature `automerge-backend`).
//! - [`RedbBackend`]: the same bytes straight in redb, the floor to measure the CRDT against
//!   (feature `redb-backend`).
//!
//! All three implement [`StorageBackend`] and [`Collection`]; their shared semantics are
//! documented there. The harness — workloads, [`runner`], [`report`], the [`cli`] and the
//! checks — takes any store through a [`Binding`](binding::Binding), the crate's own and a
//! user's alike.

mod backend;
pub mod binding;
#[cfg(feature = "check")]
pub mod check;
pub mod cli;
mod error;
pub mod fault;
pub mod mesh;
pub mod report;
pub mod runner;
mod schedule;
mod storage;
pub mod workload;

#[cfg(feature = "automerge-backend")]
pub use backend::{Applied, AutomergeBackend, SyncSession, SyncStats};
pub use backend::{InMemoryBackend, NullBackend};
#[cfg(feature = "redb-backend")]
pub use backend::{Inconsistency, OpenOptions, RedbBackend, VerifyReport};
pub use error::{Error, Result};
#[cfg(feature = "automerge-backend")]
pub use error::{Refusal, ReplicationError};
pub use storage::{
    Collection, Document, DocumentPredicate, Durability, StorageBackend, UnknownDurability,
};

// The README's examples are compiled and run as doc tests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
