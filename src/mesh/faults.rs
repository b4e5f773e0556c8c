//! Faults injected into the sync messages a link carries: loss, delay and reordering, drawn
//! from a seeded generator so a run repeats exactly.
//!
//! Faults hit the sync messages, never the marker that ends a turn (the link's own
//! acknowledgement, which a real connection's retransmission stands for): a lost message
//! leaves the session to notice what it lacks, ask again, or stall and be started anew,
//! which is what a replica must survive, without every loss costing a timeout.

use std::time::Duration;

use serde::Serialize;

use crate::workload::Rng;

/// Which faults a link injects. By default, none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LinkFaults {
    /// The share of sync messages dropped, 0 to 1.
    pub loss: f64,
    /// The share held back and sent after the next message from the same side (or never,
    /// when no other follows in the session: then it counts as lost), 0 to 1.
    pub reorder: f64,
    /// How long every sync message waits before it is sent.
    #[serde(serialize_with = "millis")]
    pub delay: Duration,
    /// Seeds which messages are lost and held back.
    pub seed: u64,
}

impl LinkFaults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// `loss` and `reorder` shares, `delay` per message, drawn from `seed`.
    ///
    /// # Errors
    /// A share outside 0 to 1, naming it.
    pub fn new(loss: f64, reorder: f64, delay: Duration, seed: u64) -> Result<Self, String> {
        for (name, share) in [("loss", loss), ("reorder", reorder)] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} is {share}; it must be a share from 0 to 1"));
            }
        }
        Ok(LinkFaults {
            loss,
            reorder,
            delay,
            seed,
        })
    }

    /// Whether any fault is injected.
    pub fn any(&self) -> bool {
        self.loss > 0.0 || self.reorder > 0.0 || !self.delay.is_zero()
    }
}

fn millis<S: serde::Serializer>(delay: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(delay.as_secs_f64() * 1000.0)
}

/// The faults of one side of one session: its own generator, numbered by the session, so
/// what one link loses does not depend on how other links' sessions went, nor on which
/// process runs them.
pub(crate) struct Faults {
    spec: LinkFaults,
    rng: Rng,
    held: Option<Vec<u8>>,
    /// Messages dropped, and held back past the end of their session.
    pub(crate) lost: u64,
    /// Messages held back and sent after a later one.
    pub(crate) reordered: u64,
}

impl Faults {
    /// The faults `spec` describes for the side drawing from `stream` (see [`stream`]).
    pub(crate) fn new(spec: LinkFaults, stream: u64) -> Self {
        Faults {
            spec,
            rng: Rng::new(spec.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15), 0),
            held: None,
            lost: 0,
            reordered: 0,
        }
    }

    /// What goes on the wire now when `message` is sent: nothing (lost or held back), it,
    /// or it followed by the one held back before.
    pub(crate) fn outgoing(&mut self, message: Vec<u8>) -> Vec<Vec<u8>> {
        if !self.spec.any() {
            return vec![message];
        }
        if !self.spec.delay.is_zero() {
            std::thread::sleep(self.spec.delay);
        }
        // Both draws every time, so one fault's share does not shift the other's sequence.
        let (lose, hold) = (self.rng.unit(), self.rng.unit());
        if lose < self.spec.loss {
            self.lost += 1;
            return Vec::new();
        }
        if self.held.is_none() && hold < self.spec.reorder {
            self.held = Some(message);
            return Vec::new();
        }
        let mut out = vec![message];
        if let Some(late) = self.held.take() {
            self.reordered += 1;
            out.push(late);
        }
        out
    }

    /// The session is over: a message still held back is lost.
    pub(crate) fn end_session(&mut self) {
        if self.held.take().is_some() {
            self.lost += 1;
        }
    }
}

/// The fault stream of session `attempt` of the `round`th sync of link `a`–`b`, for the side
/// that starts it; the other side draws from the stream with the top bit set.
pub(crate) fn stream(a: usize, b: usize, sync: u64, attempt: u32) -> u64 {
    ((a as u64) << 56 | (b as u64) << 48 | (sync & 0xFFFF_FFFF) << 8 | u64::from(attempt & 0xFF))
        & !(1 << 63)
}

/// The stream of the side that answers a session started from `stream`.
pub(crate) fn answering(stream: u64) -> u64 {
    stream | 1 << 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_loses_the_same_messages() {
        let spec = LinkFaults::new(0.3, 0.3, Duration::ZERO, 9).expect("valid");
        let run = || {
            let mut faults = Faults::new(spec, 1);
            (0..200u8)
                .flat_map(|i| faults.outgoing(vec![i]))
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.len() < 180 && first.len() > 80, "{}", first.len());
        assert!(first.windows(2).any(|w| w[0] > w[1]), "some reordered");
        assert!(LinkFaults::new(1.5, 0.0, Duration::ZERO, 0).is_err());
    }
}
