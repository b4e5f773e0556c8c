//! The glue: how storebench opens, reopens and describes a SQLite store.

use std::path::Path;

use storebench::binding::{Binding, Handle, Settings};
use storebench::{Durability, Result};

use crate::SqliteStore;

/// SQLite, as the harness selects it: `sqlite` (OnFlush by default) and `sqlite-durable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteBinding;

impl Binding for SqliteBinding {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn description(&self) -> &str {
        "SQLite (bundled), WAL mode, one table of documents"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        let store = SqliteStore::open(&dir.join("store.sqlite"), durability.unwrap_or_default())?;
        Ok(Handle::builder(store)
            .verify(SqliteStore::verify)
            .compact(SqliteStore::compact)
            .build())
    }

    fn settings(&self, durability: Option<Durability>) -> Settings {
        let transaction = match durability {
            Some(Durability::EveryWrite) => "one per write",
            _ => "one open transaction, committed by flush",
        };
        Settings::from([
            ("journal_mode".to_owned(), "WAL".to_owned()),
            ("synchronous".to_owned(), "FULL".to_owned()),
            ("transaction".to_owned(), transaction.to_owned()),
            ("sqlite_version".to_owned(), rusqlite::version().to_owned()),
        ])
    }
}
