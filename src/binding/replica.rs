//! Replication through a binding: a store whose handle starts sync sessions is one the mesh
//! runner replicates, whatever the store is.

use crate::Result;

/// One side of a sync session between two open stores of one kind, exchanging byte messages
/// until both hold the same documents.
pub trait SyncEndpoint {
    /// The next message for the peer, or `None` while this side waits for one.
    ///
    /// # Errors
    /// The store's, reading what to send.
    fn next_message(&mut self) -> Result<Option<Vec<u8>>>;

    /// Takes a message from the peer and applies it.
    ///
    /// # Errors
    /// A message the store refuses, or a storage error; the session cannot go on.
    fn receive(&mut self, message: &[u8]) -> Result<Received>;

    /// Whether this side has settled: it holds what the peer showed it, and the peer holds
    /// what it offered.
    fn is_done(&self) -> bool;
}

/// What receiving one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Changes new to this store that it applied.
    pub changes: u64,
    /// Time spent applying them (not preparing the answer).
    pub applying: std::time::Duration,
}

/// Starts a sync session on a store, for [`Handle::replicating`](super::Handle::replicating).
pub type SyncFn<B> = for<'a> fn(&'a B) -> Box<dyn SyncEndpoint + 'a>;

#[cfg(feature = "automerge-backend")]
pub(crate) mod automerge {
    use super::{Received, SyncEndpoint};
    use crate::{AutomergeBackend, Error, ReplicationError, Result, SyncSession};

    /// A [`SyncSession`] with the backend it belongs to.
    pub(crate) struct Endpoint<'a> {
        backend: &'a AutomergeBackend,
        session: SyncSession,
    }

    pub(crate) fn start(backend: &AutomergeBackend) -> Box<dyn SyncEndpoint + '_> {
        Box::new(Endpoint {
            backend,
            session: backend.sync_session(),
        })
    }

    impl SyncEndpoint for Endpoint<'_> {
        fn next_message(&mut self) -> Result<Option<Vec<u8>>> {
            self.session
                .next_message(self.backend)
                .map_err(as_store_error)
        }

        fn receive(&mut self, message: &[u8]) -> Result<Received> {
            let before = self.session.stats();
            self.session
                .receive(self.backend, message)
                .map_err(as_store_error)?;
            let after = self.session.stats();
            Ok(Received {
                changes: after.changes_applied - before.changes_applied,
                applying: after.applying - before.applying,
            })
        }

        fn is_done(&self) -> bool {
            self.session.is_done()
        }
    }

    /// A replication failure as the binding API tells it: a storage failure as itself, a
    /// refusal or a broken session as the Automerge backend's own error, kept as the source.
    fn as_store_error(error: ReplicationError) -> Error {
        match error {
            ReplicationError::Store(error) => error,
            other => Error::backend("automerge", other),
        }
    }
}
