//! `storebench-sqlite`: the whole `storebench` command with SQLite beside the built-in
//! backends: `storebench-sqlite run ycsb-a --backend sqlite,automerge,redb`.

use std::process::ExitCode;

use storebench::binding::Bindings;
use storebench_sqlite::SqliteBinding;

fn main() -> ExitCode {
    let mut bindings = Bindings::builtin();
    if let Err(e) = bindings.add(SqliteBinding) {
        eprintln!("storebench-sqlite: {e}");
        return ExitCode::from(2);
    }
    storebench::cli::main(bindings)
}
