//! The bytes a sync session sends: in which session, which of the peer's messages it has
//! processed, who the sender is (until the peer has heard), and per document its heads and the
//! changes the peer lacks.
//!
//! Layout: the magic `SBSY`, a version byte, a flags byte (bit 0: done, bit 1: complete, bit 2:
//! the receiver's session follows, bit 3: the sender's identity follows), the sender's session
//! (u64, little-endian), the receiver's session as the sender knows it (u64, when bit 2 is
//! set), the message's number and the last of the peer's numbers received with all before it
//! (varints), the sender's replica (16 bytes) and incarnation (u64) when bit 3 is set, then a
//! varint count of documents, each: collection and id (varint length, UTF-8), a varint count of
//! heads of 32 bytes, a varint count of changes (varint length, Automerge's bytes), and a byte
//! saying whether what the sender holds follows (1: a varint count of heads of 32 bytes it
//! holds since, the Bloom filter of its changes after them, varint length and bytes, and the
//! filter's salt, a varint; see [`bloom`](super::bloom)); last, the 32-bit FNV-1a hash of everything before it, so that a
//! message damaged in transit is refused whole. Varints are LEB128: seven bits a byte, low
//! first.
//!
//! Every byte counts: a session in which nothing changed is five messages, 185 bytes in all.

use automerge::ChangeHash;

use super::super::bytes::{Reader, put_leb128};
use super::super::checksum::fnv1a32;
use super::bloom::Have;
use super::identity::{PeerKey, REPLICA_LEN};
use crate::ReplicationError;

const MAGIC: &[u8; 4] = b"SBSY";
/// 2: with the checksum; 3: with both sides' sessions; 4: compact, the sender's replica and
/// incarnation instead of its actor.
const VERSION: u8 = 4;
const CHECKSUM_LEN: usize = 4;

const DONE: u8 = 1;
const COMPLETE: u8 = 2;
const TO_SESSION: u8 = 4;
const HELLO: u8 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// Who the sender is: carried until the sender knows the peer has heard it (the peer has
    /// acknowledged its first message), and always in a first message.
    pub(crate) hello: Option<PeerKey>,
    /// The sender's session: numbers and acknowledgements count within it alone.
    pub(crate) session: u64,
    /// The receiver's session this message answers; 0 in a first message sent before the
    /// sender heard from the receiver (only a first message can be sent then).
    pub(crate) to_session: u64,
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

/// One document: the sender's heads, changes the receiver lacks, and perhaps what the sender
/// holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocEntry {
    pub(crate) collection: String,
    pub(crate) id: String,
    pub(crate) heads: Vec<ChangeHash>,
    /// Each an Automerge change's bytes, decoded only when applied.
    pub(crate) changes: Vec<Vec<u8>>,
    /// Sent where the sender does not know the receiver's heads: what to send it.
    pub(crate) have: Option<Have>,
}

