//! The integration tests, one crate: each file beside this one is a module of it, named for
//! what it tests (`cargo test --test suite sync::` runs one), and `common` holds the helpers
//! they share.

mod bad_files;
mod check;
mod cli;
mod common;
mod compare;
mod concurrency;
mod conformance;
mod convergence;
mod crash;
mod external;
mod html;
mod layers;
mod mesh;
mod mesh_tcp;
mod model;
mod noise;
mod persistence;
mod readme;
mod replication;
mod replication_check;
mod runner;
mod schedules;
mod semantics;
mod sync;
mod sync_state;
mod ycsb;
