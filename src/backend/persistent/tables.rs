//! The redb tables of a storebench database and the format they make.
//!
//! Documents are keyed by `(collection id, document id)`: a collection is a number, never a
//! name prefix, so no collection name can reach into another's documents.

use redb::TableDefinition;

/// The format this build reads and writes; a file of any other version is refused, not
/// guessed at. Version 2 added each document's heads to the end of its change log: a version-1
/// Automerge file has none, and a version-1 build would append changes without updating them.
pub(crate) const FORMAT_VERSION: u32 = 2;

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

/// (collection, id, seq) → one chunk of a document's Automerge change log. Only the Automerge
/// backend writes it. `seq` numbers a document's saves from 1 and never repeats: an
/// incremental chunk sits at its own number, and a snapshot sits at the number of the last save
/// it contains, so the first key tells how many saves the snapshot holds. The last seq, `u64::MAX`,
/// holds the document's heads, what an upsert needs to write the next change without reading
/// the chunks: right after the newest chunk, so that an upsert's two inserts usually land in
/// the same leaf page and share the pages above it.
pub(crate) const CHANGE_LOG: TableDefinition<(CollectionId, &str, u64), &[u8]> =
    TableDefinition::new("storebench.change_log");
