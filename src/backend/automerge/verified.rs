//! Documents `verify()` found sound in this process, remembered by a digest of every byte
//! their check reads, so that a verify after the next reopen does not rebuild them again.
//!
//! Rebuilding a document through Automerge is most of what `verify()` costs, and the check of
//! one document is a function of its stored bytes alone: its chunks (seqs and bytes), its
//! heads, and its materialized value or the absence of one. A document whose bytes digest to
//! those of a document found sound before is sound. Only sound documents are remembered, so
//! damage — which changes the bytes — is always checked in full and reported as before.
//!
//! SHA-256, so no damaged document passes for a remembered one by a collision. At most
//! [`CAPACITY`] digests (32 bytes each) are kept; when full they are forgotten and collected
//! again.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::super::persistent::CollectionId;
use super::change_log::{self, ChangeLogRead};
use super::heads::HEADS_SEQ;

/// The most digests kept: 2 MiB of them.
const CAPACITY: usize = 1 << 16;

static SOUND: Mutex<Option<HashSet<[u8; 32]>>> = Mutex::new(None);

/// The digest of everything the check of a document reads; `None` when reading fails (the
/// full check then reports the failure).
pub(crate) fn digest(
    log: &impl ChangeLogRead,
    collection: CollectionId,
    id: &str,
    value: Option<&[u8]>,
) -> Option<[u8; 32]> {
    let mut hasher = Sha256::new();
    // Lengths before bytes, and a tag before each part, so no two documents read alike.
    let mut part = |tag: u8, bytes: &[u8]| {
        hasher.update([tag]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    for chunk in log.range(change_log::chunks(collection, id)).ok()? {
        let (key, chunk) = chunk.ok()?;
        part(b'c', &key.value().2.to_le_bytes());
        part(b'c', chunk.value());
    }
    if let Some(heads) = log.get((collection, id, HEADS_SEQ)).ok()? {
        part(b'h', heads.value());
    }
    if let Some(value) = value {
        part(b'v', value);
    }
    Some(hasher.finalize().into())
}

/// Whether a document with this digest was found sound before.
pub(crate) fn is_sound(digest: &[u8; 32]) -> bool {
    let sound = SOUND.lock().unwrap_or_else(PoisonError::into_inner);
    sound.as_ref().is_some_and(|s| s.contains(digest))
}

/// Remembers that a document with this digest is sound.
pub(crate) fn remember(digest: [u8; 32]) {
    let mut sound = SOUND.lock().unwrap_or_else(PoisonError::into_inner);
    let sound = sound.get_or_insert_with(HashSet::new);
    if sound.len() >= CAPACITY {
        sound.clear();
    }
    sound.insert(digest);
}

#[cfg(test)]
mod tests {
    use redb::ReadableTable;

    use super::super::super::persistent::MATERIALIZED;
    use crate::fault::Disk;
    use crate::{AutomergeBackend, Inconsistency, OpenOptions, StorageBackend};

    fn open(disk: &Disk) -> AutomergeBackend {
        AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new()).expect("opens")
    }

    #[test]
    fn a_document_found_sound_is_not_rebuilt_again_until_its_bytes_change() {
        let disk = Disk::new();
        let store = open(&disk);
        let docs = store.collection("remembered");
        for id in ["a", "b", "c"] {
            docs.upsert(id, b"sound".to_vec()).expect("upsert");
        }
        let first = store.verify().expect("verify");
        assert!(first.is_clean(), "{:?}", first.problems);
        let again = store.verify().expect("verify");
        assert!(again.is_clean());
        assert_eq!((again.documents, again.remembered), (3, 3));
        store.close().expect("close");

        // The materialized value of "b" rewritten in place: same length, other bytes. The
        // change log is untouched, so only the value's bytes tell.
        let db = redb::Builder::new()
            .create_with_backend(disk.storage())
            .expect("a sound file");
        let txn = db.begin_write().expect("write");
        {
            let mut values = txn.open_table(MATERIALIZED).expect("table");
            let key = values
                .iter()
                .expect("iter")
                .map(|e| e.expect("entry").0.value().0)
                .next()
                .expect("a value");
            values
                .insert((key, "b"), b"SOUND".as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
        drop(db);

        let store = open(&disk);
        let report = store.verify().expect("verify");
        assert!(
            matches!(&report.problems[..], [Inconsistency::ValueMismatch { id, .. }] if id == "b"),
            "{:?}",
            report.problems
        );
        assert_eq!(report.remembered, 2, "a and c, unchanged");
        // Damage is never remembered as sound.
        assert_eq!(store.verify().expect("verify").problems.len(), 1);
    }
}
