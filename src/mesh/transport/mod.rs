//! Transports: how one replica's sync messages reach another. A sync session is a
//! conversation of byte messages ([`SyncEndpoint`](crate::binding::SyncEndpoint)); a
//! transport carries them and nothing else, so a user's network is one small trait away.
//! The crate ships two: [`channel_pair`] within a process and [`TcpTransport`] over loopback
//! sockets between processes.

mod channel;
mod error;
mod tcp;

pub use channel::{ChannelTransport, channel_pair};
pub use error::TransportError;
pub use tcp::{MAX_FRAME, TcpTransport};

/// Carries byte messages to one peer and back, in order, each whole or not at all.
///
/// A message is opaque: the transport never looks inside. Every call is bounded in time: a
/// peer that stops answering is a [`TransportError::TimedOut`], never a hang.
pub trait Transport {
    /// Sends one message to the peer.
    ///
    /// # Errors
    /// The peer is gone, the message is larger than the transport carries, or sending did not
    /// finish in time.
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError>;

    /// The peer's next message, waiting for it up to the transport's bound.
    ///
    /// # Errors
    /// The peer left (before or in the middle of a message), sent something that is not a
    /// message of this transport, or sent nothing in time.
    fn receive(&mut self) -> Result<Vec<u8>, TransportError>;
}
