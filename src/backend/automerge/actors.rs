//! Which actors wrote a document, in 32 bytes kept in its heads: a Bloom filter, so that a
//! change from an actor new to the document (numbered 1 among its changes) is known to reuse
//! no number without reading the history.
//!
//! Each actor sets three of 256 bits. A bit clear means no actor that sets it wrote here; all
//! three set means perhaps, and the history is read to tell. With 30 actors about one new actor
//! in forty is a perhaps (each open of each replica writes as a new actor).

use automerge::ActorId;

use super::checksum::fnv1a64;

/// A set of actors that may give false positives, never false negatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActorFilter(pub(crate) [u8; ActorFilter::LEN]);

impl ActorFilter {
    /// Its encoded length.
    pub(crate) const LEN: usize = 32;
    /// No actor.
    pub(crate) const EMPTY: ActorFilter = ActorFilter([0; Self::LEN]);
    /// Every actor: a filter that holds more than its document is sound, one that holds less
    /// is not.
    #[cfg(test)]
    pub(crate) const FULL: ActorFilter = ActorFilter([0xff; Self::LEN]);

    /// The filter of `actors`.
    pub(crate) fn of<'a>(actors: impl IntoIterator<Item = &'a ActorId>) -> ActorFilter {
        actors
            .into_iter()
            .fold(Self::EMPTY, |filter, actor| filter.with(actor))
    }

    /// This filter with `actor` added.
    pub(crate) fn with(mut self, actor: &ActorId) -> ActorFilter {
        for bit in bits(actor) {
            self.0[usize::from(bit / 8)] |= 1 << (bit % 8);
        }
        self
    }

    /// Whether `actor` may have written here; `false` only when it has not.
    pub(crate) fn may_hold(&self, actor: &ActorId) -> bool {
        bits(actor)
            .iter()
            .all(|bit| self.0[usize::from(bit / 8)] & (1 << (bit % 8)) != 0)
    }

    /// Whether every actor `other` may hold, this one may too.
    pub(crate) fn covers(&self, other: &ActorFilter) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .all(|(mine, theirs)| mine & theirs == *theirs)
    }
}

/// The three bits an actor sets: its bytes hashed (FNV-1a, then mixed so that every bit of
/// the hash depends on every bit of the actor).
fn bits(actor: &ActorId) -> [u8; 3] {
    let mut h = fnv1a64(actor.to_bytes());
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let [a, b, c, ..] = h.to_le_bytes();
    [a, b, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_added_is_held_and_others_mostly_are_not() {
        let added: Vec<ActorId> = (0..30).map(|_| ActorId::random()).collect();
        let filter = ActorFilter::of(&added);
        assert!(added.iter().all(|a| filter.may_hold(a)));
        assert!(ActorFilter::FULL.may_hold(&ActorId::random()));
        assert!(!ActorFilter::EMPTY.may_hold(&added[0]));
        // One in forty expected; a fixed bound well above it, so the test never flakes.
        let strangers = (0..10_000)
            .filter(|_| filter.may_hold(&ActorId::random()))
            .count();
        assert!(strangers < 600, "{strangers} of 10,000 false positives");
        let fewer = ActorFilter::of(&added[..10]);
        assert!(filter.covers(&fewer) && !fewer.covers(&filter));
        assert!(ActorFilter::FULL.covers(&filter) && filter.covers(&ActorFilter::EMPTY));
    }
}
