//! The glue: how storebench opens, reopens and describes an LMDB store.

use std::path::Path;

use storebench::binding::{Binding, Handle, Settings, Versions};
use storebench::{Durability, Result};

use crate::LmdbStore;
use crate::store::{MAP_SIZE, flags};

/// LMDB, as the harness selects it: `lmdb` (OnFlush by default) and `lmdb-durable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LmdbBinding;

impl Binding for LmdbBinding {
    fn name(&self) -> &str {
        "lmdb"
    }

    fn description(&self) -> &str {
        "LMDB (through heed, bundled), documents in one B+tree keyed by collection and id"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(LmdbStore::open(
            dir,
            durability.unwrap_or_default(),
        )?))
    }

    /// The settings [`LmdbStore::open`] gives LMDB for `durability`.
    fn settings(&self, durability: Option<Durability>) -> Settings {
        let durability = durability.unwrap_or_default();
        let sync = match durability {
            Durability::EveryWrite => "every commit (LMDB's default)",
            _ => "mdb_env_sync at flush() and close()",
        };
        Settings::from([
            ("map_size".to_owned(), MAP_SIZE.to_string()),
            ("flags".to_owned(), format!("{:?}", flags(durability))),
            ("sync".to_owned(), sync.to_owned()),
            (
                "transaction".to_owned(),
                "one write transaction per write".to_owned(),
            ),
            (
                "layout".to_owned(),
                "named databases `collections` and `documents`; key = u32 BE name length, \
                 name, id"
                    .to_owned(),
            ),
        ])
    }

    /// This crate's version and heed's, as this build locked it.
    fn versions(&self) -> Versions {
        Versions::from([
            (
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
            (
                "heed".to_owned(),
                env!("STOREBENCH_HEED_VERSION").to_owned(),
            ),
        ])
    }
}
