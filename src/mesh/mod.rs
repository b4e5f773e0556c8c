//! Replication workloads: several replicas of one store, each its own database, writing shared
//! documents and syncing over a topology, some cut off for a stretch and healed. What they
//! measure: the sync traffic per round and per replicated change, the time to apply a change
//! against a local write, how far replicas drift apart, how many rounds they take to agree
//! again, and how the files grow.
//!
//! The runner takes any binding whose handle starts sync sessions
//! ([`Handle::replicating`](crate::binding::Handle::replicating)); it never names a store.

mod presets;
mod report;
mod run;
mod workload;

pub use presets::{MESH_PRESETS, mesh_preset};
pub use report::MeshReport;
pub use run::run_mesh;
pub use workload::{MeshWorkload, Partition, Topology};
