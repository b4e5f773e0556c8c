//! fjall bound to storebench, through its public API only: [`FjallStore`] implements the
//! storage traits over one fjall database, and [`FjallBinding`] describes it to the harness.
//!
//! Durability maps onto fjall's journal, as its documentation describes persistence:
//! - `OnFlush`: `manual_journal_persist(true)`, so write batches stay in fjall's journal
//!   buffer; `flush()` calls `Database::persist(PersistMode::SyncAll)`.
//! - `EveryWrite`: every write is a batch committed with `durability(Some(SyncAll))`: synced
//!   when the call returns.
//!
//! Collections are key prefixes in one keyspace (a length-prefixed name), since fjall's
//! keyspace names are limited (at most 255 characters, not empty) and the contract takes any
//! UTF-8 name.

mod binding;
mod store;

pub use binding::FjallBinding;
pub use store::FjallStore;
