//! `storebench-stores`: the whole `storebench` command with every bound store beside the
//! built-in backends, so that one run compares them:
//! `storebench-stores run ycsb-a --backend sqlite,fjall,sled,lmdb,redb,automerge`.

use std::process::ExitCode;

use storebench::binding::{BindingError, Bindings};

fn main() -> ExitCode {
    match register() {
        Ok(bindings) => storebench::cli::main(bindings),
        Err(e) => {
            eprintln!("storebench-stores: {e}");
            ExitCode::from(2)
        }
    }
}

/// The built-in backends and every bound store.
fn register() -> Result<Bindings, BindingError> {
    let mut bindings = Bindings::builtin();
    bindings
        .add(storebench_sqlite::SqliteBinding)?
        .add(storebench_fjall::FjallBinding)?
        .add(storebench_sled::SledBinding)?
        .add(storebench_lmdb::LmdbBinding)?;
    Ok(bindings)
}
