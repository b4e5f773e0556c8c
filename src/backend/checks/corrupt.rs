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
use crate::{AutomergeBackend, Error, Inconsistency, OpenOptions, RedbBackend, StorageBackend};

// The tables as the file format defines them (see `backend/persistent/tables.rs`).
const CHANGE_LOG: TableDefinition<u64, (u64, &[u8])> =
    TableDefinition::new("storebench.change_log");
const HEADS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("storebench.heads");
/// Where encoded heads keep the seq of their document's newest chunk (see
/// `backend/automerge/heads.rs`): after the version byte and the count of chunks.
const HEADS_LAST_SEQ: std::ops::Range<usize> = 9..17;
const MATERIALIZED: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("storebench.materialized");
const COUNTS: TableDefinition<u64, u64> = TableDefinition::new("storebench.counts");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("storebench.meta");
const COLLECTIONS: TableDefinition<&str, u64> = TableDefinition::new("storebench.collections");
/// The format version this build writes (see `backend/persistent/tables.rs`).
const FORMAT_VERSION: u32 = 3;

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

/// What a corrupt-file input damaged, found handled as the contract wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Damage {
    /// None: the input is empty, or too short for its damage.
    None,
    /// Any bytes opened as a database (an empty file makes a new one): refused, or opened and
    /// used without a panic.
    Bytes {
        /// Whether it opened.
        opened: bool,
    },
    /// Bit flips in a valid file: refused, or opened and used without a panic.
    Flips {
        /// Whether it opened.
        opened: bool,
    },
    /// The file made to say it is something else (0: no mark, 1: another format version,
    /// 2: a malformed one, 3: the other backend's name, 4: a collection number used twice),
    /// or (5) opened as the other backend: refused with the error that says so.
    Identity(u8),
    /// A change-log chunk, its link, or a document's heads: refused as corrupt naming the
    /// document, or reported by `verify()`, or missed by the damage and still rebuilding to
    /// its value.
    ChangeLog,
    /// A value rewritten in place: named by `verify()` (in a redb file, where the value is all
    /// there is, not reported).
    Value,
    /// A collection's stored count set one off: reported.
    Count,
    /// A value removed from under its change log: reported once.
    Orphan,
    /// Documents under a collection number no collection has: reported once.
    StrayDocuments,
}

/// What [`check_corrupt_file`] checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checked {
    /// Whose file: `"automerge"` or `"redb"`.
    pub file: &'static str,
    /// What was damaged in it.
    pub damage: Damage,
}

/// The valid image's collections, created in this order, so numbered 0 and 1.
const IMAGE_COLLECTIONS: [&str; 2] = ["cells", "nodes"];

/// The name of a collection of the valid image, by its number.
fn collection_name(id: u64) -> &'static str {
    IMAGE_COLLECTIONS[usize::from(id != 0)]
}

/// Runs one corrupt-file input: what it damaged, found handled as the contract wants.
///
/// # Errors
/// The contract violation found (a panic is one too).
pub fn check_corrupt_file(data: &[u8]) -> Result<Checked, String> {
    let Some((&mode, rest)) = data.split_first() else {
        return Ok(Checked {
            file: Kind::Automerge.name(),
            damage: Damage::None,
        });
    };
    let kind = if mode & 0x80 == 0 {
        Kind::Automerge
    } else {
        Kind::Redb
    };
    let damage = match mode % 8 {
        0 => open_and_use(kind, Disk::from_image(rest.to_vec()))
            .map(|opened| Damage::Bytes { opened }),
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
            open_and_use(kind, Disk::from_image(image)).map(|opened| Damage::Flips { opened })
        }
        // A redb file has no change log: its inputs damage the Automerge file's.
        2 => {
            return corrupt_chunk(rest).map(|damage| Checked {
                file: Kind::Automerge.name(),
                damage,
            });
        }
        3 => rewrite_value(kind, rest),
        4 => miscount(kind, rest),
        5 => orphan(kind, rest),
        6 => stray_documents(kind, rest),
        _ => misidentify(kind, rest),
    }?;
    Ok(Checked {
        file: kind.name(),
        damage,
    })
}

