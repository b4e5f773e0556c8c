//! `NullBackend`: does nothing, so that a run on it measures the harness alone.

use std::sync::Arc;

use crate::{Collection, Document, DocumentPredicate, Result, StorageBackend};

/// A backend whose every operation succeeds at once and stores nothing.
#[derive(Debug, Default)]
pub struct NullBackend;

impl StorageBackend for NullBackend {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        Arc::new(NullCollection {
            name: name.to_owned(),
        })
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

/// Keeps only its name; a run asks for its collections once, before it starts timing.
struct NullCollection {
    name: String,
}

impl Collection for NullCollection {
    fn name(&self) -> &str {
        &self.name
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_names_its_collections_and_keeps_nothing() {
        let store = NullBackend;
        let collection = store.collection("usertable");
        assert_eq!(collection.name(), "usertable");
        collection.upsert("a", vec![1]).expect("upsert");
        collection
            .upsert_many(vec![("b".to_owned(), vec![2])])
            .expect("upsert_many");
        assert_eq!(collection.get("a").expect("get"), None);
        assert_eq!(collection.count().expect("count"), 0);
        assert!(collection.scan().expect("scan").is_empty());
        assert!(collection.scan_prefix("").expect("scan_prefix").is_empty());
        assert!(
            collection
                .scan_range("", 10)
                .expect("scan_range")
                .is_empty()
        );
        assert!(
            collection
                .find(Box::new(|_| true))
                .expect("find")
                .is_empty()
        );
        assert!(store.list_collections().is_empty(), "no collection is kept");
        store.flush().expect("flush");
        store.close().expect("close");
    }
}
