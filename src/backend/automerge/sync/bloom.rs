//! What a side holds of a document, in a few bytes a change: the changes it has beyond heads
//! the peer is known to hold, as a Bloom filter of their hashes. Sent where the peer's heads
//! are unknown here, it lets the peer send the changes this side lacks in its next message,
//! rather than all it has, or a round trip more.
//!
//! Ten bits a change and seven probes: about one change in a hundred reads as held when it is
//! not. The peer then sends every change that depends on one it sends, so what arrives always
//! applies; a change missed by a false positive leaves its heads unknown here, and this side
//! sends its summary again under another salt, whose false positives are others.

use std::collections::HashSet;

use automerge::{Change, ChangeHash};

const BITS_PER_CHANGE: usize = 10;
const PROBES: u32 = 7;

/// The changes a side holds beyond `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Have {
    /// Heads the side knows the peer holds: every change before them is held by both.
    pub(crate) since: Vec<ChangeHash>,
    /// The Bloom filter of the hashes of every change after `since`; empty when none.
    pub(crate) bloom: Vec<u8>,
    /// Picks the bits each hash sets: a summary sent again for the same changes uses another.
    pub(crate) salt: u32,
}

impl Have {
    /// The summary of `changes`, every change of the document after `since`.
    pub(crate) fn of(since: Vec<ChangeHash>, changes: &[Change], salt: u32) -> Have {
        let bits = (changes.len() * BITS_PER_CHANGE).div_ceil(8) * 8;
        let mut bloom = vec![0u8; bits / 8];
        for change in changes {
            for bit in probes(&change.hash(), bits, salt) {
                bloom[bit / 8] |= 1 << (bit % 8);
            }
        }
        Have { since, bloom, salt }
    }

    /// Whether the side may hold `hash`; `false` only when it does not.
    fn may_hold(&self, hash: &ChangeHash) -> bool {
        let bits = self.bloom.len() * 8;
        bits > 0
            && probes(hash, bits, self.salt).all(|bit| self.bloom[bit / 8] & (1 << (bit % 8)) != 0)
    }

    /// Of `changes` (in the order of their log, each after its dependencies), the ones the side
    /// lacks: those it does not hold, and every one that depends on one of those.
    pub(crate) fn lacked(&self, changes: Vec<Change>) -> Vec<Change> {
        let mut sent: HashSet<ChangeHash> = HashSet::new();
        changes
            .into_iter()
            .filter(|change| {
                let lacks = !self.may_hold(&change.hash())
                    || change.deps().iter().any(|dep| sent.contains(dep));
                if lacks {
                    sent.insert(change.hash());
                }
                lacks
            })
            .collect()
    }
}

/// The bits a hash sets in a filter of `bits` bits: the hash is SHA-256, so its first twelve
/// bytes are three independent numbers, each mixed with the salt, combined as enhanced double
/// hashing.
fn probes(hash: &ChangeHash, bits: usize, salt: u32) -> impl Iterator<Item = usize> {
    let salt = salt.wrapping_mul(0x9e37_79b9);
    let word = |at: usize| {
        let word = u32::from_le_bytes(hash.0[at..at + 4].try_into().expect("four bytes"));
        (word ^ salt).rotate_left(salt % 32) as usize
    };
    let (mut x, mut y, z) = (
        word(0) % bits.max(1),
        word(4) % bits.max(1),
        word(8) % bits.max(1),
    );
    (0..PROBES).map(move |_| {
        let bit = x;
        x = (x + y) % bits;
        y = (y + z) % bits;
        bit
    })
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn history(n: usize) -> Vec<Change> {
        let mut doc = AutoCommit::new();
        for i in 0..n {
            doc.put(ROOT, "data", i as i64).expect("puts");
            doc.commit();
        }
        doc.get_changes(&[])
    }

    #[test]
    fn a_side_holds_what_it_summed_and_lacks_most_of_the_rest() {
        let all = history(1_000);
        let (held, rest) = all.split_at(500);
        let have = Have::of(Vec::new(), held, 0);
        assert_eq!(have.bloom.len(), 500 * BITS_PER_CHANGE / 8);
        assert!(held.iter().all(|c| have.may_hold(&c.hash())));
        let false_positives = rest.iter().filter(|c| have.may_hold(&c.hash())).count();
        // About 1% expected; a bound well above it, so the test never flakes.
        assert!(false_positives < 25, "{false_positives} of 500");
        // Each change of the history depends on the one before: from the first the filter
        // says is not held, every one is sent (before it, a false positive keeps one back).
        let first = (rest.iter().position(|c| !have.may_hold(&c.hash()))).expect("one lacked");
        let lacked = have.lacked(all.clone());
        assert_eq!(lacked.len(), 500 - first);
        assert_eq!(lacked[0].hash(), rest[first].hash());
        assert!(Have::of(Vec::new(), &[], 0).lacked(all.clone()).len() == all.len());
        // Another salt, other false positives: rarely the same change twice.
        let resalted = Have::of(Vec::new(), held, 7);
        assert!(held.iter().all(|c| resalted.may_hold(&c.hash())));
        let both = (rest.iter())
            .filter(|c| have.may_hold(&c.hash()) && resalted.may_hold(&c.hash()))
            .count();
        assert!(
            both <= 2,
            "{both} of 500 are false positives under both salts"
        );
    }
}
