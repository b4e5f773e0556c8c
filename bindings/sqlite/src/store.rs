//! `SqliteStore`: collections of documents in one SQLite database.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};
use storebench::binding::Settings;
use storebench::{
    Collection, Document, DocumentPredicate, Durability, Error, Result, StorageBackend,
};

use crate::pragmas;

/// Documents live in a rowid table, their (collection, id) key in the index its primary key
/// makes. A document of a kilobyte fits a table page's cell whole, but not an index page's
/// (at most about a quarter page): in a table keyed by (collection, id) `WITHOUT ROWID`,
/// each spilled to an overflow page that every read and update of it then visits too
/// (README.md has the measurements).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS collections (
        id INTEGER PRIMARY KEY,
        name BLOB NOT NULL UNIQUE
    );
    CREATE TABLE IF NOT EXISTS documents (
        collection INTEGER NOT NULL,
        id BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (collection, id)
    );
";

/// How many statements a connection keeps prepared: the dozen or so the operations and their
/// transactions run ([`prepare_cached`](Connection::prepare_cached)), with room to spare so
/// that none is evicted and parsed again.
const STATEMENTS: usize = 32;

/// The statements of the documents' operations, each found through the (collection, id)
/// index (the tests below hold them to it). The upsert rewrites the document in its row:
/// `INSERT OR REPLACE` would delete the row and its index entry and insert both again.
const UPSERT: &str = "INSERT INTO documents (collection, id, data) VALUES (?1, ?2, ?3) \
                      ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data";
const GET: &str = "SELECT data FROM documents WHERE collection = ?1 AND id = ?2";
const DELETE: &str = "DELETE FROM documents WHERE collection = ?1 AND id = ?2";
const COUNT: &str = "SELECT count(*) FROM documents WHERE collection = ?1";
/// Documents of a collection in id order, all, from an id on, and a number of them from an id
/// on: their first parameter is the collection id, their columns id and data.
const SCAN: &str = "SELECT id, data FROM documents WHERE collection = ?1 ORDER BY id";
const SCAN_FROM: &str =
    "SELECT id, data FROM documents WHERE collection = ?1 AND id >= ?2 ORDER BY id";
const SCAN_RANGE: &str =
    "SELECT id, data FROM documents WHERE collection = ?1 AND id >= ?2 ORDER BY id LIMIT ?3";

/// Names and ids are stored as BLOBs: SQLite compares BLOBs byte by byte, which is the order
/// the storage contract asks for (UTF-8 byte order), and keeps an embedded NUL.
///
/// ```
/// use storebench::{Durability, StorageBackend};
/// use storebench_sqlite::SqliteStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(&dir.path().join("docs.sqlite"), Durability::OnFlush)?;
/// store.collection("cells").upsert("c1", b"alive".to_vec())?;
/// store.close()?;
/// let store = SqliteStore::open(&dir.path().join("docs.sqlite"), Durability::OnFlush)?;
/// assert_eq!(store.collection("cells").get("c1")?, Some(b"alive".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    shared: Arc<Shared>,
}

struct Shared {
    durability: Durability,
    db: Mutex<Db>,
}

struct Db {
    /// `None` once closed.
    conn: Option<Connection>,
    /// Collection ids by name, as the database has them (committed or in the open
    /// transaction).
    collections: BTreeMap<String, i64>,
    /// Set once SQLite ended the open `OnFlush` transaction by itself: after an I/O error, a
    /// full disk or running out of memory it may roll the whole transaction back, and with
    /// it every write since the last flush. From then on every operation fails, rather than
    /// reading a state older than one it has shown or beginning a new transaction that a
    /// later flush would commit without them; reopening gives the last flush.
    lost: bool,
}

impl Db {
    /// The connection, when the store is open and has lost nothing; with `OnFlush` it is
    /// inside its transaction here, or SQLite has rolled it back.
    fn usable(&mut self, durability: Durability) -> Result<&Connection> {
        let conn = self.conn.as_ref().ok_or(Error::Closed)?;
        if durability == Durability::OnFlush && conn.is_autocommit() {
            self.lost = true;
        }
        if self.lost {
            return Err(Error::backend(
                "sqlite",
                "SQLite rolled back the open transaction after an error, and with it every \
                 write since the last flush; reopen the store, which holds the last flush",
            ));
        }
        Ok(conn)
    }
}

fn sqlite(e: rusqlite::Error) -> Error {
    Error::backend("sqlite", e)
}

