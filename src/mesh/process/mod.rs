//! Replicas as processes: the coordinator ([`coordinator`]) starts one `mesh-replica`
//! process per replica ([`replica`]), drives them over their standard input and output
//! ([`control`]), and they sync with each other over TCP on 127.0.0.1.

mod control;
mod coordinator;
mod error;
mod replica;

pub(crate) use coordinator::ProcessReplicas;
pub use error::{ReplicaError, ReplicaFailure};
pub(crate) use replica::{ReplicaSetup, serve_replica};