/// Makes the file say it is something else — no storebench mark, another format version, a
/// malformed one, the other backend's, a collection number used twice — or opens it as the
/// other backend: the open must refuse it with the error that says so.
fn misidentify(kind: Kind, data: &[u8]) -> Result<Damage, String> {
    let (how, value) = match data {
        [how, rest @ ..] => (*how % 6, rest),
        [] => return Ok(Damage::None),
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
    let wanted = REFUSALS[usize::from(how)];
    let opened_as = if how == 5 {
        other
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
        kind
    };
    let refused = opened_as.open(&disk, OpenOptions::new()).err();
    if refused_as(refused.as_ref(), wanted, version, opened_as) {
        Ok(Damage::Identity(how))
    } else {
        Err(format!(
            "a {} file damaged to be refused with {wanted:?} (damage {how}), opened as {}, gave \
             {refused:?}",
            kind.name(),
            opened_as.name()
        ))
    }
}

/// The error an open must refuse a file with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotADatabase,
    /// Naming the format version found.
    UnsupportedFormat,
    /// Its detail saying this.
    CorruptDatabase(&'static str),
    /// Naming the backend that tried to open it.
    WrongBackend,
}

/// The refusal each identity damage must meet, by its number (see [`Damage::Identity`]).
const REFUSALS: [Refusal; 6] = [
    Refusal::NotADatabase,
    Refusal::UnsupportedFormat,
    Refusal::CorruptDatabase("format version"),
    Refusal::WrongBackend,
    Refusal::CorruptDatabase("used twice"),
    Refusal::WrongBackend,
];

/// Whether `refused` is the refusal `wanted`, for a file of format `version` opened as
/// `opened_as`.
fn refused_as(refused: Option<&Error>, wanted: Refusal, version: u32, opened_as: Kind) -> bool {
    match (refused, wanted) {
        (Some(Error::NotADatabase { .. }), Refusal::NotADatabase) => true,
        (Some(Error::UnsupportedFormat { found, .. }), Refusal::UnsupportedFormat) => {
            *found == version
        }
        (Some(Error::CorruptDatabase { detail, .. }), Refusal::CorruptDatabase(what)) => {
            detail.contains(what)
        }
        (Some(Error::WrongBackend { expected, .. }), Refusal::WrongBackend) => {
            *expected == opened_as.name()
        }
        _ => false,
    }
}

/// Rewrites one materialized value in place: the same length, other bytes. The change log
/// still rebuilds the old value, so `verify()` must name the document; in a redb file, where
/// the value is all there is, it must find nothing.
fn rewrite_value(kind: Kind, data: &[u8]) -> Result<Damage, String> {
    let (pick, pattern) = match data {
        [pick, pattern @ ..] => (usize::from(*pick), pattern),
        [] => return Ok(Damage::None),
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
    value_reported(kind, &problems, collection_name(collection), &id).map(|()| Damage::Value)
}

/// A value of `name`/`id` rewritten in place: `verify()` names it in an Automerge file, and
/// reports nothing in a redb file.
fn value_reported(
    kind: Kind,
    problems: &[Inconsistency],
    name: &str,
    id: &str,
) -> Result<(), String> {
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
        matches!(p, Inconsistency::ValueMismatch { collection: c, id: i } if c == name && i == id)
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
fn miscount(kind: Kind, data: &[u8]) -> Result<Damage, String> {
    let Some(&how) = data.first() else {
        return Ok(Damage::None);
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
    count_reported(&problems, collection_name(collection)).map(|()| Damage::Count)
}

/// The count of `name` set one off: `verify()` reports it.
fn count_reported(problems: &[Inconsistency], name: &str) -> Result<(), String> {
    if problems
        .iter()
        .any(|p| matches!(p, Inconsistency::CountMismatch { collection: c, .. } if c == name))
    {
        Ok(())
    } else {
        Err(format!(
            "the count of {name:?} is one off, but verify reports {problems:?}"
        ))
    }
}

/// Removes one document's materialized value and keeps its change log and the count:
/// `verify()` must name the orphaned log, or, in a redb file, the count.
fn orphan(kind: Kind, data: &[u8]) -> Result<Damage, String> {
    let Some(&pick) = data.first() else {
        return Ok(Damage::None);
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
    orphan_reported(kind, &problems, collection_name(collection), &id).map(|()| Damage::Orphan)
}

/// The value of `name`/`id` removed, its change log and the count kept: `verify()` names the
/// orphaned log once, or, in a redb file, the count.
fn orphan_reported(
    kind: Kind,
    problems: &[Inconsistency],
    name: &str,
    id: &str,
) -> Result<(), String> {
    let reports = problems
        .iter()
        .filter(|p| match (kind, p) {
            (
                Kind::Automerge,
                Inconsistency::OrphanChangeLog {
                    collection: c,
                    id: i,
                },
            ) => c == name && i == id,
            (Kind::Redb, Inconsistency::CountMismatch { collection: c, .. }) => c == name,
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
fn stray_documents(kind: Kind, data: &[u8]) -> Result<Damage, String> {
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
    stray_reported(&problems, stray).map(|()| Damage::StrayDocuments)
}

/// Documents stored under collection number `stray`, which no collection has: `verify()`
/// reports the number once.
fn stray_reported(problems: &[Inconsistency], stray: u64) -> Result<(), String> {
    let reports = problems
        .iter()
        .filter(|p| {
            matches!(p, Inconsistency::UnknownCollection { collection_id } if *collection_id == stray)
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
fn verify_after(kind: Kind, disk: &Disk) -> Result<Vec<Inconsistency>, String> {
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
/// opens. Errors are fine; panics are not. Whether it opened.
fn open_and_use(kind: Kind, disk: Disk) -> Result<bool, String> {
    let options = OpenOptions::new().check_integrity(true);
    let Ok(store) = kind.open(&disk, options) else {
        return Ok(false);
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
    Ok(true)
}

/// An entry of the change log: a document's heads, or one of its chunks.
#[derive(Debug, Clone)]
struct Entry {
    collection: u64,
    id: String,
    /// `None` for the heads.
    seq: Option<u64>,
}

/// Every entry of the change log of a sound file: each document's heads, and the chunks they
/// lead to.
fn entries(txn: &redb::WriteTransaction) -> Result<Vec<Entry>, String> {
    let heads = txn.open_table(HEADS).map_err(|e| e.to_string())?;
    let log = txn.open_table(CHANGE_LOG).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    for entry in heads.iter().map_err(|e| e.to_string())? {
        let (key, stored) = entry.map_err(|e| e.to_string())?;
        let (collection, id) = key.value();
        let last = stored
            .value()
            .get(HEADS_LAST_SEQ)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or("heads too short")?;
        entries.push(Entry {
            collection,
            id: id.to_owned(),
            seq: None,
        });
        let mut seq = last;
        while seq != 0 {
            entries.push(Entry {
                collection,
                id: id.to_owned(),
                seq: Some(seq),
            });
            seq = log
                .get(seq)
                .map_err(|e| e.to_string())?
                .ok_or("a sound file's link leads nowhere")?
                .value()
                .0;
        }
    }
    Ok(entries)
}

/// `bytes` with the flips of `flips` (pairs of position and mask), and cut short where an odd
/// last byte says.
fn damaged(bytes: &[u8], flips: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for flip in flips.chunks_exact(2) {
        if !bytes.is_empty() {
            let at = usize::from(flip[0]) % bytes.len();
            bytes[at] ^= flip[1];
        }
    }
    if flips.len() % 2 == 1 {
        bytes.truncate(usize::from(flips[flips.len() - 1]) % (bytes.len() + 1));
    }
    bytes
}

/// Damages one change-log entry (a chunk, its link to the chunk before, or a document's heads)
/// of the valid image through redb, so the file stays a sound redb database whose Automerge
/// state is wrong.
fn corrupt_chunk(data: &[u8]) -> Result<Damage, String> {
    let Some((&pick, flips)) = data.split_first() else {
        return Ok(Damage::None);
    };
    let disk = Disk::from_image(Kind::Automerge.valid_image().to_vec());
    let (target, changed) = {
        let db = redb::Builder::new()
            .create_with_backend(disk.storage())
            .map_err(|e| format!("valid image: {e}"))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        let entries = entries(&txn)?;
        let target = entries
            .get(usize::from(pick) % entries.len().max(1))
            .cloned()
            .ok_or("no chunks")?;
        let changed = match target.seq {
            None => {
                let mut heads = txn.open_table(HEADS).map_err(|e| e.to_string())?;
                let key = (target.collection, target.id.as_str());
                let original = heads
                    .get(key)
                    .map_err(|e| e.to_string())?
                    .ok_or("heads vanished")?
                    .value()
                    .to_vec();
                let bytes = damaged(&original, flips);
                heads
                    .insert(key, bytes.as_slice())
                    .map_err(|e| e.to_string())?;
                bytes != original
            }
            Some(seq) => {
                let mut log = txn.open_table(CHANGE_LOG).map_err(|e| e.to_string())?;
                let (link, original) = {
                    let chunk = log
                        .get(seq)
                        .map_err(|e| e.to_string())?
                        .ok_or("chunk vanished")?;
                    (chunk.value().0, chunk.value().1.to_vec())
                };
                // The pick's top bit moves the link by the first flip's mask too.
                let moved = match (pick & 0x80, flips.first()) {
                    (0, _) | (_, None) => link,
                    (_, Some(&mask)) => link ^ u64::from(mask),
                };
                let bytes = damaged(&original, flips);
                log.insert(seq, (moved, bytes.as_slice()))
                    .map_err(|e| e.to_string())?;
                bytes != original || moved != link
            }
        };
        txn.commit().map_err(|e| e.to_string())?;
        (target, changed)
    };
    let store = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())
        .map_err(|e| format!("a sound redb file with a bad chunk must open: {e}"))?;
    let collection = collection_name(target.collection);
    let id = target.id.as_str();
    if target.seq.is_none() {
        // The document's heads, which verify checks field by field against the rebuilt
        // document: any change to them must be reported, and none may be invented.
        let clean = store.verify().map_err(|e| e.to_string())?.is_clean();
        if clean == changed {
            return Err(format!(
                "heads of {collection:?}/{id:?} changed={changed}, but verify says clean={clean}"
            ));
        }
        // Writing on from damaged heads is refused as corrupt or lands; it never panics.
        let docs = store.collection(collection);
        return match docs.upsert(id, b"after".to_vec()) {
            Err(Error::Corrupt { .. }) => Ok(Damage::ChangeLog),
            Ok(()) if docs.get(id).map_err(|e| e.to_string())? == Some(b"after".to_vec()) => {
                Ok(Damage::ChangeLog)
            }
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
        }) if c == collection && i == id => Ok(Damage::ChangeLog),
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
                Ok(Damage::ChangeLog)
            } else {
                Err(format!(
                    "verify says clean={clean} but the rebuilt value matches={}",
                    rebuilt == materialized
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch(collection: &str, id: &str) -> Inconsistency {
        Inconsistency::ValueMismatch {
            collection: collection.into(),
            id: id.into(),
        }
    }

    fn count(collection: &str) -> Inconsistency {
        Inconsistency::CountMismatch {
            collection: collection.into(),
            stored: 7,
            actual: 6,
        }
    }

    fn orphaned(collection: &str, id: &str) -> Inconsistency {
        Inconsistency::OrphanChangeLog {
            collection: collection.into(),
            id: id.into(),
        }
    }

    fn unknown(collection_id: u64) -> Inconsistency {
        Inconsistency::UnknownCollection { collection_id }
    }

    /// Each verdict holds `verify()` to the damage made: it fails on a report that misses it,
    /// names another document or collection, or (where the damage is one problem) repeats it.
    /// The seeds show the sound stores pass; these show a store that fails would not.
    #[test]
    fn a_verdict_fails_unless_verify_reports_the_damage_made() {
        use Kind::{Automerge, Redb};
        let (c, d) = ("cells", "d1");
        assert!(value_reported(Automerge, &[mismatch(c, d)], c, d).is_ok());
        for wrong in [vec![], vec![mismatch("nodes", d)], vec![mismatch(c, "d2")]] {
            assert!(
                value_reported(Automerge, &wrong, c, d).is_err(),
                "{wrong:?}"
            );
        }
        assert!(value_reported(Redb, &[], c, d).is_ok());
        assert!(value_reported(Redb, &[mismatch(c, d)], c, d).is_err());

        assert!(count_reported(&[count(c)], c).is_ok());
        assert!(count_reported(&[], c).is_err());
        assert!(count_reported(&[count("nodes")], c).is_err());

        assert!(orphan_reported(Automerge, &[orphaned(c, d)], c, d).is_ok());
        for wrong in [
            vec![],
            vec![orphaned(c, d), orphaned(c, d)],
            vec![orphaned("nodes", d)],
            vec![orphaned(c, "d2")],
            vec![count(c)],
        ] {
            assert!(
                orphan_reported(Automerge, &wrong, c, d).is_err(),
                "{wrong:?}"
            );
        }
        assert!(orphan_reported(Redb, &[count(c)], c, d).is_ok());
        for wrong in [
            vec![orphaned(c, d)],
            vec![count("nodes")],
            vec![count(c), count(c)],
        ] {
            assert!(orphan_reported(Redb, &wrong, c, d).is_err(), "{wrong:?}");
        }

        assert!(stray_reported(&[unknown(1003)], 1003).is_ok());
        for wrong in [
            vec![],
            vec![unknown(1004)],
            vec![unknown(1003), unknown(1003)],
        ] {
            assert!(stray_reported(&wrong, 1003).is_err(), "{wrong:?}");
        }
    }

    /// A file damaged to be refused one way passes only when refused that way: the right
    /// variant, the format version found, what a corrupt database's detail names, the backend
    /// that tried to open it.
    #[test]
    fn a_refusal_counts_only_as_the_one_wanted() {
        use Kind::{Automerge, Redb};
        let not_a_database = Error::NotADatabase {
            path: None,
            reason: "no mark".into(),
        };
        let unsupported = Error::UnsupportedFormat {
            path: None,
            found: 1,
            supported: FORMAT_VERSION,
        };
        let corrupt = Error::CorruptDatabase {
            path: None,
            detail: "collection number 0 is invalid or used twice".into(),
            source: None,
        };
        let wrong_backend = Error::WrongBackend {
            path: None,
            found: "redb".into(),
            expected: "automerge",
        };
        let right =
            |e: &Error, wanted, version, opened_as| refused_as(Some(e), wanted, version, opened_as);
        let twice = Refusal::CorruptDatabase("used twice");
        assert!(right(&not_a_database, Refusal::NotADatabase, 1, Automerge));
        assert!(!right(&not_a_database, twice, 1, Automerge));
        assert!(right(
            &unsupported,
            Refusal::UnsupportedFormat,
            1,
            Automerge
        ));
        assert!(!right(
            &unsupported,
            Refusal::UnsupportedFormat,
            3,
            Automerge
        ));
        assert!(!right(&unsupported, Refusal::NotADatabase, 1, Automerge));
        assert!(right(&corrupt, twice, 1, Redb));
        assert!(!right(
            &corrupt,
            Refusal::CorruptDatabase("format version"),
            1,
            Redb
        ));
        assert!(!right(&corrupt, Refusal::WrongBackend, 1, Redb));
        assert!(right(&wrong_backend, Refusal::WrongBackend, 1, Automerge));
        assert!(!right(&wrong_backend, Refusal::WrongBackend, 1, Redb));
        assert!(!right(&wrong_backend, twice, 1, Automerge));
        let other = Error::backend("automerge", "some other failure");
        assert!(!right(&other, twice, 1, Automerge));
        assert!(!refused_as(None, Refusal::NotADatabase, 1, Automerge));
    }
}
