//! A change's bytes read as Automerge reads a chunk, for what its parse does not give cheaply:
//!
//! - the checksum, which only a load checks: `Change::try_from` parses a chunk and hashes its
//!   data, but only a load compares that hash with the checksum in the chunk's header, so a
//!   change damaged under a header that still parses would be stored, and the document would
//!   no longer load;
//! - a stored change's hash, actor, number and dependencies, without decoding its operations
//!   (`Change::try_from` verifies every column: tens of microseconds for a change of 1 KiB).

use automerge::{ActorId, ChangeHash};
use sha2::{Digest, Sha256};

use super::bytes::{Reader, put_leb128};

/// The bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of one change, uncompressed (as stored).
const CHANGE: u8 = 1;

/// Whether `chunk` (a change's bytes, as stored) is one chunk whose header's checksum is the
/// one Automerge's load computes: the first four bytes of SHA-256 over the chunk type, the
/// data's length (LEB128) and the data.
pub(crate) fn checksum_matches(chunk: &[u8]) -> bool {
    hashed(chunk).is_some_and(|read| read.hash.0[..4] == read.checksum)
}

/// What [`read_change`] reads of a stored change.
pub(crate) struct StoredChange {
    pub(crate) hash: ChangeHash,
    pub(crate) actor: ActorId,
    pub(crate) seq: u64,
    pub(crate) deps: Vec<ChangeHash>,
}

/// The hash, actor, number and dependencies of the change whose bytes are `chunk`; `None`
/// when it is not one change chunk (a compacted snapshot, say) or is cut short.
pub(crate) fn read_change(chunk: &[u8]) -> Option<StoredChange> {
    let read = hashed(chunk).filter(|read| read.chunk_type == CHANGE)?;
    // The data starts with the dependencies, the actor and the number.
    let mut data = Reader::new(read.data);
    let deps = (0..data.leb128()?)
        .map(|_| data.hash())
        .collect::<Option<Vec<_>>>()?;
    let actor_len = usize::try_from(data.leb128()?).ok()?;
    let actor = data.take(actor_len)?;
    let seq = data.leb128()?;
    Some(StoredChange {
        hash: read.hash,
        actor: ActorId::from(actor),
        seq,
        deps,
    })
}

/// A chunk split as Automerge's parse splits it, and hashed as it hashes it.
struct Hashed<'a> {
    checksum: [u8; 4],
    chunk_type: u8,
    data: &'a [u8],
    hash: ChangeHash,
}

fn hashed(chunk: &[u8]) -> Option<Hashed<'_>> {
    // Magic, checksum and chunk type, then the data's length and the data.
    let mut read = Reader::new(chunk);
    let header = read.array::<9>()?;
    let len = read.leb128()?;
    let data = read.rest();
    if header[..4] != MAGIC || u64::try_from(data.len()) != Ok(len) {
        return None;
    }
    // Automerge hashes the length as it encodes it, whatever encoding the header used.
    let mut hasher = Sha256::new();
    hasher.update([header[8]]);
    let mut encoded = Vec::with_capacity(10);
    put_leb128(&mut encoded, len);
    hasher.update(encoded);
    hasher.update(data);
    Some(Hashed {
        checksum: header[4..8].try_into().ok()?,
        chunk_type: header[8],
        data,
        hash: ChangeHash(hasher.finalize().into()),
    })
}

#[cfg(test)]
mod tests {
    use automerge::{ActorId, Change};

    use super::*;
    use crate::backend::automerge::heads::{Edit, next_change};

    /// A change as built matches; any one byte of it flipped does not, whether or not the
    /// flipped bytes still parse as a change (most do: Automerge's parse does not look).
    #[test]
    fn every_byte_of_a_change_is_under_its_checksum() {
        let change = next_change(None, &ActorId::random(), Edit::Put(vec![7; 200]));
        let bytes = change.raw_bytes();
        assert!(checksum_matches(bytes));
        let mut parsed = 0;
        for at in 0..bytes.len() {
            let mut damaged = bytes.to_vec();
            damaged[at] ^= 0x01;
            parsed += usize::from(Change::try_from(damaged.as_slice()).is_ok());
            assert!(!checksum_matches(&damaged), "byte {at} flipped");
        }
        assert!(
            parsed > bytes.len() / 2,
            "{parsed} of {} parse",
            bytes.len()
        );
        for cut in 0..bytes.len() {
            assert!(!checksum_matches(&bytes[..cut]), "cut at {cut}");
        }
        assert!(!checksum_matches(&[bytes, &[0]].concat()), "a byte more");
    }

    /// What a stored change's bytes say of it is what Automerge's parse says; a snapshot is
    /// not one change.
    #[test]
    fn a_stored_change_reads_as_automerge_parses_it() {
        let (a, b) = (ActorId::random(), ActorId::random());
        let first = next_change(None, &a, Edit::Put(vec![1; 300]));
        let mut doc = automerge::AutoCommit::new();
        doc.apply_changes([first.clone()]).expect("applies");
        let heads = crate::backend::automerge::heads::Heads::after_local(None, &first, 1, true);
        let second = next_change(Some(&heads), &b, Edit::Delete);
        for change in [&first, &second] {
            let read = read_change(change.raw_bytes()).expect("a change");
            assert_eq!(read.hash, change.hash());
            assert_eq!((&read.actor, read.seq), (change.actor_id(), change.seq()));
            assert_eq!(read.deps, change.deps());
        }
        assert!(read_change(&doc.save()).is_none(), "a snapshot");
        let bytes = second.raw_bytes();
        for cut in 0..bytes.len() {
            assert!(read_change(&bytes[..cut]).is_none(), "cut at {cut}");
        }
    }
}
