//! LMDB bound to storebench through heed, its public API only: [`LmdbStore`] implements the
//! storage traits over one LMDB environment, and [`LmdbBinding`] describes it to the harness.
//!
//! Every write is one LMDB write transaction; durability is when LMDB syncs:
//! - `OnFlush`: the environment is opened `NO_SYNC`, so commits are not synced; `flush()`
//!   syncs them all (`mdb_env_sync`), as LMDB's documentation describes for that flag.
//! - `EveryWrite`: LMDB's default, every commit synced before it returns.

mod binding;
mod store;

pub use binding::LmdbBinding;
pub use store::LmdbStore;
