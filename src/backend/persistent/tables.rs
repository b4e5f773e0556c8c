//! The redb tables of a storebench database and the format they make.
//!
//! Documents are keyed by `(collection id, document id)`: a collection is a number, never a
//! name prefix, so no collection name can reach into another's documents.

use redb::TableDefinition;

/// The format this build reads and writes; a file of any other version is refused, not
/// guessed at. Version 2 added each document's heads to the end of its change log (a version-1
/// build would append changes without updating them); version 3 keys the change log by one
/// sequence for the whole file and keeps the heads in a table of their own, so a version-2
/// build would read neither.
pub(crate) const FORMAT_VERSION: u32 = 3;

/// Stored under [`MAGIC_KEY`]: marks a redb file as a storebench database.
pub(crate) const MAGIC: &[u8] = b"storebench";

/// A collection's number, fixed when it is created.
pub(crate) type CollectionId = u64;

pub(crate) const MAGIC_KEY: &str = "magic";
pub(crate) const FORMAT_VERSION_KEY: &str = "format_version";
/// Which backend wrote the file: `"redb"` or `"automerge"`.
pub(crate) const BACKEND_KEY: &str = "backend";

/// Format and identity of the file.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("storebench.meta");

/// Collection name → collection id.
pub(crate) const COLLECTIONS: TableDefinition<&str, CollectionId> =
    TableDefinition::new("storebench.collections");

/// Collection id → number of live documents, so that `count` is one lookup.
pub(crate) const COUNTS: TableDefinition<CollectionId, u64> =
    TableDefinition::new("storebench.counts");

/// (collection, id) → the document's current bytes: every read is served from here.
pub(crate) const MATERIALIZED: TableDefinition<(CollectionId, &str), &[u8]> =
    TableDefinition::new("storebench.materialized");

/// seq → one chunk of a document's Automerge change log, with the seq of the same document's
/// chunk before it (0 for its first). Only the Automerge backend writes it. Seqs number every
/// chunk of the file from 1 in the order they were appended, so an append fills the last leaf
/// of the tree instead of splitting one in the middle (a document's chunks keyed by document
/// split a leaf on most appends: `cargo bench --bench floor`); a document's chunks are found by
/// following the links back from the newest, which its heads name. A link always points to
/// an older seq, so a walk ends. A compacted document is one chunk, a snapshot, with no link.
pub(crate) const CHANGE_LOG: TableDefinition<u64, (u64, &[u8])> =
    TableDefinition::new("storebench.change_log");

/// (collection, id) → the document's heads: what an upsert needs to write the next change
/// without reading the chunks, and where its chunks are (see `automerge/heads.rs`). Every
/// document with a change log has heads, deleted ones too. Only the Automerge backend writes
/// it.
pub(crate) const HEADS: TableDefinition<(CollectionId, &str), &[u8]> =
    TableDefinition::new("storebench.heads");
