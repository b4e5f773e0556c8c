//! The glue: how storebench opens, reopens and describes a SQLite store.

use std::path::Path;

use storebench::binding::{Binding, Handle, Settings, Versions};
use storebench::{Durability, Error, Result, StorageBackend};

use crate::SqliteStore;

/// The database's file in the directory the harness gives a store.
const FILE: &str = "store.sqlite";

/// SQLite, as the harness selects it: `sqlite` (OnFlush by default) and `sqlite-durable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteBinding;

impl Binding for SqliteBinding {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn description(&self) -> &str {
        "SQLite (bundled), WAL mode, documents in one rowid table"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        let store = SqliteStore::open(&dir.join(FILE), durability.unwrap_or_default())?;
        Ok(Handle::builder(store)
            .verify(SqliteStore::verify)
            .compact(SqliteStore::compact)
            .build())
    }

    /// What a store opened with `durability` reports ([`SqliteStore::settings`]): the pragmas
    /// as SQLite reads them back, and how writes are grouped into transactions.
    fn settings(&self, durability: Option<Durability>) -> Settings {
        let durability = durability.unwrap_or_default();
        let mut settings = read_back(durability)
            .unwrap_or_else(|e| Settings::from([("read_back".to_owned(), format!("failed: {e}"))]));
        let transaction = match durability {
            Durability::EveryWrite => "one per write",
            Durability::OnFlush => "one open transaction, committed by flush",
        };
        settings.insert("transaction".to_owned(), transaction.to_owned());
        settings
    }

    /// This crate's version and the bundled SQLite library's, as SQLite reports it.
    fn versions(&self) -> Versions {
        Versions::from([
            (
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
            ("sqlite".to_owned(), rusqlite::version().to_owned()),
        ])
    }
}

/// The settings of a store opened with `durability`, read back from one opened just for that
/// in a scratch directory: the harness asks the binding, not the store, and asks after the
/// run's store has closed. The scratch store is opened by the same code as any other, so it
/// reports what the run's did.
fn read_back(durability: Durability) -> Result<Settings> {
    let dir = tempfile::tempdir().map_err(|e| Error::backend("sqlite", e))?;
    let store = SqliteStore::open(&dir.path().join(FILE), durability)?;
    let settings = store.settings();
    store.close()?;
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_pragmas_sqlite_reads_back() {
        for durability in [Durability::OnFlush, Durability::EveryWrite] {
            let settings = SqliteBinding.settings(Some(durability));
            let expected = [
                ("locking_mode", "exclusive"),
                ("journal_mode", "wal"),
                ("synchronous", "FULL"),
                ("cache_size", "-65536"),
                ("mmap_size", "1073741824"),
                ("temp_store", "MEMORY"),
                ("wal_autocheckpoint", "1000"),
                ("page_size", "4096"),
                ("documents_table", "rowid"),
            ];
            for (pragma, value) in expected {
                assert_eq!(
                    settings.get(pragma).map(String::as_str),
                    Some(value),
                    "{durability:?} {pragma}: {settings:?}"
                );
            }
        }
    }
}
