//! The bytes a sync session sends: who sends, in which session, which of the peer's messages it
//! has processed, and per document its heads and the changes the peer lacks.
//!
//! Layout (integers little-endian): the magic `SBSY`, a version byte, the sender's actor
//! (u32 length, bytes), the sender's session and the receiver's session as the sender knows it
//! (u128 each, 0 before the sender has heard from it), the message's number and the last of the
//! peer's numbers received with all before it (u32 each), a flags byte (bit 0: done, bit 1:
//! complete), then a u32
//! count of documents, each: collection and id (u32 length, UTF-8), a u32 count of heads of
//! 32 bytes, a u32 count of changes (u32 length, Automerge's bytes); last, the FNV-1a hash of
//! everything before it (u64), so that a message damaged in transit is refused whole.

use automerge::ChangeHash;

use super::super::checksum::fnv1a64;
use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"SBSY";
/// 2: with the checksum; 3: with both sides' sessions.
const VERSION: u8 = 3;
const CHECKSUM_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The sender's actor in its current open: who the peer is, and which of its opens.
    pub(crate) from: Vec<u8>,
    /// The sender's session: numbers and acknowledgements count within it alone.
    pub(crate) session: u128,
    /// The receiver's session this message answers; 0 in a first message sent before the
    /// sender heard from the receiver (only a first message can be sent then).
    pub(crate) to_session: u128,
    /// This message's number, from 1.
    pub(crate) seq: u32,
    /// Every message of the peer up to this number has been processed (0: none).
    pub(crate) ack: u32,
    /// The sender has nothing to send and holds the heads of every document in the messages it
    /// acknowledges.
    pub(crate) done: bool,
    /// The sender has finished: it needs no answer to this message.
    pub(crate) complete: bool,
    pub(crate) docs: Vec<DocEntry>,
}

/// One document: the sender's heads, and changes the receiver lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocEntry {
    pub(crate) collection: String,
    pub(crate) id: String,
    pub(crate) heads: Vec<ChangeHash>,
    /// Each an Automerge change's bytes, decoded only when applied.
    pub(crate) changes: Vec<Vec<u8>>,
}

impl Message {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_bytes(&mut out, &self.from);
        out.extend_from_slice(&self.session.to_le_bytes());
        out.extend_from_slice(&self.to_session.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.ack.to_le_bytes());
        out.push(u8::from(self.done) | u8::from(self.complete) << 1);
        put_len(&mut out, self.docs.len());
        for doc in &self.docs {
            put_bytes(&mut out, doc.collection.as_bytes());
            put_bytes(&mut out, doc.id.as_bytes());
            put_len(&mut out, doc.heads.len());
            for hash in &doc.heads {
                out.extend_from_slice(&hash.0);
            }
            put_len(&mut out, doc.changes.len());
            for change in &doc.changes {
                put_bytes(&mut out, change);
            }
        }
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a message; every malformation is an [`Error::Sync`] saying where.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Message> {
        let (bytes, sum) = bytes
            .split_at_checked(bytes.len().saturating_sub(CHECKSUM_LEN))
            .filter(|(_, sum)| sum.len() == CHECKSUM_LEN)
            .ok_or_else(|| malformed("shorter than its checksum"))?;
        if fnv1a64(bytes).to_le_bytes() != sum {
            return Err(malformed("its checksum does not match: damaged in transit"));
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(malformed(
                "it does not start with SBSY: not a storebench sync message",
            ));
        }
        let version = r.take(1)?[0];
        if version != VERSION {
            return Err(malformed(&format!(
                "version {version}, this storebench speaks {VERSION}"
            )));
        }
        let from = r.bytes()?.to_vec();
        let (session, to_session) = (r.u128()?, r.u128()?);
        let (seq, ack) = (r.u32()?, r.u32()?);
        let flags = r.take(1)?[0];
        if flags > 3 || seq == 0 {
            return Err(malformed("invalid flags or message number"));
        }
        // A sender sends nothing after its first message until it has heard from the peer.
        if session == 0 || (to_session == 0 && seq != 1) {
            return Err(malformed(
                "no session, or a later message naming no peer's session",
            ));
        }
        let mut docs = Vec::new();
        for _ in 0..r.count(8)? {
            let collection = r.text()?;
            let id = r.text()?;
            let heads = (0..r.count(32)?)
                .map(|_| Ok(ChangeHash(r.take(32)?.try_into().expect("32 bytes"))))
                .collect::<Result<Vec<_>>>()?;
            let changes = (0..r.count(4)?)
                .map(|_| r.bytes().map(<[u8]>::to_vec))
                .collect::<Result<Vec<_>>>()?;
            docs.push(DocEntry {
                collection,
                id,
                heads,
                changes,
            });
        }
        if r.at != bytes.len() {
            return Err(malformed("bytes after the last document"));
        }
        Ok(Message {
            from,
            session,
            to_session,
            seq,
            ack,
            done: flags & 1 != 0,
            complete: flags & 2 != 0,
            docs,
        })
    }
}