impl SqliteStore {
    /// Opens the database at `path`, creating it when there is none, configured for
    /// `durability` (README.md lists the pragmas). The store holds the database exclusively
    /// until it closes: no other connection, in this process or another, can read it
    /// meanwhile.
    ///
    /// # Errors
    /// [`Error::Backend`] with SQLite's error when the file cannot be opened, is not a
    /// database or is held by another connection, or when it cannot be put in WAL mode.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let conn = Connection::open(path).map_err(sqlite)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        pragmas::configure(&conn, durability)?;
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        let collections = load_collections(&conn).map_err(sqlite)?;
        if durability == Durability::OnFlush {
            run(&conn, "BEGIN").map_err(sqlite)?;
        }
        let db = Db {
            conn: Some(conn),
            collections,
            lost: false,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                durability,
                db: Mutex::new(db),
            }),
        })
    }

    /// The pragmas that shape its performance and durability, as SQLite reports them now
    /// (`synchronous` → `FULL`, `cache_size` → `-65536`), and whether documents live in a
    /// rowid table (`documents_table`).
    ///
    /// # Errors
    /// [`Error::Backend`] with SQLite's error, or [`Error::Closed`].
    pub fn settings(&self) -> Result<Settings> {
        let db = self.shared.lock();
        let conn = db.conn.as_ref().ok_or(Error::Closed)?;
        pragmas::read_back(conn)
    }

    /// Makes every write durable, then rewrites the database without its free pages
    /// (`VACUUM`, which SQLite runs outside any transaction).
    ///
    /// # Errors
    /// [`Error::Backend`] with SQLite's error, or [`Error::Closed`].
    pub fn compact(&self) -> Result<()> {
        self.shared.compact()
    }

    /// SQLite's `integrity_check`, and documents whose collection is unknown.
    ///
    /// # Errors
    /// When the checks cannot run.
    pub fn verify(&self) -> Result<Vec<String>> {
        self.shared.read(|conn, _| {
            let mut problems: Vec<String> = conn
                .prepare("PRAGMA integrity_check")?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter(|line| line != "ok")
                .collect();
            let orphans: i64 = conn.query_row(
                "SELECT count(*) FROM documents \
                 WHERE collection NOT IN (SELECT id FROM collections)",
                [],
                |row| row.get(0),
            )?;
            if orphans > 0 {
                problems.push(format!("{orphans} documents belong to no collection"));
            }
            Ok(problems)
        })
    }
}

/// Collection ids by name, as the database has them now.
fn load_collections(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    conn.prepare("SELECT name, id FROM collections")?
        .query_map([], |row| Ok((text(row.get(0)?), row.get(1)?)))?
        .collect()
}

/// Ids and names are written from `&str`, so they always read back as UTF-8.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read<T>(
        &self,
        read: impl FnOnce(&Connection, &BTreeMap<String, i64>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut db = self.lock();
        db.usable(self.durability)?;
        let Db {
            conn, collections, ..
        } = &*db;
        let conn = conn.as_ref().ok_or(Error::Closed)?;
        read(conn, collections).map_err(sqlite)
    }

    /// Runs `write` on `collection` (created first if it is new) as one atomic unit: its own
    /// transaction with `EveryWrite`, a savepoint inside the open one with `OnFlush`. On
    /// failure nothing of it stays, not even the collection's creation.
    fn write(
        &self,
        collection: &str,
        write: impl FnOnce(&Connection, i64) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let mut db = self.lock();
        db.usable(self.durability)?;
        let Db {
            conn,
            collections,
            lost,
        } = &mut *db;
        let conn = conn.as_ref().ok_or(Error::Closed)?;
        let (begin, commit, rollback) = match self.durability {
            Durability::EveryWrite => ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"),
            _ => (
                "SAVEPOINT write",
                "RELEASE write",
                "ROLLBACK TO write; RELEASE write",
            ),
        };
        run(conn, begin).map_err(sqlite)?;
        let created = !collections.contains_key(collection);
        let done = ensure(conn, collections, collection)
            .and_then(|id| write(conn, id))
            .and_then(|()| run(conn, commit));
        if let Err(e) = done {
            let _ = conn.execute_batch(rollback);
            if created {
                collections.remove(collection);
            }
            if self.durability == Durability::OnFlush && conn.is_autocommit() {
                // The error ended the open transaction, not just this write's savepoint.
                *lost = true;
            }
            return Err(sqlite(e));
        }
        Ok(())
    }

    /// Commits the open transaction (`OnFlush`) and begins the next.
    fn flush(&self) -> Result<()> {
        let mut db = self.lock();
        self.commit(&mut db)?;
        let conn = db.conn.as_ref().ok_or(Error::Closed)?;
        run(conn, "BEGIN").map_err(sqlite)
    }

    /// Commits what is open (`OnFlush`), then `VACUUM`, which SQLite runs outside any
    /// transaction, then begins the next (`OnFlush`).
    fn compact(&self) -> Result<()> {
        let mut db = self.lock();
        self.commit(&mut db)?;
        let conn = db.conn.as_ref().ok_or(Error::Closed)?;
        let vacuumed = conn.execute_batch("VACUUM").map_err(sqlite);
        if self.durability == Durability::OnFlush {
            run(conn, "BEGIN").map_err(sqlite)?;
        }
        vacuumed
    }

    /// Commits the open transaction, if any; the connection, in autocommit mode.
    fn commit(&self, db: &mut Db) -> Result<()> {
        if self.durability == Durability::OnFlush {
            db.usable(self.durability)?;
        }
        let conn = db.conn.as_ref().ok_or(Error::Closed)?;
        let committed = if conn.is_autocommit() {
            Ok(())
        } else {
            run(conn, "COMMIT")
        };
        if committed.is_err() && conn.is_autocommit() {
            // SQLite rolled the transaction back: a failed flush leaves the state before it,
            // which no longer holds what was read since.
            db.lost = true;
        }
        committed.map_err(sqlite)
    }
}

