//! Reading a byte encoding front to back: the one reader of the heads codec, the sync
//! message and Automerge's change chunks. Every read is `None` when the bytes are not there;
//! the caller says what that means for its format.

use automerge::ChangeHash;

/// The bytes not read yet, and how far into them the reader is.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Bytes read so far: where the next read starts.
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.rest().get(..n)?;
        self.at += n;
        Some(taken)
    }

    /// The next `N` bytes, as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (taken, _) = self.rest().split_first_chunk::<N>()?;
        self.at += N;
        Some(*taken)
    }

    pub(crate) fn u32_le(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64_le(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A change's hash: 32 bytes.
    pub(crate) fn hash(&mut self) -> Option<ChangeHash> {
        self.array().map(ChangeHash)
    }

    /// An unsigned LEB128 number of at most ten bytes, in any spelling (as Automerge reads
    /// its chunks).
    pub(crate) fn leb128(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, &byte) in self.rest().iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
            if byte & 0x80 == 0 {
                self.at += i + 1;
                return Some(value);
            }
        }
        None
    }

    /// An unsigned LEB128 number in its shortest spelling only, within 64 bits: another
    /// spelling of the same number is refused, so that an encoding has one form.
    pub(crate) fn leb128_shortest(&mut self) -> Option<u64> {
        let start = self.clone();
        let value = self.leb128()?;
        let read = &start.rest()[..self.at - start.at];
        let last = *read.last()?;
        let shortest = read.len() == 1 || last != 0;
        let within = read.len() < 10 || last <= 1;
        if shortest && within {
            Some(value)
        } else {
            *self = start;
            None
        }
    }

    /// Whether `count` items of at least `min_size` bytes each fit in the bytes left: a
    /// damaged count must never make a large allocation.
    pub(crate) fn holds(&self, count: u64, min_size: usize) -> bool {
        usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_mul(min_size))
            .is_some_and(|bytes| bytes <= self.rest().len())
    }
}

/// `value` as an unsigned LEB128 number, shortest spelling.
pub(crate) fn put_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_reads_what_it_writes_in_its_shortest_spelling() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut bytes = Vec::new();
            put_leb128(&mut bytes, value);
            assert_eq!(
                bytes.len(),
                (64 - value.leading_zeros() as usize).max(1).div_ceil(7)
            );
            bytes.push(9);
            let mut r = Reader::new(&bytes);
            assert_eq!(r.leb128_shortest(), Some(value), "{value}");
            assert_eq!(r.rest(), [9]);
            assert_eq!(Reader::new(&bytes).leb128(), Some(value), "{value}");
        }
    }

    #[test]
    fn leb128_refuses_what_is_cut_short_too_long_or_spelt_another_way() {
        for (what, bytes, lenient) in [
            ("cut short", &[0x80][..], None),
            ("never ends", &[0x80; 11][..], None),
            ("a longer spelling of 1", &[0x81, 0x00][..], Some(1)),
            (
                "past 64 bits",
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..],
                Some(u64::MAX >> 1),
            ),
        ] {
            let mut r = Reader::new(bytes);
            assert_eq!(r.leb128_shortest(), None, "{what}");
            assert_eq!(r.at(), 0, "{what}: a refused read reads nothing");
            assert_eq!(Reader::new(bytes).leb128(), lenient, "{what}");
        }
    }

    #[test]
    fn reads_past_the_end_are_none_and_read_nothing() {
        let mut r = Reader::new(&[1, 0, 0, 0, 2]);
        assert_eq!(r.u32_le(), Some(1));
        assert_eq!(r.u32_le(), None);
        assert_eq!(r.take(2), None);
        assert_eq!(r.at(), 4);
        assert!(r.holds(1, 1) && !r.holds(2, 1) && !r.holds(u64::MAX, 2));
        assert_eq!(r.take(1), Some(&[2][..]));
        assert!(r.rest().is_empty());
    }
}
