//! The corrupt-file check: damaged bytes opened as a database give an error or a working
//! store, never a panic, a hang or an allocation out of proportion; a damaged change-log chunk
//! gives `Error::Corrupt` naming its document; a materialized value or a stored count rewritten
//! in place, a value removed from under its change log, and documents under a collection
//! number no collection has — the file otherwise sound — are each reported by `verify()`.
//! The same for a `RedbBackend` file (an input's first byte says whose), less what needs a
//! change log.

use std::sync::OnceLock;

use redb::{ReadableTable, TableDefinition};

use crate::fault::Disk;
use crate::{AutomergeBackend, Error, OpenOptions, RedbBackend, StorageBackend};

// The tables as the file format defines them (see `backend/persistent/tables.rs`).
const CHANGE_LOG: TableDefinition<(u64, &str, u64), &[u8]> =
    TableDefinition::new("storebench.change_log");
const MATERIALIZED: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("storebench.materialized");
const COUNTS: TableDefinition<u64, u64> = TableDefinition::new("storebench.counts");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("storebench.meta");
const COLLECTIONS: TableDefinition<&str, u64> = TableDefinition::new("storebench.collections");
/// The format version this build writes (see `backend/persistent/tables.rs`).
const FORMAT_VERSION: u32 = 2;

/// Whose file an input damages: the mode byte's top bit says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Automerge,
    Redb,
}

/// A store of either kind, opened on a damaged disk.
enum Opened {
    Automerge(AutomergeBackend),
    Redb(RedbBackend),
}

impl Kind {
    /// The name the file records for its backend.
    fn name(self) -> &'static str {
        match self {
            Kind::Automerge => "automerge",
            Kind::Redb => "redb",
        }
    }

    fn open(self, disk: &Disk, options: OpenOptions) -> crate::Result<Opened> {
        Ok(match self {
            Kind::Automerge => Opened::Automerge(AutomergeBackend::open_with_storage(
                disk.storage(),
                options,
            )?),
            Kind::Redb => Opened::Redb(RedbBackend::open_with_storage(disk.storage(), options)?),
        })
    }

    /// A small valid database: two collections, a few documents with histories.
    fn valid_image(self) -> &'static [u8] {
        static IMAGES: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
        IMAGES[self as usize].get_or_init(|| {
            let disk = Disk::new();
            let build = || -> crate::Result<()> {
                let store = self.open(&disk, OpenOptions::new())?;
                for (c, name) in IMAGE_COLLECTIONS.iter().enumerate() {
                    let docs = store.store().collection(name);
                    for i in 0..6u8 {
                        for version in 0..3u8 {
                            docs.upsert(&format!("d{i}"), vec![c as u8, i, version, 7, 7, 7])?;
                        }
                    }
                }
                // Verified here, so `verify()` remembers every document as sound (see
                // `VerifyReport::remembered`) before any input damages one.
                let report = store.verify()?;
                assert!(report.is_clean(), "the valid image: {:?}", report.problems);
                store.close()
            };
            // Building from scratch on an in-memory disk cannot fail; if it did, every input
            // would report it.
            let _ = build();
            disk.image()
        })
    }
}

impl Opened {
    fn store(&self) -> &dyn StorageBackend {
        match self {
            Opened::Automerge(store) => store,
            Opened::Redb(store) => store,
        }
    }

    fn verify(&self) -> crate::Result<crate::VerifyReport> {
        match self {
            Opened::Automerge(store) => store.verify(),
            Opened::Redb(store) => store.verify(),
        }
    }

    fn close(self) -> crate::Result<()> {
        match self {
            Opened::Automerge(store) => store.close(),
            Opened::Redb(store) => store.close(),
        }
    }
}

/// The valid image's collections, created in this order, so numbered 0 and 1.
const IMAGE_COLLECTIONS: [&str; 2] = ["cells", "nodes"];

/// The name of a collection of the valid image, by its number.
fn collection_name(id: u64) -> &'static str {
    IMAGE_COLLECTIONS[usize::from(id != 0)]
}

