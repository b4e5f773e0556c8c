//! Replication workloads: several replicas of one store, each its own database, writing shared
//! documents and syncing over a topology, some cut off for a stretch and healed. What they
//! measure: the sync traffic per round and per replicated change, the time to apply a change
//! against a local write, how far replicas drift apart, how many rounds they take to agree
//! again, and how the files grow.
//!
//! The runner takes any binding whose handle starts sync sessions
//! ([`Handle::replicating`](crate::binding::Handle::replicating)); it never names a store.
//! Replicas live in this process (`local`) or each in its own, syncing over TCP
//! (`process`); either way a session travels turn by turn (`link`) over a [`Transport`],
//! with faults injected on the way (`faults`).

mod faults;
mod link;
mod local;
mod presets;
mod process;
mod report;
mod run;
mod schedule;
pub mod transport;
mod workload;

pub use faults::LinkFaults;
pub use link::{LinkError, LinkFailure, sync_over};
pub use process::{ReplicaError, ReplicaFailure};
pub use report::{MeshReport, MeshRound};
pub use run::{MeshOptions, MeshTransport, TcpOptions, run_mesh, run_mesh_with};
pub use transport::Transport;
pub use workload::{MeshWorkload, Partition, Topology};

// What the command line starts a mesh or a replica process with.
pub(crate) use presets::{MESH_PRESETS, mesh_preset};
pub(crate) use process::{ReplicaSetup, serve_replica};