impl Message {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let flags = [
            (self.done, DONE),
            (self.complete, COMPLETE),
            (self.to_session != 0, TO_SESSION),
            (self.hello.is_some(), HELLO),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, bit)| flags | bit);
        out.push(flags);
        out.extend_from_slice(&self.session.to_le_bytes());
        if self.to_session != 0 {
            out.extend_from_slice(&self.to_session.to_le_bytes());
        }
        put_leb128(&mut out, u64::from(self.seq));
        put_leb128(&mut out, u64::from(self.ack));
        if let Some(hello) = &self.hello {
            out.extend_from_slice(&hello.replica);
            out.extend_from_slice(&hello.incarnation.to_le_bytes());
        }
        put_leb128(&mut out, self.docs.len() as u64);
        for doc in &self.docs {
            put_bytes(&mut out, doc.collection.as_bytes());
            put_bytes(&mut out, doc.id.as_bytes());
            put_hashes(&mut out, &doc.heads);
            put_leb128(&mut out, doc.changes.len() as u64);
            for change in &doc.changes {
                put_bytes(&mut out, change);
            }
            match &doc.have {
                None => out.push(0),
                Some(have) => {
                    out.push(1);
                    put_hashes(&mut out, &have.since);
                    put_bytes(&mut out, &have.bloom);
                    put_leb128(&mut out, u64::from(have.salt));
                }
            }
        }
        let sum = fnv1a32(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a message; every malformation is a [`ReplicationError::Sync`] saying where.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Message, ReplicationError> {
        let (bytes, sum) = bytes
            .split_at_checked(bytes.len().saturating_sub(CHECKSUM_LEN))
            .filter(|(_, sum)| sum.len() == CHECKSUM_LEN)
            .ok_or_else(|| malformed("shorter than its checksum"))?;
        if fnv1a32(bytes).to_le_bytes() != sum {
            return Err(malformed("its checksum does not match: damaged in transit"));
        }
        let mut r = Fields(Reader::new(bytes));
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
        let flags = r.take(1)?[0];
        let session = r.u64()?;
        let to_session = if flags & TO_SESSION != 0 { r.u64()? } else { 0 };
        let (seq, ack) = (r.varint_u32()?, r.varint_u32()?);
        if flags > DONE | COMPLETE | TO_SESSION | HELLO || seq == 0 {
            return Err(malformed("invalid flags or message number"));
        }
        // A sender sends nothing after its first message until it has heard from the peer,
        // and names itself in its first.
        if session == 0
            || (flags & TO_SESSION != 0 && to_session == 0)
            || (to_session == 0 && seq != 1)
            || (seq == 1 && flags & HELLO == 0)
        {
            return Err(malformed(
                "no session, a later message naming no peer's session, or a first message \
                 naming no sender",
            ));
        }
        let hello = if flags & HELLO != 0 {
            let replica = r
                .take(REPLICA_LEN)?
                .try_into()
                .expect("the replica's length");
            let incarnation = r.u64()?;
            Some(PeerKey {
                replica,
                incarnation,
            })
        } else {
            None
        };
        let mut docs = Vec::new();
        // A document takes at least five bytes: its lengths, counts and marker, when all are
        // empty.
        for _ in 0..r.count(5)? {
            let collection = r.text()?;
            let id = r.text()?;
            let heads = r.hashes()?;
            let changes = (0..r.count(1)?)
                .map(|_| r.bytes().map(<[u8]>::to_vec))
                .collect::<Result<Vec<_>, ReplicationError>>()?;
            let have = match r.take(1)?[0] {
                0 => None,
                1 => Some(Have {
                    since: r.hashes()?,
                    bloom: r.bytes()?.to_vec(),
                    salt: r.varint_u32()?,
                }),
                _ => return Err(malformed("a document's summary marker is neither 0 nor 1")),
            };
            docs.push(DocEntry {
                collection,
                id,
                heads,
                changes,
                have,
            });
        }
        if !r.0.rest().is_empty() {
            return Err(malformed("bytes after the last document"));
        }
        Ok(Message {
            hello,
            session,
            to_session,
            seq,
            ack,
            done: flags & DONE != 0,
            complete: flags & COMPLETE != 0,
            docs,
        })
    }
}

fn malformed(detail: &str) -> ReplicationError {
    ReplicationError::Sync {
        detail: format!("malformed message: {detail}"),
    }
}