/// Runs one corrupt-file input. `Err` describes a contract violation (a panic is one too).
///
/// # Errors
/// The violation found.
pub fn check_corrupt_file(data: &[u8]) -> Result<(), String> {
    let Some((&mode, rest)) = data.split_first() else {
        return Ok(());
    };
    let kind = if mode & 0x80 == 0 {
        Kind::Automerge
    } else {
        Kind::Redb
    };
    match mode % 8 {
        0 => open_and_use(kind, Disk::from_image(rest.to_vec())),
        1 => {
            let mut image = kind.valid_image().to_vec();
            for mutation in rest.chunks_exact(5) {
                let offset =
                    u32::from_le_bytes([mutation[0], mutation[1], mutation[2], mutation[3]])
                        as usize;
                if !image.is_empty() {
                    let at = offset % image.len();
                    image[at] ^= mutation[4];
                }
            }
            open_and_use(kind, Disk::from_image(image))
        }
        // A redb file has no change log: its inputs damage the Automerge file's.
        2 => corrupt_chunk(rest),
        3 => rewrite_value(kind, rest),
        4 => miscount(kind, rest),
        5 => orphan(kind, rest),
        6 => stray_documents(kind, rest),
        _ => misidentify(kind, rest),
    }
}

/// Makes the file say it is something else — no storebench mark, another format version, a
/// malformed one, the other backend's, a collection number used twice — or opens it as the
/// other backend: the open must refuse it with the error that says so.
fn misidentify(kind: Kind, data: &[u8]) -> Result<(), String> {
    let (how, value) = match data {
        [how, rest @ ..] => (*how % 6, rest),
        [] => return Ok(()),
    };
    let disk = Disk::from_image(kind.valid_image().to_vec());
    // Any version but this build's: from the input, moved off this build's.
    let version = value
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(1, u32::from_le_bytes);
    let version = if version == FORMAT_VERSION {
        1
    } else {
        version
    };
    let other = match kind {
        Kind::Automerge => Kind::Redb,
        Kind::Redb => Kind::Automerge,
    };
    let (opened_as, wanted) = if how == 5 {
        (other, "WrongBackend")
    } else {
        damage(&disk, |txn| {
            let mut meta = txn.open_table(META)?;
            match how {
                0 => drop(meta.insert("magic", b"storebenck".as_slice())?),
                1 => drop(meta.insert("format_version", version.to_le_bytes().as_slice())?),
                2 => drop(meta.insert("format_version", [2u8, 0, 0].as_slice())?),
                3 => drop(meta.insert("backend", other.name().as_bytes())?),
                _ => {
                    let mut collections = txn.open_table(COLLECTIONS)?;
                    let taken = collections
                        .get(IMAGE_COLLECTIONS[0])?
                        .map_or(0, |v| v.value());
                    collections.insert("again", taken)?;
                }
            }
            Ok(())
        })?;
        let wanted = [
            "NotADatabase",
            "UnsupportedFormat",
            "CorruptDatabase",
            "WrongBackend",
        ];
        (
            kind,
            wanted
                .get(usize::from(how))
                .copied()
                .unwrap_or("CorruptDatabase"),
        )
    };
    let refused = opened_as.open(&disk, OpenOptions::new()).err();
    let right = match &refused {
        Some(Error::NotADatabase { .. }) => wanted == "NotADatabase",
        Some(Error::UnsupportedFormat { found, .. }) => {
            wanted == "UnsupportedFormat" && *found == version
        }
        Some(Error::CorruptDatabase { .. }) => wanted == "CorruptDatabase",
        Some(Error::WrongBackend { expected, .. }) => {
            wanted == "WrongBackend" && *expected == opened_as.name()
        }
        _ => false,
    };
    if right {
        Ok(())
    } else {
        Err(format!(
            "a {} file damaged to be refused with {wanted} (damage {how}), opened as {}, gave \
             {refused:?}",
            kind.name(),
            opened_as.name()
        ))
    }
}

