//! Who a replica is to its peers, across reopens: a replica number fixed when it first syncs,
//! and an incarnation that stays while nothing it told a peer can have been lost.
//!
//! What a peer records of this replica (the heads it holds of each document, see
//! [`held`](super::held)) stays true while this replica keeps every write it had when it said
//! so. A clean close keeps them all; a death may lose the unflushed ones. So a database is
//! marked as syncing, durably, before its first sync session says anything, and as closed in
//! the last commit of `close()`. An open that finds it syncing, not closed, comes after a death:
//! it takes a new incarnation, and every peer forgets what it recorded of the old one.
//!
//! An open that never syncs writes nothing: a death then loses only writes no peer was told of
//! in that open, and the incarnation it found stays true.

use std::sync::{Mutex, PoisonError};

use crate::Result;
use crate::backend::persistent::{META, Store};

/// The length of a replica's number.
pub(crate) const REPLICA_LEN: usize = 16;

const REPLICA_KEY: &str = "sync.replica";
const INCARNATION_KEY: &str = "sync.incarnation";
/// `SYNCING` from the first sync session of an open until its close writes `CLOSED`.
const STATE_KEY: &str = "sync.state";
const SYNCING: &[u8] = b"syncing";
const CLOSED: &[u8] = b"closed";

/// A replica as its peers know it: its number and its incarnation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PeerKey {
    pub(crate) replica: [u8; REPLICA_LEN],
    pub(crate) incarnation: u64,
}

impl PeerKey {
    /// The key a peer's records are kept under: its number, then its incarnation.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        [&self.replica[..], &self.incarnation.to_be_bytes()].concat()
    }

    /// The key [`to_bytes`](Self::to_bytes) made; `None` for any other bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<PeerKey> {
        let (replica, incarnation) = bytes.split_first_chunk::<REPLICA_LEN>()?;
        Some(PeerKey {
            replica: *replica,
            incarnation: u64::from_be_bytes(incarnation.try_into().ok()?),
        })
    }
}

/// This replica's identity in this open.
#[derive(Debug)]
pub(crate) struct Identity {
    me: PeerKey,
    /// Whether this open has marked the database as syncing.
    syncing: Mutex<bool>,
}

impl Identity {
    /// Reads the identity the database keeps: a new incarnation unless the last open that
    /// synced was closed; a new replica number if it never synced.
    pub(crate) fn load(store: &Store) -> Result<Identity> {
        let txn = store.read()?;
        let meta = txn.open_table(META)?;
        let field = |key: &str| -> Result<Option<Vec<u8>>> {
            Ok(meta.get(key)?.map(|v| v.value().to_vec()))
        };
        let replica = field(REPLICA_KEY)?
            .and_then(|bytes| <[u8; REPLICA_LEN]>::try_from(bytes.as_slice()).ok())
            .unwrap_or_else(random_replica);
        let closed = field(STATE_KEY)?.is_none_or(|state| state == CLOSED);
        let incarnation = field(INCARNATION_KEY)?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
            .map(u64::from_be_bytes)
            .filter(|_| closed)
            .unwrap_or_else(random_incarnation);
        Ok(Identity {
            me: PeerKey {
                replica,
                incarnation,
            },
            syncing: Mutex::new(false),
        })
    }

    pub(crate) fn me(&self) -> PeerKey {
        self.me
    }

    /// Marks the database as syncing, durably, once per open: call before a session says
    /// anything to a peer.
    pub(crate) fn begin_syncing(&self, store: &Store) -> Result<()> {
        let mut syncing = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        if *syncing {
            return Ok(());
        }
        store.write_alone(|txn| {
            let mut meta = txn.open_table(META)?;
            meta.insert(REPLICA_KEY, self.me.replica.as_slice())?;
            meta.insert(
                INCARNATION_KEY,
                self.me.incarnation.to_be_bytes().as_slice(),
            )?;
            meta.insert(STATE_KEY, SYNCING)?;
            Ok(())
        })?;
        store.flush()?;
        *syncing = true;
        Ok(())
    }

    /// Marks the database as closed, in the batch `close()` commits last, if this open synced.
    pub(crate) fn closing(&self, store: &Store) -> Result<()> {
        if !*self.syncing.lock().unwrap_or_else(PoisonError::into_inner) {
            return Ok(());
        }
        store.write(0, |txn, progress| {
            let mut meta = txn.open_table(META)?;
            progress.writing();
            meta.insert(STATE_KEY, CLOSED)?;
            Ok(())
        })
    }
}

fn random_replica() -> [u8; REPLICA_LEN] {
    let actor = automerge::ActorId::random();
    actor
        .to_bytes()
        .try_into()
        .expect("a random actor is 16 bytes")
}

fn random_incarnation() -> u64 {
    random_u64()
}

/// 64 random bits, from the generator Automerge draws its actors from.
pub(super) fn random_u64() -> u64 {
    let replica = random_replica();
    u64::from_le_bytes(replica[..8].try_into().expect("eight bytes"))
}
