//! How a connection is configured and checkpointed: the pragmas a store sets when it opens,
//! and the values SQLite reports for them afterwards. README.md says why each value was
//! chosen.

use rusqlite::Connection;
use rusqlite::types::Value;
use storebench::binding::Settings;
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

/// The pragmas a store reports: those [`configure`] sets, and the page size it leaves at
/// SQLite's default.
const REPORTED: [&str; 8] = [
    "locking_mode",
    "journal_mode",
    "synchronous",
    "cache_size",
    "mmap_size",
    "temp_store",
    "wal_autocheckpoint",
    "page_size",
];

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

/// Each reported pragma with the value SQLite gives for it now, spelt as SQLite's
/// documentation spells the setting (`synchronous` reads back as `2`, which is `FULL`), and
/// whether the documents' table has rowids.
///
/// # Errors
/// [`Error::Backend`] with SQLite's error, when a pragma cannot be read.
pub(crate) fn read_back(conn: &Connection) -> Result<Settings> {
    let mut settings = Settings::new();
    for pragma in REPORTED {
        let value = conn
            .pragma_query_value(None, pragma, |row| row.get::<_, Value>(0))
            .map_err(sqlite)?;
        let value = match value {
            Value::Integer(n) => named(pragma, n),
            Value::Text(text) => text,
            Value::Null => String::new(),
            Value::Real(x) => x.to_string(),
            Value::Blob(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        settings.insert(pragma.to_owned(), value);
    }
    let without_rowid: bool = conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE name = 'documents'",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite)?;
    let table = if without_rowid {
        "without rowid"
    } else {
        "rowid"
    };
    settings.insert("documents_table".to_owned(), table.to_owned());
    Ok(settings)
}

/// The name SQLite's documentation gives the number `n` that `pragma` reads back as, for the
/// pragmas set by name; the number itself for the others.
fn named(pragma: &str, n: i64) -> String {
    let names: &[&str] = match pragma {
        "synchronous" => &["OFF", "NORMAL", "FULL", "EXTRA"],
        "temp_store" => &["DEFAULT", "FILE", "MEMORY"],
        _ => &[],
    };
    usize::try_from(n)
        .ok()
        .and_then(|i| names.get(i))
        .map_or_else(|| n.to_string(), |name| (*name).to_owned())
}