/// Rewrites one materialized value in place: the same length, other bytes. The change log
/// still rebuilds the old value, so `verify()` must name the document; in a redb file, where
/// the value is all there is, it must find nothing.
fn rewrite_value(kind: Kind, data: &[u8]) -> Result<(), String> {
    let (pick, pattern) = match data {
        [pick, pattern @ ..] => (usize::from(*pick), pattern),
        [] => return Ok(()),
    };
    let disk = Disk::from_image(kind.valid_image().to_vec());
    let (collection, id) = damage(&disk, |txn| {
        let mut values = txn.open_table(MATERIALIZED)?;
        let entries: Vec<((u64, String), Vec<u8>)> = values
            .iter()?
            .map(|e| e.map(|(k, v)| ((k.value().0, k.value().1.to_owned()), v.value().to_vec())))
            .collect::<Result<_, _>>()?;
        let Some(((c, id), value)) = entries.get(pick % entries.len().max(1)) else {
            return Ok(None);
        };
        let (c, id, mut value) = (*c, id.clone(), value.clone());
        // XOR with a never-zero byte changes every byte; the length stays.
        for (i, b) in value.iter_mut().enumerate() {
            *b ^= pattern
                .get(i % pattern.len().max(1))
                .copied()
                .unwrap_or(0)
                .max(1);
        }
        values.insert((c, id.as_str()), value.as_slice())?;
        Ok(Some((c, id)))
    })?
    .ok_or("the valid image has no documents")?;
    let problems = verify_after(kind, &disk)?;
    let name = collection_name(collection);
    if kind == Kind::Redb {
        return if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "a redb value rewritten in place is a value, but verify reports {problems:?}"
            ))
        };
    }
    let named = problems.iter().any(|p| {
        matches!(p, crate::Inconsistency::ValueMismatch { collection: c, id: i } if c == name && *i == id)
    });
    if named {
        Ok(())
    } else {
        Err(format!(
            "the value of {name:?}/{id:?} was rewritten in place (same length), but verify \
             reports {problems:?}"
        ))
    }
}

/// Sets one collection's stored count one off: `verify()` must report the count.
fn miscount(kind: Kind, data: &[u8]) -> Result<(), String> {
    let Some(&how) = data.first() else {
        return Ok(());
    };
    let disk = Disk::from_image(kind.valid_image().to_vec());
    let collection = u64::from(how & 1);
    damage(&disk, |txn| {
        let mut counts = txn.open_table(COUNTS)?;
        let stored = counts.get(collection)?.map_or(0, |v| v.value());
        // One off either way; up from zero, where down is not possible.
        let wrong = if how & 2 == 0 || stored == 0 {
            stored + 1
        } else {
            stored - 1
        };
        counts.insert(collection, wrong)?;
        Ok(())
    })?;
    let problems = verify_after(kind, &disk)?;
    let name = collection_name(collection);
    if problems.iter().any(
        |p| matches!(p, crate::Inconsistency::CountMismatch { collection: c, .. } if c == name),
    ) {
        Ok(())
    } else {
        Err(format!(
            "the count of {name:?} is one off, but verify reports {problems:?}"
        ))
    }
}

