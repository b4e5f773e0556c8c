//! Bad files get clear errors, never a panic or a hang.

use crate::common;

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Stdio;

use common::Kind;
use redb::{ReadableTable, TableDefinition};
use storebench::check::conformance;
use storebench::{AutomergeBackend, Error, OpenOptions, RedbBackend, StorageBackend};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// The Automerge backend's change log as the file format (version 3) lays it out: chunks by the
// order they were appended, each with the seq of its document's chunk before it; and each
// document's heads, whose bytes 9 to 17 hold the seq of its newest chunk.
const CHANGE_LOG: TableDefinition<u64, (u64, &[u8])> =
    TableDefinition::new("storebench.change_log");
const HEADS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("storebench.heads");

/// The seq of the newest chunk of `id` (in collection 0) by its heads.
fn newest_chunk(heads: &impl ReadableTable<(u64, &'static str), &'static [u8]>, id: &str) -> u64 {
    let stored = heads.get((0, id)).expect("reads").expect("heads");
    u64::from_le_bytes(stored.value()[9..17].try_into().expect("8 bytes"))
}

fn open_automerge(path: &Path) -> storebench::Result<AutomergeBackend> {
    AutomergeBackend::open(path, OpenOptions::new())
}

/// A database with a few documents, closed cleanly.
fn populated(path: &Path) -> TestResult {
    let store = open_automerge(path)?;
    let docs = store.collection("docs");
    for i in 0..200 {
        docs.upsert(&format!("doc-{i:03}"), vec![i as u8; 2000])?;
    }
    store.close()?;
    Ok(())
}

#[test]
fn random_bytes_are_not_a_database() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (name, bytes) in [
        ("short", b"abc".to_vec()),
        ("text", b"hello, world\n".repeat(1000)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes)?;
        for result in [
            open_automerge(&path).err(),
            RedbBackend::open(&path, OpenOptions::new()).err(),
        ] {
            let err = result.expect("opening garbage must fail");
            assert!(matches!(err, Error::NotADatabase { .. }), "{name}: {err:?}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
        assert_eq!(
            std::fs::read(&path)?,
            bytes,
            "a refused file is left untouched"
        );
    }
    Ok(())
}

#[test]
fn a_foreign_redb_database_is_not_a_storebench_database() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("foreign.redb");
    let db = redb::Database::create(&path)?;
    let txn = db.begin_write()?;
    txn.open_table(TableDefinition::<u64, u64>::new("theirs"))?
        .insert(1, 2)?;
    txn.commit()?;
    drop(db);
    let err = open_automerge(&path).err().expect("must fail");
    assert!(matches!(err, Error::NotADatabase { .. }), "{err:?}");
    Ok(())
}

#[test]
fn one_backend_does_not_open_the_others_database() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw.redb");
    RedbBackend::open(&path, OpenOptions::new())?.close()?;
    let err = open_automerge(&path).err().expect("must fail");
    assert!(
        matches!(
            err,
            Error::WrongBackend {
                expected: "automerge",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`redb` backend"), "{err}");
    Ok(())
}

/// Rewrites the format version stored in a closed database.
fn set_format_version(path: &Path, version: u32) -> TestResult {
    let db = redb::Database::open(path)?;
    let txn = db.begin_write()?;
    let mut meta = txn.open_table(TableDefinition::<&str, &[u8]>::new("storebench.meta"))?;
    meta.insert("format_version", version.to_le_bytes().as_slice())?;
    drop(meta);
    txn.commit()?;
    Ok(())
}

#[test]
fn another_format_version_is_refused() -> TestResult {
    for (version, advice) in [
        (99, "newer storebench"),
        (2, "older storebench"),
        (1, "older storebench"),
    ] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("other-format.redb");
        populated(&path)?;
        set_format_version(&path, version)?;
        let err = open_automerge(&path).err().expect("must fail");
        assert!(
            matches!(
                err,
                Error::UnsupportedFormat {
                    found,
                    supported: 3,
                    ..
                } if found == version
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(advice), "{err}");
    }
    Ok(())
}

#[test]
fn a_truncated_file_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("truncated.redb");
    populated(&path)?;
    let len = std::fs::metadata(&path)?.len();
    // Down to the redb header's first bytes alone: a redb file cut short, not another file.
    for keep in [len / 2, 4096, 600, 100, 9] {
        let copy = dir.path().join(format!("truncated-{keep}.redb"));
        std::fs::copy(&path, &copy)?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&copy)?
            .set_len(keep)?;
        let err = open_automerge(&copy)
            .err()
            .expect("a truncated file must not open");
        assert!(
            matches!(err, Error::CorruptDatabase { .. }),
            "truncated to {keep}: {err:?}"
        );
        assert!(
            err.to_string().contains("restore it from a backup"),
            "{err}"
        );
    }
    Ok(())
}

#[test]
fn overwritten_pages_are_corruption_whether_or_not_integrity_is_checked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scribbled.redb");
    populated(&path)?;
    let len = std::fs::metadata(&path)?.len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
    for offset in (8192..len).step_by(4096) {
        file.seek(SeekFrom::Start(offset + 100))?;
        file.write_all(&[0xA5; 64])?;
    }
    drop(file);
    for options in [
        OpenOptions::new(),
        OpenOptions::new().check_integrity(false),
    ] {
        // Every page after the first two is damaged. Checked (the default), the open finds it;
        // unchecked, redb may trip over it inside (it can panic), which open reports as
        // corruption too.
        let err = AutomergeBackend::open(&path, options.clone())
            .err()
            .expect("a scribbled file must not open");
        assert!(
            matches!(err, Error::CorruptDatabase { .. }),
            "{options:?}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn a_second_handle_in_this_process_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("held.redb");
    let first = open_automerge(&path)?;
    let err = open_automerge(&path).err().expect("the file is held");
    assert!(matches!(err, Error::AlreadyOpen { .. }), "{err:?}");
    first.close()?;
    open_automerge(&path)?.close()?;
    Ok(())
}

const HOLD_PATH: &str = "STOREBENCH_HOLD_PATH";

/// Child-process entry for `a_database_held_by_another_process_is_refused`: holds the database
/// open until its standard input closes.
#[test]
fn hold_child() -> TestResult {
    let Ok(path) = std::env::var(HOLD_PATH) else {
        return Ok(()); // run as a plain test: this entry only does work inside the parent test
    };
    let store = open_automerge(Path::new(&path))?;
    println!("holding");
    std::io::stdout().flush()?;
    std::io::stdin().read_line(&mut String::new())?;
    store.close()?;
    Ok(())
}

#[test]
fn a_database_held_by_another_process_is_refused() -> TestResult {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("held.redb");
    let mut child = conformance::child(module_path!(), "hold_child")
        .env(HOLD_PATH, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let held = lines.any(|line| line.is_ok_and(|l| l.contains("holding")));
    assert!(held, "the child must report that it holds the database");
    let err = open_automerge(&path)
        .err()
        .expect("another process holds the file");
    assert!(matches!(err, Error::AlreadyOpen { .. }), "{err:?}");
    assert!(err.to_string().contains("already open"), "{err}");
    drop(child.stdin.take());
    assert!(child.wait()?.success());
    open_automerge(&path)?.close()?;
    Ok(())
}

#[test]
fn a_document_whose_change_log_does_not_load_is_corrupt() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("chunk.redb");
    populated(&path)?;
    {
        let db = redb::Database::open(&path)?;
        let txn = db.begin_write()?;
        let seq = newest_chunk(&txn.open_table(HEADS)?, "doc-007");
        let mut log = txn.open_table(CHANGE_LOG)?;
        let link = log.get(seq)?.expect("doc-007's newest chunk").value().0;
        log.insert(seq, (link, b"not an automerge chunk".as_slice()))?;
        drop(log);
        txn.commit()?;
    }
    let store = open_automerge(&path)?;
    let docs = store.collection("docs");
    assert_eq!(
        docs.get("doc-007")?,
        Some(vec![7; 2000]),
        "reads use the materialized value"
    );
    let names_doc_007 = |err: &Error| matches!(err, Error::Corrupt { collection, id, .. } if collection == "docs" && id == "doc-007");
    let err = store
        .document("docs", "doc-007")
        .expect_err("the log does not load");
    assert!(names_doc_007(&err), "{err:?}");
    // An upsert appends without reading the history, so it succeeds; the damage stays for
    // `document()`, `compact()` and `verify()` to report.
    docs.upsert("doc-007", b"new".to_vec())?;
    assert_eq!(docs.get("doc-007")?, Some(b"new".to_vec()));
    let err = store
        .document("docs", "doc-007")
        .expect_err("still damaged");
    assert!(names_doc_007(&err), "{err:?}");
    // Compaction loads the two chunks to fold them: it refuses, and folds nothing away.
    let err = store.compact().expect_err("the log does not load");
    assert!(names_doc_007(&err), "{err:?}");
    let report = store.verify()?;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].to_string().contains("doc-007"));
    // A delete appends a tombstone and keeps the history (replicas must see it), damage and
    // all: verify still names the document.
    docs.delete("doc-007")?;
    assert_eq!(docs.get("doc-007")?, None);
    let report = store.verify()?;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].to_string().contains("doc-007"));
    Ok(())
}

