//! SQLite bound to storebench, through its public API only, as any user would bind a store:
//! [`SqliteStore`] implements the storage traits over one SQLite database (WAL mode), and
//! [`SqliteBinding`] describes it to the harness.
//!
//! Durability maps onto SQLite's transactions:
//! - `OnFlush`: every write goes into one open transaction, committed by `flush()`; so a crash
//!   keeps exactly the last flush. `synchronous = FULL` makes that commit durable.
//! - `EveryWrite`: every write is its own transaction, committed with `synchronous = FULL`:
//!   durable when the call returns.
//!
//! One connection serves every thread, behind a lock: SQLite connections are not shared
//! between threads, and one writer at a time is what SQLite allows anyway. That connection
//! holds the database exclusively while the store is open, as redb holds its file.

mod binding;
mod pragmas;
mod store;

pub use binding::SqliteBinding;
pub use store::SqliteStore;
