//! The glue: how storebench opens, reopens and describes a sled store.

use std::path::Path;

use storebench::binding::{Binding, Handle, Settings, Versions};
use storebench::{Durability, Result};

use crate::SledStore;
use crate::store::CACHE_BYTES;

/// sled, as the harness selects it: `sled` (OnFlush by default) and `sled-durable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SledBinding;

impl Binding for SledBinding {
    fn name(&self) -> &str {
        "sled"
    }

    fn description(&self) -> &str {
        "sled 0.34 (Bw-tree over a log-structured page cache), a tree per collection"
    }

    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }

    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(SledStore::open(
            dir,
            durability.unwrap_or_default(),
        )?))
    }

    /// The settings [`SledStore::open`] gives sled, and when it flushes.
    fn settings(&self, durability: Option<Durability>) -> Settings {
        let flush = match durability.unwrap_or_default() {
            Durability::EveryWrite => "Db::flush after every write",
            _ => "Db::flush at flush() and close()",
        };
        Settings::from([
            ("cache_capacity".to_owned(), CACHE_BYTES.to_string()),
            ("flush_every_ms".to_owned(), "None".to_owned()),
            ("mode".to_owned(), "LowSpace (default)".to_owned()),
            ("use_compression".to_owned(), "false (default)".to_owned()),
            ("flush".to_owned(), flush.to_owned()),
            (
                "layout".to_owned(),
                "a tree `c:<name>` per collection".to_owned(),
            ),
        ])
    }

    /// This crate's version and sled's, as this build locked it.
    fn versions(&self) -> Versions {
        Versions::from([
            (
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
            (
                "sled".to_owned(),
                env!("STOREBENCH_SLED_VERSION").to_owned(),
            ),
        ])
    }
}
