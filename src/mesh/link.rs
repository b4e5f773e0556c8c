//! A sync session carried over a [`Transport`], turn by turn.
//!
//! The two sides take turns: in its turn a side sends every message its endpoint has, then a
//! marker ending the turn that says how many it sent and whether it is done. The session is
//! over after two turns in a row that sent nothing: neither side has anything more to say,
//! and each knows both sides' last word. Both done: the link is settled. Otherwise a message
//! went missing and the session stalled; it is dropped and a new one started (a session
//! never marks a document the peer was not shown, so a stalled one loses nothing).
//!
//! Each transport message is one frame: `M` and a sync message, or `E`, the count of
//! messages the turn sent (4 bytes, big-endian) and 1 when the sender is done. Between
//! processes the side that starts first sends `H` and the session's fault stream (8 bytes),
//! so both sides draw their faults as an in-process run of the same schedule does.

use std::fmt;

use super::faults::Faults;
use super::transport::{Transport, TransportError};
use crate::binding::{Received, SyncEndpoint};

/// Turns a session may take before it counts as endless: a session settles a document in
/// three messages per side, so a long one is a peer that never stops.
const MAX_TURNS: u32 = 128;
/// Messages one turn may send.
const MAX_PER_TURN: u32 = 64;
/// Sessions a link starts before it gives up on settling.
pub(crate) const MAX_ATTEMPTS: u32 = 16;

const MESSAGE: u8 = b'M';
const END: u8 = b'E';
const HELLO: u8 = b'H';

/// What one side of a link sent and applied.
#[derive(Debug, Default, Clone)]
pub(crate) struct Figures {
    /// Sync messages this side sent (the lost included), and their bytes.
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    /// Messages the peer's turns said they sent (its lost included), and the bytes of those
    /// that arrived.
    pub(crate) peer_messages: u64,
    pub(crate) received_bytes: u64,
    /// What each message received did.
    pub(crate) applied: Vec<Received>,
}

impl Figures {
    pub(crate) fn changes(&self) -> u64 {
        self.applied.iter().map(|r| r.changes).sum()
    }

    /// Messages both sides sent over the link.
    pub(crate) fn link_messages(&self) -> u64 {
        self.messages + self.peer_messages
    }

    /// Bytes both sides sent over the link (a message the peer lost not counted).
    pub(crate) fn link_bytes(&self) -> u64 {
        self.bytes + self.received_bytes
    }
}

/// One side of a session.
pub(crate) struct Side<'e, T> {
    endpoint: Box<dyn SyncEndpoint + 'e>,
    transport: T,
    pub(crate) figures: Figures,
    /// Turns in a row, either side's, that sent no message.
    quiet: u8,
    turns: u32,
    peer_done: bool,
}

impl<'e, T: Transport> Side<'e, T> {
    pub(crate) fn new(endpoint: Box<dyn SyncEndpoint + 'e>, transport: T) -> Self {
        Side {
            endpoint,
            transport,
            figures: Figures::default(),
            quiet: 0,
            turns: 0,
            peer_done: false,
        }
    }

    /// This side's turn: sends what the endpoint has, through `faults`, then the marker.
    pub(crate) fn speak(&mut self, faults: &mut Faults) -> Result<(), LinkFailure> {
        let mut sent = 0;
        while let Some(message) = self
            .endpoint
            .next_message()
            .map_err(|e| LinkFailure::Store(Box::new(e)))?
        {
            sent += 1;
            if sent > MAX_PER_TURN {
                return Err(LinkFailure::Endless {
                    what: format!("this side had more than {MAX_PER_TURN} messages in one turn"),
                });
            }
            self.figures.messages += 1;
            self.figures.bytes += message.len() as u64;
            for out in faults.outgoing(message) {
                let mut frame = Vec::with_capacity(1 + out.len());
                frame.push(MESSAGE);
                frame.extend_from_slice(&out);
                self.transport.send(&frame)?;
            }
        }
        let mut end = vec![END];
        end.extend_from_slice(&sent.to_be_bytes());
        end.push(u8::from(self.endpoint.is_done()));
        self.transport.send(&end)?;
        self.turn_taken(sent)
    }

    /// The peer's turn: applies every message until its marker.
    pub(crate) fn listen(&mut self) -> Result<(), LinkFailure> {
        // A turn holds at most MAX_PER_TURN messages, and a lossy link repeats some of them.
        for _ in 0..=2 * MAX_PER_TURN {
            let frame = self.transport.receive()?;
            match frame.split_first() {
                Some((&MESSAGE, message)) => {
                    self.figures.received_bytes += message.len() as u64;
                    let received = self
                        .endpoint
                        .receive(message)
                        .map_err(|e| LinkFailure::Refused(Box::new(e)))?;
                    self.figures.applied.push(received);
                }
                Some((&END, &[a, b, c, d, done])) if done <= 1 => {
                    self.peer_done = done == 1;
                    let sent = u32::from_be_bytes([a, b, c, d]);
                    self.figures.peer_messages += u64::from(sent);
                    return self.turn_taken(sent);
                }
                _ => {
                    return Err(LinkFailure::NotAFrame {
                        len: frame.len(),
                        first: frame.first().copied(),
                    });
                }
            }
        }
        Err(LinkFailure::Endless {
            what: format!(
                "the peer sent more than {} messages in one turn",
                2 * MAX_PER_TURN
            ),
        })
    }

    fn turn_taken(&mut self, sent: u32) -> Result<(), LinkFailure> {
        self.quiet = if sent == 0 { self.quiet + 1 } else { 0 };
        self.turns += 1;
        if self.turns > MAX_TURNS {
            return Err(LinkFailure::Endless {
                what: format!("the session went on past {MAX_TURNS} turns"),
            });
        }
        Ok(())
    }

