//! The TCP transport: length-prefixed frames on a socket, every read and write bounded.
//!
//! A frame is a 4-byte big-endian length and that many bytes. A length above the limit is
//! refused before anything of the body is read, and the body is taken in pieces as it comes,
//! so a peer speaking another protocol (or lying) costs four bytes, not an allocation of its
//! choosing. A frame begun must end within the timeout: a peer that trickles a byte at a time
//! is dropped as one that stalls.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{Transport, TransportError};

/// The largest message [`TcpTransport`] accepts by default: 64 MiB, well above a sync
/// message of thousands of documents' changes.
pub const MAX_FRAME: u32 = 64 << 20;

/// How much of a frame's body is taken at a time: its memory follows what arrived.
const PIECE: usize = 64 << 10;

/// A connection to one peer carrying whole messages.
pub struct TcpTransport {
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    max_frame: u32,
}

impl TcpTransport {
    /// Connects to `addr`, waiting at most `timeout` for the connection and then for each
    /// read and write.
    ///
    /// # Errors
    /// The peer refused or did not answer in time.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, TransportError> {
        let stream =
            TcpStream::connect_timeout(&addr, timeout).map_err(|e| io(e, timeout, "connecting"))?;
        Self::over(stream, timeout)
    }

    /// Carries messages over an accepted `stream`, each read and write bounded by `timeout`.
    ///
    /// # Errors
    /// The socket cannot be configured (it is already closed).
    pub fn over(stream: TcpStream, timeout: Duration) -> Result<Self, TransportError> {
        let peer = stream.peer_addr().map_err(TransportError::Io)?;
        // A zero timeout means "none" to the socket: never let it through.
        let bound = Some(timeout.max(Duration::from_millis(1)));
        stream.set_read_timeout(bound).map_err(TransportError::Io)?;
        stream
            .set_write_timeout(bound)
            .map_err(TransportError::Io)?;
        // Messages are whole conversations' turns: send each at once.
        stream.set_nodelay(true).map_err(TransportError::Io)?;
        Ok(TcpTransport {
            stream,
            peer,
            timeout,
            max_frame: MAX_FRAME,
        })
    }

    /// Accepts messages of at most `max` bytes. By default, [`MAX_FRAME`].
    pub fn max_frame(mut self, max: u32) -> Self {
        self.max_frame = max;
        self
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Reads exactly `buf` by `deadline`, telling a peer that left before (`done == 0`) from
    /// one that left in the middle.
    fn read_exact(
        &mut self,
        buf: &mut [u8],
        before: usize,
        expected: usize,
        deadline: Instant,
    ) -> Result<(), TransportError> {
        let mut done = 0;
        while done < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TransportError::TimedOut {
                    waited: self.timeout,
                    doing: "receiving",
                });
            }
            // A zero timeout means "none" to the socket: never let it through.
            (self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1)))))
            .map_err(TransportError::Io)?;
            match self.stream.read(&mut buf[done..]) {
                Ok(0) => {
                    return Err(TransportError::Disconnected {
                        received: before + done,
                        expected,
                    });
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e, self.timeout, "receiving")),
            }
        }
        Ok(())
    }
}

impl Transport for TcpTransport {
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let len = u32::try_from(message.len())
            .ok()
            .filter(|&len| len <= self.max_frame)
            .ok_or(TransportError::TooLarge {
                len: message.len() as u64,
                max: u64::from(self.max_frame),
            })?;
        let mut frame = Vec::with_capacity(4 + message.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(message);
        self.stream
            .write_all(&frame)
            .map_err(|e| io(e, self.timeout, "sending"))
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        let bound = Some(self.timeout.max(Duration::from_millis(1)));
        self.stream
            .set_read_timeout(bound)
            .map_err(TransportError::Io)?;
        let mut prefix = [0; 4];
        let mut got = 0;
        // The first byte decides between a clean end and a torn one.
        while got == 0 {
            match self.stream.read(&mut prefix) {
                Ok(0) => {
                    return Err(TransportError::Disconnected {
                        received: 0,
                        expected: 0,
                    });
                }
                Ok(n) => got = n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e, self.timeout, "receiving")),
            }
        }
        let deadline = Instant::now() + self.timeout;
        let mut rest = [0; 4];
        self.read_exact(&mut rest[..4 - got], got, 4, deadline)?;
        prefix[got..].copy_from_slice(&rest[..4 - got]);
        let len = u32::from_be_bytes(prefix);
        if len > self.max_frame {
            return Err(TransportError::TooLarge {
                len: u64::from(len),
                max: u64::from(self.max_frame),
            });
        }
        let (len, mut message) = (len as usize, Vec::new());
        while message.len() < len {
            let at = message.len();
            message.resize(len.min(at + PIECE), 0);
            self.read_exact(&mut message[at..], 4 + at, 4 + len, deadline)?;
        }
        Ok(message)
    }
}

/// A socket error, with the timeouts the operating system reports as `WouldBlock` (Unix) or
/// `TimedOut` (Windows) named as what they are.
fn io(e: std::io::Error, waited: Duration, doing: &'static str) -> TransportError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => TransportError::TimedOut { waited, doing },
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
            TransportError::Disconnected {
                received: 0,
                expected: 0,
            }
        }
        _ => TransportError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair(timeout: Duration) -> (TcpTransport, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("an address");
        let raw = TcpStream::connect(addr).expect("connects");
        let (accepted, _) = listener.accept().expect("accepts");
        (
            TcpTransport::over(accepted, timeout).expect("configures"),
            raw,
        )
    }

    #[test]
    fn frames_round_trip_and_bad_ones_are_named() {
        let (mut framed, mut raw) = pair(Duration::from_millis(200));
        raw.write_all(&[0, 0, 0, 3, b'a', b'b', b'c'])
            .expect("writes");
        assert_eq!(framed.receive().expect("a message"), b"abc");
        raw.write_all(&u32::MAX.to_be_bytes()).expect("writes");
        assert!(matches!(
            framed.receive(),
            Err(TransportError::TooLarge { .. })
        ));
        let err = framed.receive().expect_err("nothing sent");
        assert!(matches!(err, TransportError::TimedOut { .. }), "{err}");
        raw.write_all(&[0, 0, 0, 9, 1, 2]).expect("writes");
        drop(raw);
        let err = framed.receive().expect_err("torn");
        assert!(
            matches!(
                err,
                TransportError::Disconnected {
                    received: 6,
                    expected: 13
                }
            ),
            "{err:?}"
        );
    }

    /// A peer that sends a byte of a frame now and then, each within the timeout, is dropped
    /// once the frame has taken longer than it (were each read bounded alone, the frame would
    /// end torn when the peer gives up, two seconds on).
    #[test]
    fn a_frame_that_trickles_is_dropped_at_the_timeout() {
        let (mut framed, mut raw) = pair(Duration::from_millis(300));
        let trickle = std::thread::spawn(move || {
            raw.write_all(&[0, 0, 0, 100]).expect("writes");
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(100));
                if raw.write_all(&[7]).is_err() {
                    break;
                }
            }
        });
        let err = framed.receive().expect_err("a frame that never ends");
        assert!(matches!(err, TransportError::TimedOut { .. }), "{err}");
        drop(framed);
        trickle.join().expect("the trickle ends");
    }
}
