//! `WritePath`: what distinguishes one persistent backend from another.

use super::store::Store;
use super::tables::CollectionId;
use crate::{Document, Result};

/// The collection a write goes to: its number for the tables, its name for error messages.
#[derive(Debug, Clone)]
pub(crate) struct CollectionRef {
    pub(crate) id: CollectionId,
    pub(crate) name: String,
}

/// How a backend turns writes into a transaction. Reads are shared: every persistent backend
/// keeps the materialized table current, and reads only that.
pub(crate) trait WritePath: Send + Sync + 'static {
    /// The backend kind recorded in the file, so one backend never opens another's database.
    const BACKEND: &'static str;

    /// Writes every document in one transaction.
    fn upsert_many(
        &self,
        store: &Store,
        collection: &CollectionRef,
        docs: Vec<Document>,
    ) -> Result<()>;

    /// Removes one document, if it exists.
    fn delete(&self, store: &Store, collection: &CollectionRef, id: &str) -> Result<()>;
}
