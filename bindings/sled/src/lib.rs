//! sled bound to storebench, through its public API only: [`SledStore`] implements the
//! storage traits over one sled database (its stable 0.34 release), and [`SledBinding`]
//! describes it to the harness.
//!
//! Durability maps onto `Db::flush`, which writes sled's buffered log out and syncs it:
//! - `OnFlush`: `flush()` calls it; sled's background flusher is off.
//! - `EveryWrite`: every write calls it before returning.

mod binding;
mod store;

pub use binding::SledBinding;
pub use store::SledStore;
