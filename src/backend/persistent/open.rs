//! Opening a database: telling a storebench file from anything else, and refusing what this
//! build cannot read.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, ReadableDatabase, ReadableTable, StorageBackend};

use super::store::Store;
use super::tables::{
    BACKEND_KEY, CHANGE_LOG, COLLECTIONS, COUNTS, CollectionId, FORMAT_VERSION, FORMAT_VERSION_KEY,
    HEADS, MAGIC, MAGIC_KEY, MATERIALIZED, META,
};
use crate::{Error, OpenOptions, Result};

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// A freshly opened store and the collections already in it.
pub(crate) struct Opened {
    pub(crate) store: Store,
    pub(crate) collections: BTreeMap<String, CollectionId>,
}

/// Opens (or creates) the database file at `path`.
pub(crate) fn open_path(
    path: &Path,
    options: &OpenOptions,
    backend: &'static str,
) -> Result<Opened> {
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_error)?;
    let storage = FileBackend::new(file).map_err(|e| database_error(e, Some(path)))?;
    open_storage(storage, options, backend, Some(path.to_owned()))
}

/// Opens (or creates) a database in any redb storage.
pub(crate) fn open_storage(
    storage: impl StorageBackend,
    options: &OpenOptions,
    backend: &'static str,
    path: Option<PathBuf>,
) -> Result<Opened> {
    check_header(&storage, &path)?;
    // redb trusts the pages of a cleanly closed file and can panic on one that was damaged
    // after it was written (with `check_integrity` it verifies them first). Opening is where
    // such damage is met, so a panic here is the file's fault and is reported as corruption.
    let opened = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<Opened> {
        let db = Builder::new()
            .set_cache_size(options.page_cache_bytes)
            .set_check_integrity_on_open(options.check_integrity)
            .create_with_backend(storage)
            .map_err(|e| database_error(e, path.as_deref()))?;
        check_or_initialise(&db, backend, &path)?;
        let collections = load_collections(&db, &path)?;
        Ok(Opened {
            store: Store::new(db, options),
            collections,
        })
    }));
    opened.unwrap_or_else(|panic| {
        let what =
            crate::error::panic_message(panic.as_ref()).unwrap_or_else(|| "unknown".to_owned());
        Err(Error::CorruptDatabase {
            path: path.clone(),
            detail: format!("the storage engine failed reading it ({what})"),
            source: None,
        })
    })
}

/// An empty storage becomes a new database; anything else must start like a redb file.
fn check_header(storage: &impl StorageBackend, path: &Option<PathBuf>) -> Result<()> {
    let len = storage
        .len()
        .map_err(|e| Error::Storage(Box::new(redb::Error::from(e))))?;
    if len == 0 {
        return Ok(());
    }
    let not_a_database = |reason: &str| Error::NotADatabase {
        path: path.clone(),
        reason: reason.into(),
    };
    if len < REDB_MAGIC.len() as u64 {
        return Err(not_a_database(
            "the file is too short to hold a database header",
        ));
    }
    let mut magic = [0; REDB_MAGIC.len()];
    storage
        .read(0, &mut magic)
        .map_err(|e| Error::Storage(Box::new(redb::Error::from(e))))?;
    if magic != REDB_MAGIC {
        return Err(not_a_database(
            "the file does not start with a database header",
        ));
    }
    Ok(())
}

fn database_error(e: DatabaseError, path: Option<&Path>) -> Error {
    let path = path.map(Path::to_owned);
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            Error::AlreadyOpen { path }
        }
        DatabaseError::UpgradeRequired(version) => Error::NotADatabase {
            path,
            reason: format!("it is a redb file of format {version}, which redb 4 does not open"),
        },
        DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => Error::CorruptDatabase {
            path,
            source: Some(Box::new(redb::Error::from(redb::StorageError::Corrupted(
                detail.clone(),
            )))),
            detail,
        },
        DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Error::CorruptDatabase {
                path,
                detail: "the file ends inside its header: it was truncated".into(),
                source: Some(Box::new(redb::Error::from(redb::StorageError::Io(e)))),
            }
        }
        other => Error::Storage(Box::new(redb::Error::from(other))),
    }
}

