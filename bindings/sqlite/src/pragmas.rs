//! How a connection is configured and checkpointed: the pragmas a store sets when it opens.
//! README.md says why each value was chosen.

use rusqlite::Connection;
use storebench::{Durability, Error, Result};

/// The page cache, in KiB (a negative `cache_size` is a size, not a page count): the 64 MiB
/// the built-in redb backends are given (`OpenOptions::page_cache_bytes`).
const CACHE_KIB: i64 = 64 << 10;

/// How much of the database file is read through a memory map rather than `read()`: all of
/// it, up to 1 GiB. The map reserves address space; the OS page cache holds the pages.
const MMAP_BYTES: i64 = 1 << 30;

/// WAL pages after which a commit checkpoints them into the database: SQLite's default,
/// about 4 MiB, set here so that the choice is visible.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 1000;

fn sqlite(e: rusqlite::Error) -> Error {
    Error::backend("sqlite", e)
}

/// Configures a freshly opened connection for `durability`; the database is in WAL mode
/// afterwards.
///
/// # Errors
/// [`Error::Backend`] with SQLite's error, or when the database cannot enter WAL mode.
pub(crate) fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    // Before the database is first read: then WAL mode keeps its index in this connection's
    // memory instead of a shared-memory file, and no transaction takes file locks.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(sqlite)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::backend(
            "sqlite",
            format!("journal mode {mode}, not WAL"),
        ));
    }
    conn.pragma_update(None, "synchronous", synchronous(durability))
        .map_err(sqlite)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(sqlite)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)
        .map_err(sqlite)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(sqlite)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(sqlite)
}

/// The `synchronous` level that keeps `durability`'s promise through a power cut. In WAL
/// mode a commit survives one only if the WAL was synced at the commit, which `FULL` does
/// and `NORMAL` leaves to the next checkpoint. Both modes need it, at a different price:
/// with `OnFlush` only `flush()` commits, so the sync is paid once per flush; with
/// `EveryWrite` once per write, which is the mode's promise.
fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::OnFlush | Durability::EveryWrite => "FULL",
    }
}

/// Copies every page of the WAL into the database and empties the WAL: what a store does as
/// it closes, so that its database file holds everything, and a checkpoint that cannot
/// finish is reported rather than left to the next open.
///
/// # Errors
/// [`Error::Backend`] with SQLite's error, or when the checkpoint could not finish.
pub(crate) fn checkpoint(conn: &Connection) -> Result<()> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .map_err(sqlite)?;
    if busy != 0 {
        return Err(Error::backend(
            "sqlite",
            "the closing checkpoint could not finish: another connection holds the database",
        ));
    }
    Ok(())
}
