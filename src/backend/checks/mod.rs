//! The checks of this crate's own backends (feature `check`): what only a concrete store can
//! be asked, so they live beside the stores rather than among the checks over any binding.
//!
//! - `corrupt`: damaged redb files opened as an Automerge or a redb store, and damage to the
//!   Automerge backend's tables that `verify()` must report.
//! - `convergence`: Automerge replicas syncing over faulty links, crashing and facing a
//!   hostile peer, until they agree.
//!
//! `check` re-exports both, where the fuzz targets and the tests find them.

mod convergence;
mod corrupt;

pub use convergence::{Converged, MAX_STEPS, check_convergence, check_convergence_planted};
pub use corrupt::{Checked, Damage, check_corrupt_file};
