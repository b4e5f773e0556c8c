//! Errors by who fails.
//!
//! [`Error`] is the storage contract's: what any store, built in or bound from outside,
//! returns from [`StorageBackend`](crate::StorageBackend) and
//! [`Collection`](crate::Collection). It names no engine: a store's own error is kept as a
//! source. The Automerge backend's replication has its own, [`ReplicationError`], for a
//! peer's changes refused and sync sessions broken; the harness has its own too
//! ([`WorkloadError`](crate::workload::WorkloadError), [`RunError`](crate::runner::RunError)).

use std::fmt;
use std::path::PathBuf;

#[cfg(feature = "automerge-backend")]
mod refusal;
#[cfg(feature = "automerge-backend")]
mod replication;

#[cfg(feature = "automerge-backend")]
pub use refusal::Refusal;
#[cfg(feature = "automerge-backend")]
pub use replication::ReplicationError;

/// A `Result` whose error is the storage contract's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a store: opening it, reading, writing, flushing, closing.
///
/// Each variant names the file, collection or document involved and says what to do about it.
/// The engine's own error (redb's, Automerge's, a bound store's) is kept whole and returned by
/// [`std::error::Error::source`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The database file could not be opened or created.
    Io {
        /// The file being opened.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another process (or another handle in this one) has the database open.
    AlreadyOpen {
        /// The database file, when the database lives in a file.
        path: Option<PathBuf>,
    },
    /// The file exists but is not a storebench database.
    NotADatabase {
        /// The database file, when the database lives in a file.
        path: Option<PathBuf>,
        /// What was found instead.
        reason: String,
    },
    /// The database was written by another backend kind (say, `redb` opened as `automerge`).
    WrongBackend {
        /// The database file, when the database lives in a file.
        path: Option<PathBuf>,
        /// The backend kind recorded in the file.
        found: String,
        /// The backend kind that tried to open it.
        expected: &'static str,
    },
    /// The file is in a format this build does not read: written by a newer storebench, or by
    /// an older one before a format change.
    UnsupportedFormat {
        /// The database file, when the database lives in a file.
        path: Option<PathBuf>,
        /// The format version stored in the file.
        found: u32,
        /// The format version this build reads and writes.
        supported: u32,
    },
    /// The database file is damaged: truncated, overwritten, or inconsistent with itself.
    CorruptDatabase {
        /// The database file, when the database lives in a file.
        path: Option<PathBuf>,
        /// What is wrong.
        detail: String,
        /// The storage engine's own report, when it found the damage.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// One document's stored state is damaged: it does not load, or does not hold a document
    /// this store wrote. The rest of the database may be sound.
    Corrupt {
        /// The collection holding the document.
        collection: String,
        /// The document's id.
        id: String,
        /// What is wrong with it.
        detail: String,
        /// The report of what refused the bytes (for the Automerge backend, Automerge's).
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The backend was closed; a collection handle kept past `close()` can no longer be used.
    Closed,
    /// An `EveryWrite` write shared its transaction with concurrent writers (group commit),
    /// and that transaction did not commit.
    GroupCommitAborted {
        /// Why the shared transaction did not commit.
        reason: String,
        /// `false` when another writer's write failed in it and it was aborted: none of this
        /// write was made, and retrying it is safe. `true` when its commit failed: as with
        /// [`Error::Storage`], the write may or may not be durable; reopen the database.
        may_be_durable: bool,
    },
    /// A write failed part-way through the open batch of `OnFlush` writes, which cannot lose
    /// one write alone: every write since the last successful flush was dropped, and every
    /// operation fails with this until the database is reopened, at the state of that flush.
    BatchLost {
        /// What failed.
        reason: String,
    },
    /// The storage engine failed: an I/O error, a full disk, or an earlier I/O failure that
    /// leaves the database unusable until it is reopened. A write that fails this way may or
    /// may not be durable (a failed flush leaves the state before it or after it). The
    /// engine's own error (for the built-in backends, redb's) is the source.
    Storage(Box<dyn std::error::Error + Send + Sync>),
    /// A store bound from outside this crate failed in a way none of the variants above
    /// names; its own error is the source.
    Backend {
        /// The binding's name.
        backend: String,
        /// What the store said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, .. } => write!(f, "cannot open database file {}", path.display()),
            Error::AlreadyOpen { path } => write!(
                f,
                "database {} is already open in another process or handle; close it first",
                describe(path)
            ),
            Error::NotADatabase { path, reason } => write!(
                f,
                "{} is not a storebench database ({reason}); pass the path of a database \
                 storebench created, or a new path",
                describe(path)
            ),
            Error::WrongBackend {
                path,
                found,
                expected,
            } => write!(
                f,
                "database {} was written by the `{found}` backend and cannot be opened as \
                 `{expected}`; open it with the `{found}` backend",
                describe(path)
            ),
            Error::UnsupportedFormat {
                path,
                found,
                supported,
            } if found > supported => write!(
                f,
                "database {} has format version {found}, but this storebench reads version \
                 {supported}; open it with a newer storebench",
                describe(path)
            ),
            Error::UnsupportedFormat {
                path,
                found,
                supported,
            } => write!(
                f,
                "database {} has format version {found}, from an older storebench; this one \
                 reads version {supported}: export it with the storebench that wrote it and \
                 load it again",
                describe(path)
            ),
            Error::CorruptDatabase { path, detail, .. } => write!(
                f,
                "database {} is corrupted: {detail}; restore it from a backup",
                describe(path)
            ),
            Error::Corrupt {
                collection,
                id,
                detail,
                ..
            } => write!(
                f,
                "document {id:?} in collection {collection:?} is corrupted: {detail}; delete it \
                 or restore the database from a backup"
            ),
            Error::GroupCommitAborted { reason, .. } => write!(
                f,
                "the transaction this write shared with concurrent writers did not commit: \
                 {reason}"
            ),
            Error::Closed => {
                write!(
                    f,
                    "the database was closed; open it again to use its collections"
                )
            }
            Error::BatchLost { reason } => write!(
                f,
                "the writes since the last flush were lost: {reason}; reopen the database, \
                 which holds the state of the last successful flush"
            ),
            Error::Storage(_) => write!(
                f,
                "the storage engine failed; a write that got this error may or may not be \
                 durable, and after an I/O error the database must be reopened to be used again"
            ),
            Error::Backend { backend, .. } => {
                write!(f, "the `{backend}` store failed")
            }
        }
    }
}

/// The text a panic carried: `panic!`'s literal or formatted message; `None` for a panic
/// with a payload of another type. The one reading of a payload, for every place that turns a
/// caught panic into a report or an error.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> Option<String> {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
}

