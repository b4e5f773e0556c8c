//! Key names, and the insert counter that keeps readers off keys not inserted yet.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// How key numbers become ids (YCSB's `insertorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InsertOrder {
    /// `user` + the FNV-1a hash of the number: inserts land all over the id order.
    Hashed,
    /// `user` + the zero-padded number: inserts append in id order.
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

/// Writes the id of key number `n` into `out`, reusing its allocation.
///
/// This runs once per operation, so it formats with `itoa` rather than `write!`: the runner's
/// own cost per operation is part of what it must keep small.
pub(crate) fn write_key(order: InsertOrder, n: u64, out: &mut String) {
    let mut digits = itoa::Buffer::new();
    out.clear();
    out.push_str("user");
    match order {
        InsertOrder::Hashed => out.push_str(digits.format(fnv64(n))),
        InsertOrder::Ordered => {
            let formatted = digits.format(n);
            // Zero-padded to ten digits, so that id order is number order below 10^10.
            out.extend(std::iter::repeat_n(
                '0',
                10usize.saturating_sub(formatted.len()),
            ));
            out.push_str(formatted);
        }
    }
}

/// Hands out key numbers to inserts and tells readers how many are safe to read.
///
/// Inserts complete out of order across threads; a reader that picked any number below the
/// next insert number could pick one still in flight (a known go-ycsb bug). Readers instead
/// see [`readable`](Self::readable): the length of the prefix of numbers whose inserts all
/// completed, like YCSB's `AcknowledgedCounterGenerator`.
#[derive(Debug)]
pub struct KeySpace {
    next: AtomicU64,
    readable: AtomicU64,
    /// Numbers acknowledged above `readable`, waiting for the gap below them to close.
    ahead: Mutex<BTreeSet<u64>>,
}

impl KeySpace {
    /// A key space whose first `loaded` numbers exist.
    pub fn new(loaded: u64) -> Self {
        Self {
            next: AtomicU64::new(loaded),
            readable: AtomicU64::new(loaded),
            ahead: Mutex::default(),
        }
    }

    /// How many key numbers, from 0, are certainly inserted.
    pub fn readable(&self) -> u64 {
        self.readable.load(Ordering::Acquire)
    }

    /// Claims the next number for an insert.
    pub fn claim(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Marks an insert as done (whether it succeeded or not: a failed insert must not stall
    /// the readable prefix forever).
    pub fn acknowledge(&self, n: u64) {
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

    #[test]
    fn ordered_keys_sort_like_their_numbers() {
        let (mut a, mut b) = (String::new(), String::new());
        write_key(InsertOrder::Ordered, 9, &mut a);
        write_key(InsertOrder::Ordered, 10, &mut b);
        assert!(a < b, "{a} {b}");
        assert_eq!(a, "user0000000009");
        write_key(InsertOrder::Ordered, 12_345_678_901, &mut a);
        assert_eq!(a, "user12345678901");
        for n in [0, 9, 10, u64::MAX / 3] {
            write_key(InsertOrder::Hashed, n, &mut a);
            assert_eq!(a, format!("user{}", fnv64(n)));
        }
    }
}
