//! What can go wrong carrying a message.

use std::fmt;
use std::time::Duration;

/// A transport failed to carry a message; the conversation over it cannot go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// The peer closed the connection: between messages (`received == 0` of a message not
    /// begun) or in the middle of one.
    Disconnected {
        /// Bytes of the unfinished message (length prefix included) that did arrive.
        received: usize,
        /// Bytes the message was announced to have; 0 when none was begun.
        expected: usize,
    },
    /// The peer announced a message larger than the transport accepts; nothing of it was
    /// read.
    TooLarge {
        /// The length announced.
        len: u64,
        /// The most this transport accepts.
        max: u64,
    },
    /// Nothing arrived, or a send did not complete, within the bound.
    TimedOut {
        /// The bound.
        waited: Duration,
        /// `"receiving"` or `"sending"`.
        doing: &'static str,
    },
    /// The operating system's error on the socket.
    Io(std::io::Error),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Disconnected {
                received: 0,
                expected: 0,
            } => write!(f, "the peer disconnected"),
            TransportError::Disconnected { received, expected } => write!(
                f,
                "the peer disconnected in the middle of a message ({received} of {expected} \
                 bytes arrived)"
            ),
            TransportError::TooLarge { len, max } => write!(
                f,
                "the peer announced a message of {len} bytes, more than the {max} accepted: \
                 it is not speaking this protocol, or the limit is too low"
            ),
            TransportError::TimedOut { waited, doing } => write!(
                f,
                "the peer stalled: nothing moved for {} ms while {doing}",
                waited.as_millis()
            ),
            TransportError::Io(_) => write!(f, "the socket failed"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransportError::Io(e) => Some(e),
            _ => None,
        }
    }
}
