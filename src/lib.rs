//! storebench: one storage interface for document stores built on CRDTs, three backends
//! behind it, and the tools to know what persistence costs and that it never loses a write.
//!
//! - [`InMemoryBackend`]: ordered maps in memory, the reference model.
//! - [`AutomergeBackend`]: every document an Automerge CRDT document, persisted in redb.
//! - [`RedbBackend`]: the same bytes straight in redb, the floor to measure the CRDT against.
//!
//! All three implement [`StorageBackend`] and [`Collection`]; their shared semantics are
//! documented there.

mod backend;
#[cfg(feature = "check")]
pub mod check;
mod error;
pub mod report;
pub mod runner;
mod storage;
pub mod workload;

pub use backend::{
    AutomergeBackend, Durability, InMemoryBackend, Inconsistency, OpenOptions, RedbBackend,
    VerifyReport,
};
pub use error::{Error, Result};
pub use storage::{Collection, Document, DocumentPredicate, StorageBackend};

// The README's examples are compiled and run as doc tests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
