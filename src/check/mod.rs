//! The checks, over any binding (feature `check`): the shared operation model, the model check
//! (on the fault-injecting disk or in a directory), the crash check by real process death, the
//! concurrency check, and the fuzz targets built from them. The checks only this crate's own
//! backends can take (damaged files of theirs, Automerge replicas converging) live beside them,
//! in `backend::checks`, and are re-exported here.

mod bounded;
mod checker;
mod closed;
mod concurrency;
pub mod conformance;
mod damage;
mod death;
mod fuzz;
mod group;
mod interpret;
mod known;
mod op;
mod planted;
mod race;
mod replication;
pub(crate) mod schedule;

#[doc(inline)]
pub use crate::__conformance as conformance;
/// Bugs planted in the built-in stores' batch of `OnFlush` writes (`OpenOptions::planted`).
#[cfg(feature = "redb-backend")]
#[doc(hidden)]
pub use crate::backend::BatchBug;
/// Replication defects planted back in the Automerge backend (`OpenOptions::replication_bug`).
#[cfg(feature = "automerge-backend")]
#[doc(hidden)]
pub use crate::backend::ReplicationBug;
#[cfg(feature = "automerge-backend")]
pub use crate::backend::checks::{
    Checked, Converged, Damage, MAX_STEPS, check_convergence, check_convergence_planted,
    check_corrupt_file,
};
pub use crate::schedule::{blocking, point, without_points};
pub use checker::{Divergence, Place, State, check_binding, check_planted, state};
pub use closed::check_use_after_close;
pub use concurrency::check_concurrency;
pub use damage::{Damaged, FileDamage, check_file_damage};
pub use death::{Death, check_crash, crash_child, crash_scenario};
pub use fuzz::{Target, fuzz_binding};
pub use known::{Excused, KnownDefect};
pub use op::{
    Batch, COLLECTIONS, CollectionName, CrashPoint, DocId, IDS, MAX_BATCH, MAX_OPS, Mix, Op,
    Scenario, Value,
};
pub use planted::Planted;
pub use replication::{MAX_REPLICATION_STEPS, Replicated, check_replication};
pub use schedule::{Explored, explore, run_schedule};