    /// Starts a session between processes: tells the peer the session's fault stream.
    pub(crate) fn greet(&mut self, stream: u64) -> Result<(), LinkFailure> {
        let mut hello = vec![HELLO];
        hello.extend_from_slice(&stream.to_be_bytes());
        Ok(self.transport.send(&hello)?)
    }

    /// Answers a session between processes: the fault stream the peer named.
    pub(crate) fn greeted(&mut self) -> Result<u64, LinkFailure> {
        let frame = self.transport.receive()?;
        match frame.split_first() {
            Some((&HELLO, stream)) if stream.len() == 8 => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(stream);
                Ok(u64::from_be_bytes(bytes))
            }
            _ => Err(LinkFailure::NotAFrame {
                len: frame.len(),
                first: frame.first().copied(),
            }),
        }
    }

    /// `None` while the session goes on; then whether both sides settled (else it stalled).
    pub(crate) fn outcome(&self) -> Option<bool> {
        (self.quiet >= 2).then(|| self.endpoint.is_done() && self.peer_done)
    }

    /// Runs this side to the end of the session, speaking first when `first`.
    pub(crate) fn run(&mut self, first: bool, faults: &mut Faults) -> Result<bool, LinkFailure> {
        let result = self.run_turns(first, faults);
        faults.end_session();
        result
    }

    fn run_turns(&mut self, first: bool, faults: &mut Faults) -> Result<bool, LinkFailure> {
        if !first {
            self.listen()?;
        }
        loop {
            self.speak(faults)?;
            if let Some(settled) = self.outcome() {
                return Ok(settled);
            }
            self.listen()?;
            if let Some(settled) = self.outcome() {
                return Ok(settled);
            }
        }
    }
}

/// Carries one sync session of `endpoint` over a user's `transport` to `peer` (named in
/// errors), to its end: the side that `starts` speaks first (the other side must not). Whether both sides settled;
/// `false` means a message went missing and the session stalled: start another.
///
/// This is what the mesh runner does over [`channel_pair`](super::transport::channel_pair)
/// and [`TcpTransport`](super::transport::TcpTransport), for any other network.
///
/// # Errors
/// The transport's failure, a frame that is not one of a session, a message the store
/// refuses, or a session that will not end.
pub fn sync_over<T: Transport>(
    endpoint: Box<dyn SyncEndpoint + '_>,
    transport: T,
    peer: &str,
    starts: bool,
) -> Result<bool, LinkError> {
    let mut side = Side::new(endpoint, transport);
    let mut session = || {
        let stream = if starts {
            side.greet(0)?;
            0
        } else {
            side.greeted()?
        };
        let mut faults = Faults::new(super::faults::LinkFaults::none(), stream);
        side.run(starts, &mut faults)
    };
    session().map_err(|failure| LinkError {
        peer: peer.to_owned(),
        failure,
    })
}

/// Runs a session between two sides on one thread, `a` speaking first; whether it settled.
pub(crate) fn run_pair<T: Transport>(
    a: &mut Side<'_, T>,
    b: &mut Side<'_, T>,
    faults_a: &mut Faults,
    faults_b: &mut Faults,
) -> Result<bool, LinkFailure> {
    let result = (|| loop {
        a.speak(faults_a)?;
        b.listen()?;
        if let Some(settled) = b.outcome() {
            return Ok(settled);
        }
        b.speak(faults_b)?;
        a.listen()?;
        if let Some(settled) = a.outcome() {
            return Ok(settled);
        }
    })();
    faults_a.end_session();
    faults_b.end_session();
    result
}

/// A link failed: which peer, and what happened.
#[derive(Debug)]
pub struct LinkError {
    /// The peer, as the side that failed knows it (an address, or a replica's number).
    pub peer: String,
    /// What happened.
    pub failure: LinkFailure,
}

/// What made a link fail.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkFailure {
    /// The transport failed: the peer left, stalled or sent an oversized message.
    Transport(TransportError),
    /// A transport message that is no frame of a sync session.
    NotAFrame {
        /// Its length.
        len: usize,
        /// Its first byte, the frame's kind, if any.
        first: Option<u8>,
    },
    /// The store refused a message the peer sent (not a sync message, damaged, or a change
    /// it cannot take).
    Refused(Box<crate::Error>),
    /// The store failed preparing a message.
    Store(Box<crate::Error>),
    /// The session would not end.
    Endless {
        /// How.
        what: String,
    },
    /// Every session the link started stalled.
    Unsettled {
        /// Sessions started.
        attempts: u32,
    },
}

impl From<TransportError> for LinkFailure {
    fn from(e: TransportError) -> Self {
        LinkFailure::Transport(e)
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sync with {}: ", self.peer)?;
        match &self.failure {
            LinkFailure::Transport(_) => write!(f, "the transport failed"),
            LinkFailure::NotAFrame { len, first } => write!(
                f,
                "the peer sent a message of {len} bytes that is no frame of a sync session \
                 (kind {first:?}): it is not a replica of this kind, or a broken one"
            ),
            LinkFailure::Refused(_) => write!(f, "the store refused the peer's message"),
            LinkFailure::Store(_) => write!(f, "the store failed preparing a message"),
            LinkFailure::Endless { what } => write!(f, "{what}"),
            LinkFailure::Unsettled { attempts } => write!(
                f,
                "{attempts} sessions in a row stalled before settling: the link loses too \
                 many messages"
            ),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            LinkFailure::Transport(e) => Some(e),
            LinkFailure::Refused(e) | LinkFailure::Store(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}