#[test]
fn every_kind_reopens_its_own_file() -> TestResult {
    for kind in Kind::persistent() {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db");
        kind.open(&path)?.close()?;
        kind.open(&path)?.close()?;
    }
    Ok(())
}

#[test]
fn a_damaged_chunk_after_the_first_is_corrupt_not_silently_dropped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("history.redb");
    {
        let store = open_automerge(&path)?;
        let docs = store.collection("docs");
        for version in 0..5u8 {
            docs.upsert("hist", vec![version; 100])?;
        }
        store.close()?;
    }
    {
        let db = redb::Database::open(&path)?;
        let txn = db.begin_write()?;
        assert_eq!(newest_chunk(&txn.open_table(HEADS)?, "hist"), 5);
        let mut log = txn.open_table(CHANGE_LOG)?;
        let chunks: Vec<(u64, u64)> = log
            .iter()?
            .filter_map(|e| e.ok().map(|(k, v)| (k.value(), v.value().0)))
            .collect();
        assert_eq!(
            chunks,
            [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)],
            "one increment per upsert, each linked to the one before"
        );
        let mut third = log.get(3)?.expect("chunk 3").value().1.to_vec();
        let middle = third.len() / 2;
        third[middle] ^= 0x5A;
        log.insert(3, (2, third.as_slice()))?;
        drop(log);
        txn.commit()?;
    }
    let store = open_automerge(&path)?;
    let err = store
        .document("docs", "hist")
        .expect_err("a damaged middle chunk");
    assert!(
        matches!(&err, Error::Corrupt { id, .. } if id == "hist"),
        "{err:?}"
    );
    store.collection("docs").upsert("hist", b"new".to_vec())?;
    assert!(
        store.document("docs", "hist").is_err(),
        "a later change does not hide the damage"
    );
    assert!(!store.verify()?.is_clean());
    Ok(())
}