/// An error and every cause behind it, on one line: `what: because: because`.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn describe(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "(in custom storage)".to_owned(),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Backend { source, .. } | Error::Storage(source) => Some(source.as_ref()),
            Error::CorruptDatabase {
                source: Some(source),
                ..
            }
            | Error::Corrupt {
                source: Some(source),
                ..
            } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl Error {
    /// Wraps the error of a store bound from outside this crate, keeping it as the source.
    pub fn backend(
        backend: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Backend {
            backend: backend.into(),
            source: source.into(),
        }
    }
}

// Every redb failure after open arrives through these conversions. They are crate-private in
// spirit: users see `Error::Storage`, with redb's error as its source.
#[cfg(feature = "redb-backend")]
macro_rules! storage_error_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::from_redb(e.into())
            }
        }
    )*};
}

#[cfg(feature = "redb-backend")]
impl Error {
    /// Damage redb finds while reading is the file's fault, not the machine's: it gets the
    /// variant that says so.
    fn from_redb(e: redb::Error) -> Self {
        match e {
            redb::Error::Corrupted(detail) => Error::CorruptDatabase {
                path: None,
                source: Some(Box::new(redb::Error::Corrupted(detail.clone()))),
                detail,
            },
            other => Error::Storage(Box::new(other)),
        }
    }
}
#[cfg(feature = "redb-backend")]
storage_error_from!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError,
    redb::CompactionError
);

#[cfg(all(test, feature = "automerge-backend"))]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn corrupt_names_collection_and_id() {
        let e = Error::Corrupt {
            collection: "cells".into(),
            id: "c-7".into(),
            detail: "bad chunk".into(),
            source: None,
        };
        let text = e.to_string();
        assert!(
            text.contains("\"cells\"") && text.contains("\"c-7\""),
            "{text}"
        );
    }

    #[test]
    fn storage_errors_keep_their_source_and_damage_is_corruption() {
        let e = Error::from(redb::StorageError::Io(std::io::Error::other("disk gone")));
        assert!(matches!(e, Error::Storage(_)), "{e:?}");
        assert!(
            e.source()
                .expect("a source")
                .to_string()
                .contains("disk gone")
        );
        let e = Error::from(redb::StorageError::Corrupted("page 3".into()));
        assert!(
            matches!(&e, Error::CorruptDatabase { detail, .. } if detail == "page 3"),
            "{e:?}"
        );
        assert!(e.source().expect("a source").to_string().contains("page 3"));
    }
}