fn put_hashes(out: &mut Vec<u8>, hashes: &[ChangeHash]) {
    put_leb128(out, hashes.len() as u64);
    for hash in hashes {
        out.extend_from_slice(&hash.0);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_leb128(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cut_short(at: usize) -> ReplicationError {
    malformed(&format!("cut short at byte {at}"))
}

/// A message's fields, read in order; each read that fails says what and where.
struct Fields<'a>(Reader<'a>);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ReplicationError> {
        let at = self.0.at();
        self.0.take(n).ok_or_else(|| cut_short(at))
    }

    fn u64(&mut self) -> Result<u64, ReplicationError> {
        let at = self.0.at();
        self.0.u64_le().ok_or_else(|| cut_short(at))
    }

    /// A LEB128 number in its shortest spelling: another spelling of the same number is a
    /// malformation, so that a message has one encoding.
    fn varint(&mut self) -> Result<u64, ReplicationError> {
        let at = self.0.at();
        self.0
            .leb128_shortest()
            .ok_or_else(|| malformed(&format!("a malformed or cut-short number at byte {at}")))
    }

    fn varint_u32(&mut self) -> Result<u32, ReplicationError> {
        let at = self.0.at();
        u32::try_from(self.varint()?)
            .map_err(|_| malformed(&format!("a message number at byte {at} is out of range")))
    }

    /// A count of items of at least `min_size` bytes each, no more than the bytes left hold:
    /// a damaged count never makes a large allocation.
    fn count(&mut self, min_size: usize) -> Result<usize, ReplicationError> {
        let at = self.0.at();
        let n = self.varint()?;
        if !self.0.holds(n, min_size) {
            return Err(malformed(&format!(
                "a count of {n} at byte {at} runs past the end"
            )));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], ReplicationError> {
        let n = self.count(1)?;
        self.take(n)
    }

    fn hashes(&mut self) -> Result<Vec<ChangeHash>, ReplicationError> {
        (0..self.count(32)?)
            .map(|_| {
                let at = self.0.at();
                self.0.hash().ok_or_else(|| cut_short(at))
            })
            .collect()
    }

    fn text(&mut self) -> Result<String, ReplicationError> {
        let at = self.0.at();
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| malformed(&format!("a name at byte {at} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            hello: Some(PeerKey {
                replica: [7; REPLICA_LEN],
                incarnation: 9,
            }),
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
                have: Some(Have {
                    since: vec![ChangeHash([3; 32])],
                    bloom: vec![0xa5; 5],
                    salt: 300,
                }),
            }],
        }
    }

    // Where fields start in a message with both sessions: after magic and version, the
    // flags; the two sessions; the message number (one byte while it is under 128).
    const FLAGS_AT: usize = 5;
    const SESSION_AT: usize = FLAGS_AT + 1;
    const TO_SESSION_AT: usize = SESSION_AT + 8;
    const SEQ_AT: usize = TO_SESSION_AT + 8;

    /// `body` (a message without its checksum) under a checksum that matches, decoded: what a
    /// sender with a bug would send, not damage in transit.
    fn sealed(mut body: Vec<u8>) -> Result<Message, ReplicationError> {
        let sum = fnv1a32(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        Message::decode(&body)
    }

    fn body(message: &Message) -> Vec<u8> {
        let mut bytes = message.encode();
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        bytes
    }

    fn rewritten(at: usize, value: &[u8]) -> Result<Message, ReplicationError> {
        let mut bytes = body(&sample());
        bytes[at..at + value.len()].copy_from_slice(value);
        sealed(bytes)
    }

    #[test]
    fn a_message_reads_back_and_every_cut_or_extension_is_refused() {
        let bytes = sample().encode();
        assert_eq!(Message::decode(&bytes).expect("reads"), sample());
        for at in 0..bytes.len() {
            let err = Message::decode(&bytes[..at]).expect_err("cut short");
            assert!(matches!(err, ReplicationError::Sync { .. }), "{err}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Message::decode(&longer).is_err());
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(Message::decode(&damaged).is_err(), "byte {at} flipped");
        }
        // A document count past the end, under a checksum that matches: refused without
        // allocating; and one document more than the bytes left could hold.
        let empty = Message {
            docs: Vec::new(),
            ..sample()
        };
        let mut count_at = body(&empty);
        assert_eq!(count_at.pop(), Some(0), "the count is last");
        for count in [u64::MAX >> 1, 1] {
            let mut bytes = count_at.clone();
            put_leb128(&mut bytes, count);
            let err = sealed(bytes).expect_err("a count past the end");
            assert!(
                err.to_string().contains("runs past the end"),
                "{count}: {err}"
            );
        }
    }

    #[test]
    fn a_number_spelt_another_way_is_a_malformed_message() {
        for bytes in [&[0x81, 0x00][..], &[0x80; 11][..]] {
            let err = Fields(Reader::new(bytes)).varint().expect_err("refused");
            assert!(err.to_string().contains("at byte 0"), "{err}");
        }
    }

    /// A message number of 0, a flag bit no version sets, no session, a later message naming
    /// no session of the receiver's, or a first naming no sender is refused even when the
    /// checksum matches (a sender with a bug, not damage in transit); both flags and both
    /// sessions read back.
    #[test]
    fn fields_out_of_range_are_refused_under_a_matching_checksum() {
        let flagged = Message {
            done: true,
            complete: true,
            hello: None,
            ..sample()
        };
        assert_eq!(Message::decode(&flagged.encode()).expect("reads"), flagged);
        assert_eq!(
            rewritten(SEQ_AT, &[7]).expect("another number reads").seq,
            7
        );
        let flags = body(&sample())[FLAGS_AT];
        for (what, at, value) in [
            ("message number 0", SEQ_AT, &[0u8][..]),
            ("flag bit 4", FLAGS_AT, &[flags | 16][..]),
        ] {
            let err = rewritten(at, value).expect_err(what);
            assert!(
                err.to_string().contains("invalid flags or message number"),
                "{what}: {err}"
            );
        }
        let read = rewritten(SESSION_AT, &u64::MAX.to_le_bytes()).expect("another session");
        assert_eq!((read.session, read.to_session), (u64::MAX, 12));
        let first = Message {
            seq: 1,
            to_session: 0,
            ..sample()
        };
        assert_eq!(
            Message::decode(&first.encode()).expect("a first message"),
            first
        );
        let unnamed = Message {
            hello: None,
            ..first.clone()
        };
        for (what, bytes) in [
            ("no session", {
                let mut b = body(&sample());
                b[SESSION_AT..SESSION_AT + 8].fill(0);
                b
            }),
            ("a session flagged but 0", {
                let mut b = body(&sample());
                b[TO_SESSION_AT..TO_SESSION_AT + 8].fill(0);
                b
            }),
            (
                "message 3 naming no session",
                body(&Message {
                    to_session: 0,
                    ..sample()
                }),
            ),
            ("a first message naming no sender", body(&unnamed)),
        ] {
            let err = sealed(bytes).expect_err(what);
            assert!(err.to_string().contains("session"), "{what}: {err}");
        }
    }
}
