//! `ReplicationError`: what fails when the Automerge backend takes a peer's changes or runs a
//! sync session. A refusal is the peer's doing and leaves this store as it was; a storage
//! failure underneath is carried whole, as the storage contract's [`Error`].

use std::fmt;

use super::{Error, Refusal};

/// Why changes from a peer, or a sync session with it, failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplicationError {
    /// Changes received from another replica were refused; none of them was stored.
    ChangeRefused {
        /// The collection holding the document.
        collection: String,
        /// The document's id.
        id: String,
        /// Why.
        reason: Refusal,
    },
    /// A sync message could not be read, or its peer went on past the session's bounds; nothing
    /// of the message was stored, and the session cannot go on (start a new one).
    Sync {
        /// What is wrong.
        detail: String,
    },
    /// The store failed underneath: reading what to send, or storing what was received. What
    /// it did to the database is as the storage error says.
    Store(Error),
}

impl fmt::Display for ReplicationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicationError::ChangeRefused {
                collection,
                id,
                reason,
            } => write!(
                f,
                "changes to document {id:?} in collection {collection:?} were refused, none \
                 stored: {reason}"
            ),
            ReplicationError::Sync { detail } => write!(
                f,
                "sync session failed, nothing of the message stored: {detail}; start a new \
                 session"
            ),
            ReplicationError::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ReplicationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The storage error is shown as this one: its source is this one's.
            ReplicationError::Store(error) => error.source(),
            _ => None,
        }
    }
}

impl From<Error> for ReplicationError {
    fn from(error: Error) -> Self {
        ReplicationError::Store(error)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_storage_failure_underneath_reads_as_itself() {
        let storage = Error::Storage(Box::new(std::io::Error::other("disk gone")));
        let text = storage.to_string();
        let replication = ReplicationError::from(storage);
        assert_eq!(replication.to_string(), text);
        let source = replication.source().expect("the storage error's source");
        assert_eq!(source.to_string(), "disk gone");
    }

    #[test]
    fn a_refusal_names_the_document_and_says_nothing_was_stored() {
        let refused = ReplicationError::ChangeRefused {
            collection: "cells".into(),
            id: "c-7".into(),
            reason: Refusal::Shape {
                detail: "puts a list".into(),
            },
        };
        let text = refused.to_string();
        assert!(
            text.contains("\"c-7\"") && text.contains("none stored"),
            "{text}"
        );
    }
}
