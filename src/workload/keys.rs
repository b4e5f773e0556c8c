//! Key names, and the insert counter that keeps readers off keys not inserted yet.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// How key numbers become ids (YCSB's `insertorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InsertOrder {
    /// `user` + YCSB's hash of the number: inserts land all over the id order.
    Hashed,
    /// `user` + the number: inserts append in id order when `zeropadding` covers its digits.
    Ordered,
}

/// FNV-1a over the eight little-endian bytes of `n`.
pub(crate) fn fnv64(n: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in n.to_le_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// YCSB's `Utils.fnvhash64`: FNV-1a read as a signed 64-bit number, then its absolute value
/// (which leaves `i64::MIN` negative, as Java's `Math.abs` does).
pub(crate) fn ycsb_hash(n: u64) -> i64 {
    (fnv64(n) as i64).wrapping_abs()
}

/// Writes the id of key number `n` into `out`, reusing its allocation: YCSB's `buildKeyName`,
/// `user` then the number (hashed unless `order` is ordered), left-padded with zeros to
/// `zero_padding` digits.
///
/// This runs once per operation, so it formats with `itoa` rather than `write!`: the runner's
/// own cost per operation is part of what it must keep small.
pub(crate) fn write_key(order: InsertOrder, zero_padding: usize, n: u64, out: &mut String) {
    let mut digits = itoa::Buffer::new();
    let formatted = match order {
        InsertOrder::Hashed => digits.format(ycsb_hash(n)),
        // Key numbers stay below 2^63: Java's `long`, and YCSB's, does not go further.
        InsertOrder::Ordered => digits.format(n),
    };
    out.clear();
    out.push_str("user");
    out.extend(std::iter::repeat_n(
        '0',
        zero_padding.saturating_sub(formatted.len()),
    ));
    out.push_str(formatted);
}

/// Hands out key numbers to inserts and tells readers how many are safe to read.
///
/// Inserts complete out of order across threads; a reader that picked any number below the
/// next insert number could pick one still in flight (a known go-ycsb bug). Readers instead
/// see [`readable`](Self::readable): the length of the prefix of numbers whose inserts all
/// completed, like YCSB's `AcknowledgedCounterGenerator`.
#[derive(Debug)]
pub(crate) struct KeySpace {
    next: AtomicU64,
    readable: AtomicU64,
    /// Numbers acknowledged above `readable`, waiting for the gap below them to close.
    ahead: Mutex<BTreeSet<u64>>,
    /// The `sequential` request distribution's position, shared by every thread as YCSB's
    /// one generator is.
    sequential: AtomicU64,
}

impl KeySpace {
    /// A key space whose first `loaded` numbers exist.
    pub(crate) fn new(loaded: u64) -> Self {
        Self {
            next: AtomicU64::new(loaded),
            readable: AtomicU64::new(loaded),
            ahead: Mutex::default(),
            sequential: AtomicU64::new(0),
        }
    }

    /// The next step of the `sequential` request distribution, counted over all threads.
    pub(crate) fn next_sequential(&self) -> u64 {
        self.sequential.fetch_add(1, Ordering::Relaxed)
    }

    /// How many key numbers, from 0, are certainly inserted.
    pub(crate) fn readable(&self) -> u64 {
        self.readable.load(Ordering::Acquire)
    }

    /// Claims the next number for an insert.
    pub(crate) fn claim(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Marks an insert as done (whether it succeeded or not: a failed insert must not stall
    /// the readable prefix forever).
    pub(crate) fn acknowledge(&self, n: u64) {
        let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        ahead.insert(n);
        let mut readable = self.readable.load(Ordering::Acquire);
        while ahead.remove(&readable) {
            readable += 1;
        }
        self.readable.store(readable, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_never_see_an_insert_in_flight() {
        let space = KeySpace::new(10);
        let (a, b, c) = (space.claim(), space.claim(), space.claim());
        assert_eq!((a, b, c), (10, 11, 12));
        space.acknowledge(c);
        space.acknowledge(b);
        assert_eq!(space.readable(), 10, "10 is still in flight");
        space.acknowledge(a);
        assert_eq!(space.readable(), 13);
    }

    /// Ids YCSB's `buildKeyName` gives for these numbers (its `Utils.fnvhash64`, `Math.abs`,
    /// `zeropadding`), worked by hand from the FNV-1a definition.
    #[test]
    fn key_names_are_ycsbs() {
        // FNV-1a of eight zero bytes is 0xa8c7f832281a39c5, negative as a long, so negated:
        // the id YCSB's BasicDB prints for key 0.
        assert_eq!(fnv64(0), 0xa8c7_f832_281a_39c5);
        let cases = [
            (InsertOrder::Hashed, 1, 0, "user6284781860667377211"),
            (InsertOrder::Hashed, 1, 1, "user8517097267634966620"),
            (InsertOrder::Hashed, 1, 1000, "user5952875239596136740"),
            (
                InsertOrder::Hashed,
                25,
                1000,
                "user0000005952875239596136740",
            ),
            (InsertOrder::Ordered, 1, 42, "user42"),
            (InsertOrder::Ordered, 10, 42, "user0000000042"),
            (InsertOrder::Ordered, 2, 12345, "user12345"),
        ];
        let mut id = String::new();
        for (order, padding, n, expected) in cases {
            write_key(order, padding, n, &mut id);
            assert_eq!(id, expected, "{order:?}, zeropadding {padding}, key {n}");
        }
        for n in 0..10_000 {
            write_key(InsertOrder::Hashed, 1, n, &mut id);
            assert!(!id[4..].starts_with('-'), "{id}");
        }
    }

    #[test]
    fn padded_ordered_keys_sort_like_their_numbers() {
        let (mut a, mut b) = (String::new(), String::new());
        write_key(InsertOrder::Ordered, 10, 9, &mut a);
        write_key(InsertOrder::Ordered, 10, 10, &mut b);
        assert!(a < b, "{a} {b}");
        write_key(InsertOrder::Ordered, 10, 12_345_678_901, &mut a);
        assert_eq!(a, "user12345678901");
    }
}
