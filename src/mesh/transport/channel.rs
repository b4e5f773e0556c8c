//! The in-process transport: two queues, one each way.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use super::{Transport, TransportError};

/// One end of an in-process pair made by [`channel_pair`].
pub struct ChannelTransport {
    outgoing: Sender<Vec<u8>>,
    incoming: Receiver<Vec<u8>>,
    timeout: Duration,
}

/// Two connected ends: what one sends, the other receives. A `receive` waits at most
/// `timeout` (both ends may live on one thread, which then must send before it receives).
pub fn channel_pair(timeout: Duration) -> (ChannelTransport, ChannelTransport) {
    let (a_out, b_in) = channel();
    let (b_out, a_in) = channel();
    (
        ChannelTransport {
            outgoing: a_out,
            incoming: a_in,
            timeout,
        },
        ChannelTransport {
            outgoing: b_out,
            incoming: b_in,
            timeout,
        },
    )
}

impl Transport for ChannelTransport {
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.outgoing
            .send(message.to_vec())
            .map_err(|_| TransportError::Disconnected {
                received: 0,
                expected: 0,
            })
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        self.incoming
            .recv_timeout(self.timeout)
            .map_err(|e| match e {
                RecvTimeoutError::Timeout => TransportError::TimedOut {
                    waited: self.timeout,
                    doing: "receiving",
                },
                RecvTimeoutError::Disconnected => TransportError::Disconnected {
                    received: 0,
                    expected: 0,
                },
            })
    }
}
