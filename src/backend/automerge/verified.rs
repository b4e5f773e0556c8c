//! Documents `verify()` found sound in this process, remembered by a digest of every byte
//! their check reads, so that a verify after the next reopen does not rebuild them again.
//!
//! Rebuilding a document through Automerge is most of what `verify()` costs, and the check of
//! one document is a function of its stored bytes alone: its heads, the chunks they lead to
//! (seqs, links and bytes), and its materialized value or the absence of one. A document
//! whose bytes digest to those of a document found sound before is sound. Only sound documents are remembered, so
//! damage — which changes the bytes — is always checked in full and reported as before.
//!
//! SHA-256, so no damaged document passes for a remembered one by a collision. At most
//! [`CAPACITY`] digests are kept (about 4 MiB with the set's own); when full they are
//! forgotten and collected again.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::super::persistent::CollectionId;
use super::change_log::{Chain, ChangeLogRead};
use super::heads::Heads;

/// The most digests kept.
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
    let stored = log.heads(collection, id).ok()?;
    if let Some(stored) = &stored {
        part(b'h', stored.value());
    }
    // Heads that do not decode are digested as bytes: the full check reports them, so they
    // are never remembered.
    if let Some(heads) = stored.and_then(|stored| Heads::decode(stored.value())) {
        let mut chain = Chain::new(log, "", id, &heads);
        while let Some((seq, chunk)) = chain.next_chunk().ok()? {
            let (link, bytes) = chunk.value();
            part(b's', &seq.to_le_bytes());
            part(b'l', &link.to_le_bytes());
            part(b'c', bytes);
        }
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

    use super::super::super::persistent::{CHANGE_LOG, HEADS, MATERIALIZED};
    use crate::fault::Disk;
    use crate::{AutomergeBackend, Error, Inconsistency, OpenOptions, StorageBackend};

    fn open(disk: &Disk) -> AutomergeBackend {
        AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new()).expect("opens")
    }

    /// Each part of the digest, damaged alone in a document found sound before, is reported:
    /// the value, the heads, and a chunk's link.
    #[test]
    fn a_document_found_sound_is_not_rebuilt_again_until_its_bytes_change() {
        let disk = Disk::new();
        let store = open(&disk);
        let docs = store.collection("remembered");
        // Values of their own: two documents with one value would be one change, one heads.
        for id in ["value", "heads", "link", "sound"] {
            docs.upsert(id, id.as_bytes().to_vec()).expect("upsert");
        }
        let first = store.verify().expect("verify");
        assert!(first.is_clean(), "{:?}", first.problems);
        let again = store.verify().expect("verify");
        assert!(again.is_clean());
        assert_eq!((again.documents, again.remembered), (4, 4));
        store.close().expect("close");

        let db = redb::Builder::new()
            .create_with_backend(disk.storage())
            .expect("a sound file");
        let txn = db.begin_write().expect("write");
        {
            let mut values = txn.open_table(MATERIALIZED).expect("table");
            let c = values
                .iter()
                .expect("iter")
                .map(|e| e.expect("entry").0.value().0)
                .next()
                .expect("a value");
            // Same length, other bytes: only the value's bytes tell.
            values
                .insert((c, "value"), b"VALUE".as_slice())
                .expect("insert");
            let mut heads = txn.open_table(HEADS).expect("table");
            // Well-formed heads, another document's.
            let theirs = heads
                .get((c, "sound"))
                .expect("get")
                .expect("heads")
                .value()
                .to_vec();
            heads
                .insert((c, "heads"), theirs.as_slice())
                .expect("insert");
            // The same chunk, linked to another: "link" was written third, at seq 3.
            let mut log = txn.open_table(CHANGE_LOG).expect("table");
            let chunk = log
                .get(3)
                .expect("get")
                .expect("a chunk")
                .value()
                .1
                .to_vec();
            log.insert(3, (2, chunk.as_slice())).expect("insert");
        }
        txn.commit().expect("commit");
        drop(db);

        let store = open(&disk);
        let report = store.verify().expect("verify");
        let mut named: Vec<&str> = report
            .problems
            .iter()
            .map(|p| match p {
                Inconsistency::ValueMismatch { id, .. }
                | Inconsistency::HeadsMismatch { id, .. }
                | Inconsistency::Unloadable(Error::Corrupt { id, .. }) => id.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        named.sort_unstable();
        assert_eq!(named, ["heads", "link", "value"], "{:?}", report.problems);
        assert_eq!(report.remembered, 1, "the sound one, unchanged");
        // Damage is never remembered as sound.
        assert_eq!(store.verify().expect("verify").problems.len(), 3);
    }
}
