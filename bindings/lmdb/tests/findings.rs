//! The defects bindings/FINDINGS.md lists for LMDB (heed 0.22, lmdb-master-sys 0.2), each
//! shown with heed's own API and nothing of storebench, so that it can go upstream as it is.
//! Each test passes while LMDB has the defect and fails, saying so, once it is mended.

#![allow(unsafe_code)]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};

use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions};

const MENDED: &str = "LMDB mended this: update bindings/FINDINGS.md";

/// Set in the child process a test re-runs itself in, for a defect that kills the process.
const CHILD: &str = "LMDB_FINDINGS_CHILD";

/// The signal a read through a memory map past the end of its file raises.
const SIGBUS: i32 = 7;

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Opens (or creates) the environment in `dir`.
fn open(dir: &Path) -> heed::Result<Env> {
    let mut options = EnvOpenOptions::new();
    options.map_size(64 << 20).max_dbs(2);
    // SAFETY: no other handle of this environment is open while the tests change its file;
    // the changes are made between a close and the next open, as a damaged disk would.
    unsafe { options.open(dir) }
}

/// Writes `count` keys of `size` bytes each into the database `documents`, syncs, closes.
fn fill(dir: &Path, count: u32, size: usize) -> heed::Result<()> {
    let env = open(dir)?;
    let mut txn = env.write_txn()?;
    let db: Database<Bytes, Bytes> = env.create_database(&mut txn, Some("documents"))?;
    for i in 0..count {
        db.put(&mut txn, format!("k{i:06}").as_bytes(), &vec![7; size])?;
    }
    txn.commit()?;
    env.force_sync()?;
    env.prepare_for_closing().wait();
    Ok(())
}

/// How many keys `documents` has on opening `dir` again, counted by reading each one;
/// `None` when it does not exist.
fn reopened_len(dir: &Path) -> heed::Result<Option<usize>> {
    let env = open(dir)?;
    let txn = env.read_txn()?;
    let db: Option<Database<Bytes, Bytes>> = env.open_database(&txn, Some("documents"))?;
    let len = match db {
        Some(db) => Some(db.iter(&txn)?.collect::<heed::Result<Vec<_>>>()?.len()),
        None => None,
    };
    drop(txn);
    env.prepare_for_closing().wait();
    Ok(len)
}

/// Runs the test `name` again in a child process, with [`CHILD`] set.
fn in_child(name: &str) -> std::io::Result<Output> {
    Command::new(std::env::current_exe()?)
        .args(["--exact", name, "--nocapture"])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
}

/// `mdb_env_open` reads the header of `data.mdb`; a read of 0 bytes is taken for a file
/// never written, and the environment starts anew over it: every synced commit is gone and
/// the open says nothing.
#[test]
fn a_data_file_cut_to_nothing_opens_as_a_new_environment() -> Outcome {
    let dir = tempfile::tempdir()?;
    fill(dir.path(), 10, 100)?;
    assert_eq!(reopened_len(dir.path())?, Some(10), "the keys written");
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("data.mdb"))?
        .set_len(0)?;
    let reopened = reopened_len(dir.path());
    assert!(matches!(reopened, Ok(None)), "{MENDED}: {reopened:?}");
    Ok(())
}

/// LMDB reads its pages through a memory map and checks neither a page's checksum (it has
/// none before LMDB 1.0) nor that the file still covers the pages its meta page names: a
/// file cut short opens, and the first read of a page past its end kills the process with
/// `SIGBUS` instead of returning an error.
#[test]
fn a_data_file_cut_short_kills_the_reader_with_sigbus() -> Outcome {
    if std::env::var_os(CHILD).is_none() {
        let child = in_child("a_data_file_cut_short_kills_the_reader_with_sigbus")?;
        assert_eq!(
            child.status.signal(),
            Some(SIGBUS),
            "{MENDED}: the child {}, its stderr:\n{}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
        );
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    // About 1 MB: the B-tree's pages lie well past the first four.
    fill(dir.path(), 1000, 1000)?;
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("data.mdb"))?
        .set_len(4 * 4096)?;
    // Dies inside: the open succeeds, the first read of the tree touches an unmapped page.
    let reopened = reopened_len(dir.path());
    panic!("{MENDED}: the read returned {reopened:?}");
}
