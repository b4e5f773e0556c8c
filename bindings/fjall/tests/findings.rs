//! The defects bindings/FINDINGS.md lists for fjall 3.1.13 (lsm-tree 3.1.10), each shown with
//! fjall's own API and nothing of storebench, so that it can go to fjall as it is. Each test
//! passes while fjall has the defect and fails, saying so, once fjall mends it.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};

use fjall::{Database, KeyspaceCreateOptions, PersistMode};

const MENDED: &str = "fjall mended this: update bindings/FINDINGS.md";

/// Set in the child process a test re-runs itself in, for a defect that aborts the process.
const CHILD: &str = "FJALL_FINDINGS_CHILD";

/// The signal `abort()` raises.
const SIGABRT: i32 = 6;

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Opens the database in `dir` again: how many keys its keyspace `documents` has.
fn reopened_len(dir: &Path) -> fjall::Result<usize> {
    let db = Database::builder(dir).open()?;
    db.keyspace("documents", KeyspaceCreateOptions::default)?
        .len()
}

/// Writes ten keys into the keyspace `documents` of a new database in `dir` and syncs them;
/// with `to_tables`, also moves them from the journal into a table (a new version).
fn fill(dir: &Path, to_tables: bool) -> fjall::Result<()> {
    let db = Database::builder(dir).open()?;
    let ks = db.keyspace("documents", KeyspaceCreateOptions::default)?;
    for i in 0..10u32 {
        ks.insert(format!("k{i}"), "v")?;
    }
    db.persist(PersistMode::SyncAll)?;
    if to_tables {
        ks.rotate_memtable_and_wait()?;
    }
    Ok(())
}

/// Runs the test `name` again in a child process, with [`CHILD`] set.
fn in_child(name: &str) -> std::io::Result<Output> {
    Command::new(std::env::current_exe()?)
        .args(["--exact", name, "--nocapture"])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
}

/// `current` holds the version number (u64 LE) and a checksum of its file, which the open
/// does not verify: a flipped bit names an older version, and the open takes it.
#[test]
fn a_flipped_bit_in_current_opens_an_older_version_silently() -> Outcome {
    let dir = tempfile::tempdir()?;
    fill(dir.path(), true)?;
    // The meta keyspace's, at version 2; bit 1 of byte 0 makes it 0, whose file v0 is there.
    let current = dir.path().join("keyspaces/0/current");
    let mut bytes = std::fs::read(&current)?;
    assert_eq!(
        bytes[..8],
        2u64.to_le_bytes(),
        "the meta keyspace's version"
    );
    bytes[0] ^= 0b10;
    std::fs::write(&current, &bytes)?;
    let reopened = reopened_len(dir.path());
    assert!(matches!(reopened, Ok(0)), "{MENDED}: {reopened:?}");
    Ok(())
}

/// A journal fjall cannot decode reads as one that ends at its start: the open succeeds
/// empty, and the journal (here another program's file) is cut to 0 bytes.
#[test]
fn a_foreign_journal_opens_empty_and_is_cut_to_nothing() -> Outcome {
    let dir = tempfile::tempdir()?;
    fill(dir.path(), false)?;
    // What the file-damage check's `Foreign` writes: a line of text over the file's length.
    let journal = dir.path().join("0.jnl");
    let len = usize::try_from(std::fs::metadata(&journal)?.len())?;
    let text = b"# notes of another program; not a database\n";
    let mut foreign = text.repeat(len / text.len() + 1);
    foreign.truncate(len);
    std::fs::write(&journal, foreign)?;
    let reopened = reopened_len(dir.path());
    assert!(matches!(reopened, Ok(0)), "{MENDED}: {reopened:?}");
    let left = std::fs::metadata(&journal)?.len();
    assert_eq!(
        left, 0,
        "{MENDED}: the foreign journal kept {left} of {len} bytes"
    );
    Ok(())
}

/// A keyspace's version file (an sfa archive) starts with its manifest, unchecked: the format
/// version (1 byte), the crate version ("3.1.10"), the tree type (1 byte), then the level count,
/// 7, at byte 8. Bit 0 makes it 6: lsm-tree asserts instead of returning an error, fjall's
/// `Drop` then finds its lock poisoned and panics during the unwind, and the process aborts.
#[test]
fn a_flipped_bit_in_the_level_count_panics_then_aborts() -> Outcome {
    if std::env::var_os(CHILD).is_none() {
        let child = in_child("a_flipped_bit_in_the_level_count_panics_then_aborts")?;
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(
            stderr.contains("level count should be 7") && child.status.signal() == Some(SIGABRT),
            "{MENDED}: the child {}, its stderr:\n{stderr}",
            child.status
        );
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    {
        let db = Database::builder(dir.path()).open()?;
        db.keyspace("documents", KeyspaceCreateOptions::default)?;
    }
    let version = dir.path().join("keyspaces/1/v0");
    let mut bytes = std::fs::read(&version)?;
    assert_eq!(bytes[8], 7, "the level count");
    bytes[8] ^= 1;
    std::fs::write(&version, &bytes)?;
    // Panics, then panics again in a destructor: the process aborts before this returns.
    let _ = Database::builder(dir.path()).open();
    Ok(())
}
