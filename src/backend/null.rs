//! `NullBackend`: does nothing, so that a run on it measures the harness alone.

use std::sync::Arc;

use crate::{Collection, Document, DocumentPredicate, Result, StorageBackend};

/// A backend whose every operation succeeds at once and stores nothing.
#[derive(Debug, Default)]
pub struct NullBackend;

impl StorageBackend for NullBackend {
    fn collection(&self, _name: &str) -> Arc<dyn Collection> {
        Arc::new(NullCollection)
    }

    fn list_collections(&self) -> Vec<String> {
        Vec::new()
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn close(self) -> Result<()> {
        Ok(())
    }
}

struct NullCollection;

impl Collection for NullCollection {
    fn name(&self) -> &str {
        ""
    }

    fn upsert(&self, _doc_id: &str, _data: Vec<u8>) -> Result<()> {
        Ok(())
    }

    fn upsert_many(&self, _docs: Vec<Document>) -> Result<()> {
        Ok(())
    }

    fn get(&self, _doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn delete(&self, _doc_id: &str) -> Result<()> {
        Ok(())
    }

    fn scan(&self) -> Result<Vec<Document>> {
        Ok(Vec::new())
    }

    fn scan_prefix(&self, _prefix: &str) -> Result<Vec<Document>> {
        Ok(Vec::new())
    }

    fn scan_range(&self, _start: &str, _limit: usize) -> Result<Vec<Document>> {
        Ok(Vec::new())
    }

    fn find(&self, _predicate: DocumentPredicate) -> Result<Vec<Document>> {
        Ok(Vec::new())
    }

    fn count(&self) -> Result<usize> {
        Ok(0)
    }
}