/// Checks that the database is a storebench database of a format and backend we read, or
/// makes an empty database one.
fn check_or_initialise(db: &Database, backend: &'static str, path: &Option<PathBuf>) -> Result<()> {
    let read = db.begin_read()?;
    let is_new = match read.open_table(META) {
        Ok(meta) => {
            check_meta(&meta, backend, path)?;
            false
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {
            if read.list_tables()?.next().is_some() {
                return Err(Error::NotADatabase {
                    path: path.clone(),
                    reason: "it is a redb database without storebench's tables".into(),
                });
            }
            true
        }
        Err(e) => return Err(e.into()),
    };
    drop(read);
    if is_new {
        initialise(db, backend)?;
    }
    Ok(())
}

fn check_meta(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    backend: &'static str,
    path: &Option<PathBuf>,
) -> Result<()> {
    let field =
        |key: &str| -> Result<Option<Vec<u8>>> { Ok(meta.get(key)?.map(|v| v.value().to_vec())) };
    if field(MAGIC_KEY)?.as_deref() != Some(MAGIC) {
        return Err(Error::NotADatabase {
            path: path.clone(),
            reason: "its metadata does not carry storebench's mark".into(),
        });
    }
    let corrupt = |detail: &str| Error::CorruptDatabase {
        path: path.clone(),
        detail: detail.into(),
        source: None,
    };
    let version = field(FORMAT_VERSION_KEY)?
        .and_then(|bytes| <[u8; 4]>::try_from(bytes.as_slice()).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| corrupt("the format version is missing or malformed"))?;
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.clone(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let found = field(BACKEND_KEY)?.ok_or_else(|| corrupt("the backend kind is missing"))?;
    if found != backend.as_bytes() {
        return Err(Error::WrongBackend {
            path: path.clone(),
            found: String::from_utf8_lossy(&found).into_owned(),
            expected: backend,
        });
    }
    Ok(())
}

/// Writes the metadata and creates every table, durably: a new database is a database from
/// the moment `open` returns.
fn initialise(db: &Database, backend: &'static str) -> Result<()> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(MAGIC_KEY, MAGIC)?;
        meta.insert(FORMAT_VERSION_KEY, FORMAT_VERSION.to_le_bytes().as_slice())?;
        meta.insert(BACKEND_KEY, backend.as_bytes())?;
        txn.open_table(COLLECTIONS)?;
        txn.open_table(COUNTS)?;
        txn.open_table(MATERIALIZED)?;
        txn.open_table(CHANGE_LOG)?;
        txn.open_table(HEADS)?;
    }
    txn.commit()?;
    Ok(())
}

fn load_collections(
    db: &Database,
    path: &Option<PathBuf>,
) -> Result<BTreeMap<String, CollectionId>> {
    let read = db.begin_read()?;
    let table = read.open_table(COLLECTIONS).map_err(|e| match e {
        redb::TableError::TableDoesNotExist(_) => Error::CorruptDatabase {
            path: path.clone(),
            detail: "the collections table is missing".into(),
            source: None,
        },
        other => other.into(),
    })?;
    let mut collections = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for entry in table.iter()? {
        let (name, id) = entry?;
        let id = id.value();
        // Ids are handed out from 0 upward and each names one collection; `u64::MAX` is never
        // handed out because scans bound a collection by `id + 1`.
        if id == u64::MAX || !ids.insert(id) {
            return Err(Error::CorruptDatabase {
                path: path.clone(),
                detail: format!("collection number {id} is invalid or used twice"),
                source: None,
            });
        }
        collections.insert(name.value().to_owned(), id);
    }
    Ok(collections)
}