#[test]
fn damaged_heads_refuse_writes_and_compaction_and_keep_every_chunk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("behind.redb");
    {
        let store = open_automerge(&path)?;
        let docs = store.collection("docs");
        for version in 1..=3u8 {
            docs.upsert("d", vec![version; 100])?;
        }
        store.close()?;
    }
    let chunks_before;
    {
        let db = redb::Database::open(&path)?;
        let txn = db.begin_write()?;
        chunks_before = redb::ReadableTableMetadata::len(&txn.open_table(CHANGE_LOG)?)?;
        let mut heads_table = txn.open_table(HEADS)?;
        assert_eq!(newest_chunk(&heads_table, "d"), 3);
        let mut heads = heads_table.get((0, "d"))?.expect("heads").value().to_vec();
        // Heads behind the log, naming chunk 2 as the newest.
        heads[9..17].copy_from_slice(&2u64.to_le_bytes());
        heads_table.insert((0, "d"), heads.as_slice())?;
        drop(heads_table);
        txn.commit()?;
    }
    let store = open_automerge(&path)?;
    let docs = store.collection("docs");
    let err = docs
        .upsert("d", b"new".to_vec())
        .expect_err("its checksum no longer holds");
    assert!(
        matches!(&err, Error::Corrupt { id, .. } if id == "d"),
        "{err:?}"
    );
    assert_eq!(
        docs.get("d")?,
        Some(vec![3; 100]),
        "the failed upsert changed nothing"
    );
    let err = store.compact().expect_err("heads that do not decode");
    assert!(
        matches!(&err, Error::Corrupt { id, .. } if id == "d"),
        "{err:?}"
    );
    assert!(!store.verify()?.is_clean());
    store.close()?;
    let db = redb::Database::open(&path)?;
    let txn = redb::ReadableDatabase::begin_read(&db)?;
    assert_eq!(
        redb::ReadableTableMetadata::len(&txn.open_table(CHANGE_LOG)?)?,
        chunks_before,
        "every chunk is still there"
    );
    Ok(())
}

