//! The glue: how storebench opens, reopens and describes a fjall store.

use std::path::Path;

use storebench::binding::{Binding, Handle, Settings, Versions};
use storebench::{Durability, Result};

use crate::FjallStore;
use crate::store::{CACHE_BYTES, SYNC, manual_journal_persist};

/// fjall, as the harness selects it: `fjall` (OnFlush by default) and `fjall-durable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FjallBinding;

impl Binding for FjallBinding {
    fn name(&self) -> &str {
        "fjall"
    }

    fn description(&self) -> &str {
        "fjall (LSM tree), documents in one keyspace keyed by collection and id"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(FjallStore::open(
            dir,
            durability.unwrap_or_default(),
        )?))
    }

    /// The settings [`FjallStore::open`] gives fjall for `durability`, and how writes reach
    /// the disk.
    fn settings(&self, durability: Option<Durability>) -> Settings {
        let durability = durability.unwrap_or_default();
        let persist = match durability {
            Durability::EveryWrite => format!("every write batch, {SYNC:?}"),
            _ => format!("at flush, Database::persist({SYNC:?})"),
        };
        Settings::from([
            ("cache_size".to_owned(), CACHE_BYTES.to_string()),
            (
                "manual_journal_persist".to_owned(),
                manual_journal_persist(durability).to_string(),
            ),
            ("persist".to_owned(), persist),
            ("compression".to_owned(), "lz4 (default)".to_owned()),
            (
                "layout".to_owned(),
                "keyspaces `collections` and `documents`; key = u32 BE name length, name, id"
                    .to_owned(),
            ),
        ])
    }

    /// This crate's version and fjall's, as this build locked it.
    fn versions(&self) -> Versions {
        Versions::from([
            (
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
            (
                "fjall".to_owned(),
                env!("STOREBENCH_FJALL_VERSION").to_owned(),
            ),
        ])
    }
}
