//! storebench: one storage interface for document stores built on CRDTs, three backends of
//! its own behind it, any other store through a binding, and the tools to know what persistence
//! costs and that it never loses a write.
//!
//! # What a user needs, and where it is
//!
//! The storage contract, which every store meets:
//! - [`StorageBackend`] and [`Collection`], with [`Document`], [`DocumentPredicate`] and
//!   [`Durability`]; their shared semantics are documented there.
//! - [`Error`] and [`Result`]: what a store returns, naming no engine.
//!
//! The stores of this crate:
//! - [`InMemoryBackend`]: ordered maps in memory, the reference model.
//! - [`AutomergeBackend`]: every document an Automerge CRDT document, persisted in redb
//!   (feature `automerge-backend`), with its replication: [`SyncSession`], [`Applied`],
//!   [`ReplicationError`] and [`Refusal`].
//! - [`RedbBackend`]: the same bytes straight in redb, the floor to measure the CRDT against
//!   (feature `redb-backend`); both persistent backends open with [`OpenOptions`] and check
//!   themselves with `verify()` ([`VerifyReport`]).
//!
//! Your own store, bound in: [`binding`] ([`Binding`](binding::Binding),
//! [`Handle`](binding::Handle), [`Bindings`](binding::Bindings)), and [`fault`] for a store
//! that can run on the fault-injecting disk.
//!
//! The checks, for any binding (feature `check`): `check` — the model check, crash, concurrency,
//! file damage, use after close, replication (for a store that replicates), and the fuzz
//! entry point.
//!
//! Measuring: [`workload`] ([`Workload`](workload::Workload) and the YCSB presets), [`runner`]
//! ([`run`](runner::run), [`RunOutcome`](runner::RunOutcome), [`RunError`](runner::RunError)),
//! [`report`] (`report.json`, the comparison gate) and [`mesh`] (replication runs).
//!
//! The command line: [`cli::main`], given the bindings it offers.
//!
//! Nothing else is public: the harness core names no concrete backend, and what it is made of
//! stays inside the crate.

#![warn(missing_docs, unreachable_pub)]

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