/// Damage `f` does to the change log of a document "hist" of five upserts.
fn with_damaged_log(
    path: &Path,
    f: impl FnOnce(
        &mut redb::Table<u64, (u64, &[u8])>,
        &mut redb::Table<(u64, &str), &[u8]>,
    ) -> TestResult,
) -> TestResult {
    {
        let store = open_automerge(path)?;
        for version in 0..5u8 {
            store.collection("docs").upsert("hist", vec![version; 10])?;
        }
        store.close()?;
    }
    let db = redb::Database::open(path)?;
    let txn = db.begin_write()?;
    f(
        &mut txn.open_table(CHANGE_LOG)?,
        &mut txn.open_table(HEADS)?,
    )?;
    txn.commit()?;
    Ok(())
}

/// A change missing from the middle of a change log: the changes a peer asks for are refused
/// as corrupt, not sent without it.
#[test]
fn a_change_log_missing_a_change_sends_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("gap.redb");
    with_damaged_log(&path, |log, _| {
        log.remove(3)?.expect("chunk 3");
        Ok(())
    })?;
    let store = open_automerge(&path)?;
    let err = store
        .changes_since("docs", "hist", &[])
        .expect_err("a gap in the log");
    assert!(
        matches!(&err, Error::Corrupt { id, .. } if id == "hist"),
        "{err:?}"
    );
    Ok(())
}

/// A document whose heads are gone: a write (local or from a peer) is refused, naming what is
/// wrong, the chunks stay as they are, and `verify()` reports both the document and the
/// chunks no heads lead to.
#[test]
fn a_change_log_without_heads_refuses_writes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("headless.redb");
    with_damaged_log(&path, |_, heads| {
        heads.remove((0, "hist"))?.expect("heads");
        Ok(())
    })?;
    let store = open_automerge(&path)?;
    let err = store
        .collection("docs")
        .upsert("hist", b"over".to_vec())
        .expect_err("no heads to write after");
    assert!(err.to_string().contains("has no heads"), "{err}");
    let peer_dir = tempfile::tempdir()?;
    let peer = open_automerge(&peer_dir.path().join("peer.redb"))?;
    peer.collection("docs").upsert("hist", b"theirs".to_vec())?;
    let theirs = peer.changes_since("docs", "hist", &[])?;
    let err = store
        .apply_changes("docs", "hist", theirs)
        .expect_err("no heads to apply after");
    let refused = matches!(
        &err,
        storebench::ReplicationError::Store(Error::Corrupt { id, .. }) if id == "hist"
    );
    assert!(refused, "{err:?}");
    let problems: Vec<String> = store
        .verify()?
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("\"hist\"") && problems[0].contains("no change log"));
    assert!(problems[1].contains("5 chunks that no document's heads lead to"));
    Ok(())
}

/// A write that fails while a new database is being made is the storage's error, not
/// corruption: nothing on the disk was damaged.
#[test]
fn an_io_failure_while_opening_is_a_storage_error() -> TestResult {
    for fail_at in 0..4 {
        let disk = storebench::fault::Disk::new();
        disk.fail_in(fail_at);
        let err = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())
            .err()
            .expect("the open meets the failure");
        assert!(
            matches!(err, Error::Storage(_)),
            "failing write {fail_at}: {err:?}"
        );
    }
    Ok(())
}
