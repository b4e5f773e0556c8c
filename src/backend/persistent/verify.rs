//! The checks every persistent database must pass: each materialized value belongs to a known
//! collection and each collection's stored count equals its live documents.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use redb::{ReadTransaction, ReadableTable};

use super::tables::{COUNTS, CollectionId, MATERIALIZED};
use super::write_path::CollectionRef;
use crate::{Error, Result};

/// What a `verify()` walk found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Collections checked.
    pub collections: usize,
    /// Documents checked.
    pub documents: u64,
    /// Chunks in the change log (Automerge backend only).
    pub chunks: u64,
    /// Documents not rebuilt because their stored bytes are exactly those of a document found
    /// sound earlier in this process (Automerge backend only): damage changes the bytes, so
    /// it is never among them.
    pub remembered: u64,
    /// Every inconsistency found; empty for a sound database.
    pub problems: Vec<Inconsistency>,
}

impl VerifyReport {
    /// Whether no inconsistency was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One inconsistency in a database.
#[derive(Debug)]
#[non_exhaustive]
pub enum Inconsistency {
    /// A collection's stored count differs from its number of documents.
    CountMismatch {
        /// The collection.
        collection: String,
        /// The stored count.
        stored: u64,
        /// The documents actually there.
        actual: u64,
    },
    /// Documents are stored under a collection number that no collection has.
    UnknownCollection {
        /// The collection number.
        collection_id: u64,
    },
    /// A document has a value but no change log.
    MissingChangeLog {
        /// The collection.
        collection: String,
        /// The document.
        id: String,
    },
    /// A change log whose document holds a value exists, but the document has no materialized
    /// value (a deleted document's change log, whose last change removed the value, is not one).
    OrphanChangeLog {
        /// The collection.
        collection: String,
        /// The document.
        id: String,
    },
    /// The document rebuilt from its change log holds other bytes than its value.
    ValueMismatch {
        /// The collection.
        collection: String,
        /// The document.
        id: String,
    },
    /// The heads an upsert builds the next change from do not match the document's change log.
    HeadsMismatch {
        /// The collection.
        collection: String,
        /// The document.
        id: String,
        /// How they differ.
        detail: String,
    },
    /// The document's change log does not load.
    Unloadable(Error),
    /// Chunks of the change log that no document's heads lead to: what a write lost track
    /// of, or damage to the links between chunks.
    UnlinkedChunks {
        /// How many more chunks the change log holds than the documents' heads count.
        count: u64,
    },
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::CountMismatch {
                collection,
                stored,
                actual,
            } => write!(
                f,
                "collection {collection:?} records {stored} documents but holds {actual}"
            ),
            Inconsistency::UnknownCollection { collection_id } => {
                write!(
                    f,
                    "documents are stored under unknown collection number {collection_id}"
                )
            }
            Inconsistency::MissingChangeLog { collection, id } => {
                write!(
                    f,
                    "document {id:?} in {collection:?} has a value but no change log"
                )
            }
            Inconsistency::OrphanChangeLog { collection, id } => {
                write!(
                    f,
                    "document {id:?} in {collection:?} has a change log holding a value, but no \
                     materialized value"
                )
            }
            Inconsistency::ValueMismatch { collection, id } => write!(
                f,
                "document {id:?} in {collection:?}: its change log rebuilds other bytes than its value"
            ),
            Inconsistency::HeadsMismatch {
                collection,
                id,
                detail,
            } => write!(f, "document {id:?} in {collection:?}: {detail}"),
            Inconsistency::Unloadable(error) => write!(f, "{error}"),
            Inconsistency::UnlinkedChunks { count } => write!(
                f,
                "the change log holds {count} chunks that no document's heads lead to"
            ),
        }
    }
}

/// Walks every materialized value, calling `check` on those of known collections, then checks
/// the stored counts.
pub(crate) fn verify_materialized(
    txn: &ReadTransaction,
    collections: &[CollectionRef],
    mut check: impl FnMut(&CollectionRef, &str, &[u8], &mut VerifyReport) -> Result<()>,
) -> Result<VerifyReport> {
    let by_id: HashMap<CollectionId, &CollectionRef> =
        collections.iter().map(|c| (c.id, c)).collect();
    let mut report = VerifyReport {
        collections: collections.len(),
        ..VerifyReport::default()
    };
    let mut actual: BTreeMap<CollectionId, u64> = BTreeMap::new();
    for entry in txn.open_table(MATERIALIZED)?.iter()? {
        let (key, value) = entry?;
        let (collection_id, id) = key.value();
        let seen = actual.entry(collection_id).or_default();
        *seen += 1;
        match by_id.get(&collection_id) {
            Some(collection) => {
                report.documents += 1;
                check(collection, id, value.value(), &mut report)?;
            }
            None if *seen == 1 => {
                report
                    .problems
                    .push(Inconsistency::UnknownCollection { collection_id });
            }
            None => {}
        }
    }
    let counts = txn.open_table(COUNTS)?;
    for collection in collections {
        let stored = counts.get(collection.id)?.map_or(0, |v| v.value());
        let actual = actual.get(&collection.id).copied().unwrap_or(0);
        if stored != actual {
            report.problems.push(Inconsistency::CountMismatch {
                collection: collection.name.clone(),
                stored,
                actual,
            });
        }
    }
    Ok(report)
}
