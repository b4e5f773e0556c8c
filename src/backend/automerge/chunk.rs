//! What Automerge's load checks of a change's bytes that its parse does not: the chunk
//! checksum. `Change::try_from` parses a chunk and hashes its data, but only a load compares
//! that hash with the checksum in the chunk's header, so a change damaged under a header that
//! still parses would be stored, and the document would no longer load.

use sha2::{Digest, Sha256};

/// The bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Whether `chunk` (a change's bytes, as stored) is one chunk whose header's checksum is the
/// one Automerge's load computes: the first four bytes of SHA-256 over the chunk type, the
/// data's length (LEB128) and the data.
pub(crate) fn checksum_matches(chunk: &[u8]) -> bool {
    // Magic, checksum and chunk type, then the data's length and the data.
    let Some((header, rest)) = chunk.split_first_chunk::<9>() else {
        return false;
    };
    let Some((len, data)) = leb128(rest) else {
        return false;
    };
    if header[..4] != MAGIC || u64::try_from(data.len()) != Ok(len) {
        return false;
    }
    // Automerge hashes the length as it encodes it, whatever encoding the header used.
    let mut hasher = Sha256::new();
    hasher.update([header[8]]);
    hasher.update(leb128_encoded(len));
    hasher.update(data);
    hasher.finalize()[..4] == header[4..8]
}

/// An unsigned LEB128 number at the start of `bytes`, and the bytes after it.
fn leb128(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (at, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * at as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, &bytes[at + 1..]));
        }
    }
    None
}

fn leb128_encoded(mut value: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
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

    #[test]
    fn leb128_reads_what_it_writes() {
        for value in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut bytes = leb128_encoded(value);
            bytes.push(9);
            assert_eq!(leb128(&bytes), Some((value, &[9u8][..])), "{value}");
        }
        assert_eq!(leb128(&[0x80; 11]), None, "too long");
        assert_eq!(leb128(&[0x80]), None, "cut short");
    }
}
