//! Benchmark your own store: the whole `storebench` command, with a store written outside
//! this crate (`store.rs`, against the public traits only) selectable as `snapshot` beside
//! the built-in backends.
//!
//! ```sh
//! cargo run --release --example own_backend -- run ycsb-a --backend snapshot,redb
//! ```

mod store;

use std::path::Path;
use std::process::ExitCode;

use storebench::binding::{Binding, Bindings, Handle};
use storebench::{Durability, Result};

/// How storebench opens, reopens and describes the store: the only glue it needs.
pub struct SnapshotBinding;

impl Binding for SnapshotBinding {
    fn name(&self) -> &str {
        "snapshot"
    }

    fn description(&self) -> &str {
        "collections in memory, the whole state rewritten to one file at each flush"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        let durability = durability.unwrap_or_default();
        let store = store::SnapshotStore::open(&dir.join("snapshot.bin"), durability)?;
        Ok(Handle::new(store))
    }
}

fn main() -> ExitCode {
    let mut bindings = Bindings::builtin();
    if let Err(e) = bindings.add(SnapshotBinding) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    storebench::cli::main(bindings)
}