/// Runs `sql`, one statement that returns no rows, kept prepared: the transaction control
/// each write and flush runs, which `execute_batch` would parse again every time.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The id of `name`, inserting the collection when it is new.
fn ensure(
    conn: &Connection,
    collections: &mut BTreeMap<String, i64>,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(&id) = collections.get(name) {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO collections (name) VALUES (?1)")?
        .execute([name.as_bytes()])?;
    let id = conn.last_insert_rowid();
    collections.insert(name.to_owned(), id);
    Ok(id)
}

impl StorageBackend for SqliteStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let known = self.shared.lock().collections.contains_key(name);
        if !known {
            // The trait gives creation no way to fail: when it cannot be written now, the
            // collection's first write creates it.
            let _ = self.shared.write(name, |_, _| Ok(()));
        }
        Arc::new(SqliteCollection {
            name: name.to_owned(),
            shared: self.shared.clone(),
        })
    }

    fn list_collections(&self) -> Vec<String> {
        // The cache mirrors the table; BTreeMap keys are in byte order, as the contract asks.
        self.shared.lock().collections.keys().cloned().collect()
    }

    fn flush(&self) -> Result<()> {
        match self.shared.durability {
            Durability::EveryWrite => Ok(()),
            _ => self.shared.flush(),
        }
    }

    fn close(self) -> Result<()> {
        self.flush()?;
        let conn = self.shared.lock().conn.take();
        match conn {
            Some(conn) => {
                pragmas::checkpoint(&conn)?;
                conn.close().map_err(|(_, e)| sqlite(e))
            }
            None => Ok(()),
        }
    }
}

struct SqliteCollection {
    name: String,
    shared: Arc<Shared>,
}

impl SqliteCollection {
    /// Documents of this collection from `sql` ([`SCAN`] and the like), in order while `keep`
    /// says so.
    fn documents(
        &self,
        sql: &str,
        rest: &[&dyn rusqlite::ToSql],
        mut keep: impl FnMut(&str, &[u8]) -> bool,
    ) -> Result<Vec<Document>> {
        self.shared.read(|conn, collections| {
            let Some(&id) = collections.get(&self.name) else {
                return Ok(Vec::new());
            };
            let mut statement = conn.prepare_cached(sql)?;
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&id];
            params.extend_from_slice(rest);
            let mut rows = statement.query(params.as_slice())?;
            let mut docs = Vec::new();
            while let Some(row) = rows.next()? {
                let id = text(row.get(0)?);
                let data: Vec<u8> = row.get(1)?;
                if !keep(&id, &data) {
                    break;
                }
                docs.push((id, data));
            }
            Ok(docs)
        })
    }
}