fn malformed(detail: &str) -> Error {
    Error::Sync {
        detail: format!("malformed message: {detail}"),
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).expect("a sync message holds fewer than 2^32 of anything");
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let taken = self
            .bytes
            .get(self.at..)
            .and_then(|rest| rest.get(..n))
            .ok_or_else(|| malformed(&format!("cut short at byte {}", self.at)))?;
        self.at += n;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("four bytes"),
        ))
    }

    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(
            self.take(16)?.try_into().expect("sixteen bytes"),
        ))
    }

    /// A count of items of at least `min_size` bytes each, no more than the bytes left hold:
    /// a damaged count never makes a large allocation.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.bytes.len() - self.at {
            return Err(malformed(&format!(
                "a count of {n} at byte {} runs past the end",
                self.at - 4
            )));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Result<String> {
        let at = self.at;
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| malformed(&format!("a name at byte {at} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            from: vec![7; 16],
            session: 11,
            to_session: 12,
            seq: 3,
            ack: 2,
            done: false,
            complete: false,
            docs: vec![DocEntry {
                collection: "cells".into(),
                id: "c1".into(),
                heads: vec![ChangeHash([1; 32]), ChangeHash([2; 32])],
                changes: vec![vec![1, 2, 3], vec![]],
            }],
        }
    }

    // Where fields start, after magic, version and actor: the two sessions, the message
    // number, the flags, the document count.
    const SESSION_AT: usize = 4 + 1 + 4 + 16;
    const TO_SESSION_AT: usize = SESSION_AT + 16;
    const SEQ_AT: usize = TO_SESSION_AT + 16;
    const FLAGS_AT: usize = SEQ_AT + 4 + 4;
    const COUNT_AT: usize = FLAGS_AT + 1;

    /// [`sample`] with `value` written at byte `at` under a checksum that matches, decoded:
    /// what a sender with a bug would send, not damage in transit.
    fn rewritten(at: usize, value: &[u8]) -> Result<Message> {
        let mut bytes = sample().encode();
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        bytes[at..at + value.len()].copy_from_slice(value);
        let sum = fnv1a64(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        Message::decode(&bytes)
    }

    #[test]
    fn a_message_reads_back_and_every_cut_or_extension_is_refused() {
        let bytes = sample().encode();
        assert_eq!(Message::decode(&bytes).expect("reads"), sample());
        for at in 0..bytes.len() {
            let err = Message::decode(&bytes[..at]).expect_err("cut short");
            assert!(matches!(err, Error::Sync { .. }), "{err}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Message::decode(&longer).is_err());
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(Message::decode(&damaged).is_err(), "byte {at} flipped");
        }
        // A count past the end, under a checksum that matches: refused without allocating;
        // and one document more than the bytes left could hold, at the least size of one.
        let left = bytes.len() - CHECKSUM_LEN - (COUNT_AT + 4);
        let one_more = u32::try_from(left / 8 + 1).expect("a small message");
        for count in [u32::MAX, one_more] {
            let err = rewritten(COUNT_AT, &count.to_le_bytes()).expect_err("a count past the end");
            assert!(
                err.to_string().contains("runs past the end"),
                "{count}: {err}"
            );
        }
    }

    /// A message number of 0, a flag bit no version sets, no session, or a message after the
    /// first naming no session of the receiver's is refused even when the checksum matches (a
    /// sender with a bug, not damage in transit); both flags and both sessions read back.
    #[test]
    fn fields_out_of_range_are_refused_under_a_matching_checksum() {
        let flagged = Message {
            done: true,
            complete: true,
            ..sample()
        };
        assert_eq!(Message::decode(&flagged.encode()).expect("reads"), flagged);
        assert_eq!(
            rewritten(SEQ_AT, &7u32.to_le_bytes())
                .expect("another number reads")
                .seq,
            7
        );
        for (what, at, value) in [
            ("message number 0", SEQ_AT, &0u32.to_le_bytes()[..]),
            ("flag bit 2", FLAGS_AT, &[4u8][..]),
        ] {
            let err = rewritten(at, value).expect_err(what);
            assert!(
                err.to_string().contains("invalid flags or message number"),
                "{what}: {err}"
            );
        }
        let read = rewritten(SESSION_AT, &u128::MAX.to_le_bytes()).expect("another session");
        assert_eq!((read.session, read.to_session), (u128::MAX, 12));
        let first = Message {
            seq: 1,
            to_session: 0,
            ..sample()
        };
        assert_eq!(
            Message::decode(&first.encode()).expect("a first message"),
            first
        );
        for (what, at, value) in [
            ("no session", SESSION_AT, 0u128),
            ("message 3 naming no session", TO_SESSION_AT, 0),
        ] {
            let err = rewritten(at, &value.to_le_bytes()).expect_err(what);
            assert!(err.to_string().contains("session"), "{what}: {err}");
        }
    }
}
