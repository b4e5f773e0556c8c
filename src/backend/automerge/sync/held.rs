//! What each peer holds, kept in the database so that it survives a reopen: per peer and
//! document, heads the peer was known to hold when a session with it last completed.
//!
//! A record is a lower bound: the peer holds those heads and every change before them, perhaps
//! more. It stays true while the peer keeps its incarnation (see [`identity`](super::identity));
//! the records of any other incarnation of the peer are dropped when it shows a new one. A
//! record lost in a crash of this replica leaves an older, smaller one: this replica then
//! offers more than it needs to, never less.

use std::collections::HashMap;

use automerge::ChangeHash;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::identity::PeerKey;
use super::journal::DocKey;
use crate::Result;
use crate::backend::persistent::CollectionId;

/// A peer's replica number → the incarnation its records belong to.
const PEERS: TableDefinition<&[u8], u64> = TableDefinition::new("storebench.sync_peers");

/// (peer's replica number, collection, document id) → heads the peer holds, 32 bytes each.
const HELD: TableDefinition<(&[u8], CollectionId, &str), &[u8]> =
    TableDefinition::new("storebench.sync_held");

/// The heads `peer` is known to hold, per document; empty when nothing is recorded of this
/// incarnation of it.
pub(crate) fn read(
    txn: &redb::ReadTransaction,
    peer: &PeerKey,
) -> Result<HashMap<DocKey, Vec<ChangeHash>>> {
    let mut held = HashMap::new();
    if !recorded(txn, peer)? {
        return Ok(held);
    }
    for (doc, heads) in of_replica(&txn.open_table(HELD)?, &peer.replica)? {
        held.insert(doc, hashes(&heads));
    }
    Ok(held)
}

/// The heads `peer` is known to hold of one document, if recorded of this incarnation of it.
pub(crate) fn read_doc(
    txn: &redb::ReadTransaction,
    peer: &PeerKey,
    (collection, id): &DocKey,
) -> Result<Option<Vec<ChangeHash>>> {
    if !recorded(txn, peer)? {
        return Ok(None);
    }
    let table = txn.open_table(HELD)?;
    let heads = table.get((peer.replica.as_slice(), *collection, id.as_str()))?;
    Ok(heads.map(|h| hashes(h.value())))
}

/// Whether the records of `peer`'s replica are of this incarnation of it.
fn recorded(txn: &redb::ReadTransaction, peer: &PeerKey) -> Result<bool> {
    match txn.open_table(PEERS) {
        Ok(peers) => {
            let incarnation = peers.get(peer.replica.as_slice())?.map(|v| v.value());
            Ok(incarnation == Some(peer.incarnation))
        }
        // A database that never completed a session.
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records that `peer` holds each document at its heads, dropping what was recorded of its
/// other incarnations.
pub(crate) fn record(
    txn: &WriteTransaction,
    peer: &PeerKey,
    docs: &[(DocKey, Vec<ChangeHash>)],
) -> Result<()> {
    let mut peers = txn.open_table(PEERS)?;
    let mut table = txn.open_table(HELD)?;
    let known = peers.get(peer.replica.as_slice())?.map(|v| v.value());
    if known != Some(peer.incarnation) {
        for ((collection, id), _) in of_replica(&table, &peer.replica)? {
            table.remove((peer.replica.as_slice(), collection, id.as_str()))?;
        }
        peers.insert(peer.replica.as_slice(), peer.incarnation)?;
    }
    for ((collection, id), heads) in docs {
        let bytes: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
        table.insert(
            (peer.replica.as_slice(), *collection, id.as_str()),
            bytes.as_slice(),
        )?;
    }
    Ok(())
}

/// Every record of a peer's replica, whatever its incarnation: each document and its heads'
/// bytes.
fn of_replica(
    table: &impl ReadableTable<(&'static [u8], CollectionId, &'static str), &'static [u8]>,
    replica: &[u8],
) -> Result<Vec<(DocKey, Vec<u8>)>> {
    let mut records = Vec::new();
    for entry in table.range((replica, 0, "")..)? {
        let (key, heads) = entry?;
        let (of, collection, id) = key.value();
        if of != replica {
            break;
        }
        records.push(((collection, id.to_owned()), heads.value().to_vec()));
    }
    Ok(records)
}

fn hashes(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|h| ChangeHash(h.try_into().expect("32 bytes")))
        .collect()
}