/// Removes one document's materialized value and keeps its change log and the count:
/// `verify()` must name the orphaned log, or, in a redb file, the count.
fn orphan(kind: Kind, data: &[u8]) -> Result<(), String> {
    let Some(&pick) = data.first() else {
        return Ok(());
    };
    let disk = Disk::from_image(kind.valid_image().to_vec());
    let (collection, id) = damage(&disk, |txn| {
        let mut values = txn.open_table(MATERIALIZED)?;
        let keys: Vec<(u64, String)> = values
            .iter()?
            .map(|e| e.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
            .collect::<Result<_, _>>()?;
        let Some((c, id)) = keys.get(usize::from(pick) % keys.len().max(1)).cloned() else {
            return Ok(None);
        };
        values.remove((c, id.as_str()))?;
        Ok(Some((c, id)))
    })?
    .ok_or("the valid image has no documents")?;
    let problems = verify_after(kind, &disk)?;
    let name = collection_name(collection);
    let reports = problems
        .iter()
        .filter(|p| match (kind, p) {
            (
                Kind::Automerge,
                crate::Inconsistency::OrphanChangeLog {
                    collection: c,
                    id: i,
                },
            ) => c == name && *i == id,
            (Kind::Redb, crate::Inconsistency::CountMismatch { collection: c, .. }) => c == name,
            _ => false,
        })
        .count();
    // Once: a change log of several chunks is one orphan.
    if reports == 1 {
        Ok(())
    } else {
        Err(format!(
            "the value of {name:?}/{id:?} was removed and its change log kept: verify names it \
             {reports} times in {problems:?}"
        ))
    }
}

/// Stores three documents under a collection number no collection has: `verify()` must report
/// that number, once.
fn stray_documents(kind: Kind, data: &[u8]) -> Result<(), String> {
    let stray = 1000 + u64::from(data.first().copied().unwrap_or(0));
    let disk = Disk::from_image(kind.valid_image().to_vec());
    damage(&disk, |txn| {
        let mut values = txn.open_table(MATERIALIZED)?;
        for id in ["x", "y", "z"] {
            values.insert((stray, id), b"stray".as_slice())?;
        }
        Ok(())
    })?;
    let problems = verify_after(kind, &disk)?;
    let reports = problems
        .iter()
        .filter(|p| {
            matches!(p, crate::Inconsistency::UnknownCollection { collection_id } if *collection_id == stray)
        })
        .count();
    if reports == 1 {
        Ok(())
    } else {
        Err(format!(
            "three documents under unknown collection {stray}: verify reports it {reports} times \
             in {problems:?}"
        ))
    }
}

/// Changes the database on `disk` through redb, so the file stays sound.
fn damage<T>(
    disk: &Disk,
    change: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
) -> Result<T, String> {
    let db = redb::Builder::new()
        .create_with_backend(disk.storage())
        .map_err(|e| format!("valid image: {e}"))?;
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    let done = change(&txn).map_err(|e| e.to_string())?;
    txn.commit().map_err(|e| e.to_string())?;
    Ok(done)
}

/// Opens the damaged database and runs `verify()`: the problems it reports.
fn verify_after(kind: Kind, disk: &Disk) -> Result<Vec<crate::Inconsistency>, String> {
    let store = kind
        .open(disk, OpenOptions::new())
        .map_err(|e| format!("a sound redb file with a damaged value must open: {e}"))?;
    let report = store.verify().map_err(|e| e.to_string())?;
    // What it says it checked is part of the report too.
    if report.collections != 2 {
        return Err(format!(
            "verify says it checked {} collections; the image has 2",
            report.collections
        ));
    }
    Ok(report.problems)
}

/// Opens the image, checking integrity as one does for untrusted files, and uses whatever
/// opens. Errors are fine; panics are not.
fn open_and_use(kind: Kind, disk: Disk) -> Result<(), String> {
    let options = OpenOptions::new().check_integrity(true);
    let Ok(store) = kind.open(&disk, options) else {
        return Ok(());
    };
    for name in store.store().list_collections() {
        let c = store.store().collection(&name);
        let _ = c.scan();
        let _ = c.count();
        let _ = c.get("d1");
        let _ = c.upsert("d1", b"after".to_vec());
    }
    let _ = store.verify();
    let _ = store.store().flush();
    Ok(())
}

/// Damages one change-log entry (a chunk, or the heads after them) of the valid image through
/// redb, so the file stays a sound redb database whose Automerge state is wrong.
fn corrupt_chunk(data: &[u8]) -> Result<(), String> {
    let Some((&pick, flips)) = data.split_first() else {
        return Ok(());
    };
    let disk = Disk::from_image(Kind::Automerge.valid_image().to_vec());
    let target = {
        let db = redb::Builder::new()
            .create_with_backend(disk.storage())
            .map_err(|e| format!("valid image: {e}"))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        let target;
        {
            let mut log = txn.open_table(CHANGE_LOG).map_err(|e| e.to_string())?;
            let keys: Vec<(u64, String, u64)> = log
                .iter()
                .map_err(|e| e.to_string())?
                .filter_map(|e| {
                    e.ok().map(|(k, _)| {
                        let (c, id, seq) = k.value();
                        (c, id.to_owned(), seq)
                    })
                })
                .collect();
            let (c, id, seq) = keys
                .get(usize::from(pick) % keys.len().max(1))
                .cloned()
                .ok_or("no chunks")?;
            let original = log
                .get((c, id.as_str(), seq))
                .map_err(|e| e.to_string())?
                .ok_or("chunk vanished")?
                .value()
                .to_vec();
            let mut bytes = original.clone();
            for flip in flips.chunks_exact(2) {
                if !bytes.is_empty() {
                    let at = usize::from(flip[0]) % bytes.len();
                    bytes[at] ^= flip[1];
                }
            }
            if flips.len() % 2 == 1 {
                bytes.truncate(usize::from(flips[flips.len() - 1]) % (bytes.len() + 1));
            }
            log.insert((c, id.as_str(), seq), bytes.as_slice())
                .map_err(|e| e.to_string())?;
            target = (c, id, seq, bytes != original);
        }
        txn.commit().map_err(|e| e.to_string())?;
        target
    };
    let store = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())
        .map_err(|e| format!("a sound redb file with a bad chunk must open: {e}"))?;
    let collection = collection_name(target.0);
    let id = target.1.as_str();
    if target.2 == u64::MAX {
        // The last seq holds the document's heads, which verify checks field by field against the
        // rebuilt document: any change to them must be reported, and none may be invented.
        let clean = store.verify().map_err(|e| e.to_string())?.is_clean();
        if clean == target.3 {
            return Err(format!(
                "heads of {collection:?}/{id:?} changed={}, but verify says clean={clean}",
                target.3
            ));
        }
        // Writing on from damaged heads is refused as corrupt or lands; it never panics.
        let docs = store.collection(collection);
        return match docs.upsert(id, b"after".to_vec()) {
            Err(Error::Corrupt { .. }) => Ok(()),
            Ok(()) if docs.get(id).map_err(|e| e.to_string())? == Some(b"after".to_vec()) => Ok(()),
            Ok(()) => Err(format!("an upsert of {collection:?}/{id:?} did not land")),
            Err(other) => Err(format!(
                "an upsert on damaged heads must land or give Error::Corrupt, got {other:?}"
            )),
        };
    }
    let materialized = store
        .collection(collection)
        .get(id)
        .map_err(|e| format!("reads use materialized values: {e}"))?;
    match store.document(collection, id) {
        Err(Error::Corrupt {
            collection: c,
            id: i,
            ..
        }) if c == collection && i == id => Ok(()),
        Err(other) => Err(format!(
            "a bad chunk must give Error::Corrupt naming {collection:?}/{id:?}, got {other:?}"
        )),
        Ok(doc) => {
            // The damage missed everything Automerge checks (or undid itself): then the
            // document must still rebuild to its value, or verify must say it does not.
            let rebuilt = doc.and_then(|d| {
                use automerge::ReadDoc;
                match d.get(automerge::ROOT, "data").ok()?? {
                    (automerge::Value::Scalar(s), _) => match s.as_ref() {
                        automerge::ScalarValue::Bytes(b) => Some(b.clone()),
                        _ => None,
                    },
                    _ => None,
                }
            });
            let clean = store.verify().map_err(|e| e.to_string())?.is_clean();
            if (rebuilt == materialized) == clean {
                Ok(())
            } else {
                Err(format!(
                    "verify says clean={clean} but the rebuilt value matches={}",
                    rebuilt == materialized
                ))
            }
        }
    }
}