impl Collection for SqliteCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.shared.write(&self.name, |conn, c| {
            conn.prepare_cached(UPSERT)?
                .execute(params![c, doc_id.as_bytes(), data])?;
            Ok(())
        })
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.shared.write(&self.name, |conn, c| {
            let mut insert = conn.prepare_cached(UPSERT)?;
            for (id, data) in &docs {
                insert.execute(params![c, id.as_bytes(), data])?;
            }
            Ok(())
        })
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.shared.read(|conn, collections| {
            let Some(&c) = collections.get(&self.name) else {
                return Ok(None);
            };
            conn.prepare_cached(GET)?
                .query_row(params![c, doc_id.as_bytes()], |row| row.get(0))
                .optional()
        })
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.shared.write(&self.name, |conn, c| {
            conn.prepare_cached(DELETE)?
                .execute(params![c, doc_id.as_bytes()])?;
            Ok(())
        })
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.documents(SCAN, &[], |_, _| true)
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        // Ids from the prefix on, in order, until one no longer starts with it.
        self.documents(SCAN_FROM, &[&prefix.as_bytes()], |id, _| {
            id.starts_with(prefix)
        })
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.documents(SCAN_RANGE, &[&start.as_bytes(), &limit], |_, _| true)
    }

    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        let docs = self.scan()?;
        Ok(docs
            .into_iter()
            .filter(|(_, data)| predicate(data))
            .collect())
    }

    fn count(&self) -> Result<usize> {
        self.shared.read(|conn, collections| {
            let Some(&c) = collections.get(&self.name) else {
                return Ok(0);
            };
            let n: i64 = conn
                .prepare_cached(COUNT)?
                .query_row([c], |row| row.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How SQLite runs `sql` on the schema: one line per step of its plan.
    fn plan(sql: &str) -> rusqlite::Result<Vec<String>> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let count = explain.parameter_count();
        let params = vec![rusqlite::types::Value::Null; count];
        explain
            .query_map(rusqlite::params_from_iter(params), |row| row.get(3))?
            .collect()
    }

    #[test]
    fn every_operation_goes_through_the_key_index() -> rusqlite::Result<()> {
        for sql in [GET, DELETE, COUNT, SCAN, SCAN_FROM, SCAN_RANGE] {
            let plan = plan(sql)?;
            assert!(
                plan.iter()
                    .any(|step| step.contains("sqlite_autoindex_documents_1")),
                "{sql}: {plan:?}"
            );
            // Neither a full scan nor a sort: the index gives id order.
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN") || step.contains("TEMP")),
                "{sql}: {plan:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn ids_are_kept_as_bytes_and_scanned_in_byte_order() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::backend("tempdir", e))?;
        let store = SqliteStore::open(&dir.path().join("docs.sqlite"), Durability::OnFlush)?;
        let cells = store.collection("cells");
        for id in ["é", "b", "a\u{0}b", "a", "Z"] {
            cells.upsert(id, id.as_bytes().to_vec())?;
        }
        store.collection("other").upsert("a", Vec::new())?;
        let ids: Vec<String> = cells.scan()?.into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["Z", "a", "a\u{0}b", "b", "é"]);
        assert_eq!(cells.count()?, 5);
        let stored: String = store.shared.read(|conn, _| {
            conn.query_row("SELECT DISTINCT typeof(id) FROM documents", [], |row| {
                row.get(0)
            })
        })?;
        assert_eq!(stored, "blob");
        Ok(())
    }

    #[test]
    fn an_open_store_holds_its_database_alone() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::backend("tempdir", e))?;
        let path = dir.path().join("docs.sqlite");
        let store = SqliteStore::open(&path, Durability::EveryWrite)?;
        store.collection("cells").upsert("c1", b"alive".to_vec())?;
        assert!(SqliteStore::open(&path, Durability::EveryWrite).is_err());
        store.close()?;
        let store = SqliteStore::open(&path, Durability::EveryWrite)?;
        assert_eq!(
            store.collection("cells").get("c1")?,
            Some(b"alive".to_vec())
        );
        store.close()
    }

    #[test]
    fn an_upsert_rewrites_the_row_it_finds() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        let mut upsert = conn.prepare(UPSERT)?;
        upsert.execute(params![1, b"d1", b"old"])?;
        let before: i64 = conn.query_row("SELECT rowid FROM documents", [], |row| row.get(0))?;
        upsert.execute(params![1, b"d1", b"new"])?;
        let (rowid, data): (i64, Vec<u8>) =
            conn.query_row("SELECT rowid, data FROM documents", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        assert_eq!((rowid, data.as_slice()), (before, &b"new"[..]));
        Ok(())
    }

    /// SQLite may roll the whole open transaction back after an I/O error, a full disk or
    /// running out of memory. The writes since the last flush are gone then: the store must
    /// say so on every later operation, not read an older state nor let a later flush commit
    /// a new transaction without them.
    #[test]
    fn a_transaction_sqlite_rolled_back_fails_every_later_operation() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::backend("sqlite", e))?;
        let path = dir.path().join("store.sqlite");
        let store = SqliteStore::open(&path, Durability::OnFlush)?;
        let docs = store.collection("docs");
        docs.upsert("flushed", b"1".to_vec())?;
        store.flush()?;
        docs.upsert("unflushed", b"2".to_vec())?;
        // What SQLite does to the transaction after such an error.
        store
            .shared
            .lock()
            .conn
            .as_ref()
            .ok_or(Error::Closed)?
            .execute_batch("ROLLBACK")
            .map_err(sqlite)?;
        assert!(docs.get("flushed").is_err(), "a read of the older state");
        assert!(docs.upsert("later", b"3".to_vec()).is_err());
        assert!(store.flush().is_err(), "a flush without the lost writes");
        drop(docs);
        drop(store);
        let store = SqliteStore::open(&path, Durability::OnFlush)?;
        let docs = store.collection("docs");
        assert_eq!(docs.get("flushed")?, Some(b"1".to_vec()));
        assert_eq!(docs.get("unflushed")?, None);
        assert_eq!(docs.get("later")?, None);
        Ok(())
    }
}
