//! The link to one agent: framed requests out, the matching answer back, over any byte port.
//!
//! [`Link`] works over anything that is `Read + Write` whose reads time out (a serial port, the
//! master side of a pseudo-terminal, a socket with a read timeout). It numbers every request,
//! matches answers by `seq`, discards stale or garbled frames, and checks the answer against the
//! request with the protocol crate's pairing ([`Request::accept`]): [`Link::call`] is the one
//! place where a reply becomes a typed response or a [`ClientError`] naming the board and port.
//!
//! Frames are sent as `00 | frame`: the leading delimiter flushes any line noise the agent may
//! hold, so one burst of garbage never swallows the next request.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use wattevo_proto::{
    DELIMITER, DeviceToHost, Envelope, FrameDecoder, HostToDevice, ReplyError, Request, WireError, encode_frame,
};

use super::error::ClientError;

/// Where a link goes: used in every error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLabel {
    /// Board profile name (`sim`, `pi4b`).
    pub board: String,
    /// Port path (`/dev/ttyUSB0`, `/dev/pts/3`).
    pub port: String,
}

impl std::fmt::Display for LinkLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "board {} on {}", self.board, self.port)
    }
}

/// Byte counts of one link's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes written to the port, delimiters included.
    pub bytes_sent: u64,
    /// Bytes read from the port.
    pub bytes_received: u64,
    /// Well-formed answers whose `seq` matched no outstanding request (dropped).
    pub stale_frames: u64,
    /// Frames that failed COBS, CRC or decoding (dropped).
    pub bad_frames: u64,
}

/// Requests and answers over one port.
#[derive(Debug)]
pub struct Link<P> {
    port: P,
    label: LinkLabel,
    timeout: Duration,
    decoder: FrameDecoder,
    pending: VecDeque<Envelope<DeviceToHost>>,
    next_seq: u32,
    stats: LinkStats,
}

impl<P: Read + Write> Link<P> {
    /// A link over `port`; `timeout` bounds the wait for one ordinary answer. The port's own
    /// read timeout should be short (tens of milliseconds): the link loops until its deadline.
    pub fn new(port: P, label: LinkLabel, timeout: Duration) -> Self {
        Self {
            port,
            label,
            timeout,
            decoder: FrameDecoder::new(),
            pending: VecDeque::new(),
            next_seq: 1,
            stats: LinkStats::default(),
        }
    }

    /// The board and port.
    pub fn label(&self) -> &LinkLabel {
        &self.label
    }

    /// The wait for one ordinary answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Traffic so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Gives the port back (to reconnect a fresh link over it).
    pub fn into_port(self) -> P {
        self.port
    }

    /// Sends `request` and waits up to `timeout` for the answer with the same `seq`, which must
    /// be the request's own response (echoing its nonce, hash or index). An `Error` answer
    /// becomes [`ClientError::Agent`], or [`ClientError::ProtocolMismatch`] for a version
    /// mismatch; any other answer [`ClientError::Unexpected`].
    pub fn call<R: Request>(&mut self, request: R, timeout: Duration) -> Result<R::Response, ClientError> {
        let seq = self.send(request.clone().wrap(), R::NAME)?;
        let reply = self.wait_for(seq, R::NAME, timeout)?;
        request.accept(reply).map_err(|err| self.reply_error(R::NAME, err))
    }

    /// Writes raw bytes to the port (fault-injection tests and benchmarks).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.write_all(bytes, "raw bytes")
    }

    fn reply_error(&self, request: &'static str, err: ReplyError) -> ClientError {
        let link = self.label.to_string();
        match err {
            ReplyError::Refused(refusal) => match refusal.error {
                WireError::VersionMismatch { agent, host } => ClientError::ProtocolMismatch { link, agent, host },
                error => ClientError::Agent { link, request, error, detail: refusal.detail },
            },
            ReplyError::Unexpected(got) => ClientError::Unexpected { link, request, got: format!("{got:?}") },
        }
    }

    fn send(&mut self, msg: HostToDevice, name: &'static str) -> Result<u32, ClientError> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
        let frame = encode_frame(&Envelope { seq, msg }).map_err(|err| ClientError::Encode {
            link: self.label.to_string(),
            request: name,
            reason: err,
        })?;
        let mut wire = Vec::with_capacity(frame.len() + 1);
        wire.push(DELIMITER);
        wire.extend_from_slice(&frame);
        self.write_all(&wire, name)?;
        Ok(seq)
    }

    fn write_all(&mut self, bytes: &[u8], name: &'static str) -> Result<(), ClientError> {
        self.port.write_all(bytes).and_then(|()| self.port.flush()).map_err(|source| ClientError::Io {
            link: self.label.to_string(),
            request: name,
            source,
        })?;
        self.stats.bytes_sent += bytes.len() as u64;
        Ok(())
    }

    fn wait_for(&mut self, seq: u32, name: &'static str, timeout: Duration) -> Result<DeviceToHost, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            while let Some(envelope) = self.pending.pop_front() {
                if envelope.seq == seq {
                    return Ok(envelope.msg);
                }
                self.stats.stale_frames += 1;
                tracing::debug!(seq = envelope.seq, waiting_for = seq, "dropped a stale answer");
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    link: self.label.to_string(),
                    request: name,
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            self.read_some(&mut buf, name)?;
        }
    }

    fn read_some(&mut self, buf: &mut [u8], name: &'static str) -> Result<(), ClientError> {
        match self.port.read(buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(2)),
            Ok(n) => {
                self.stats.bytes_received += n as u64;
                for frame in self.decoder.feed::<DeviceToHost>(&buf[..n]) {
                    match frame {
                        Ok(envelope) => self.pending.push_back(envelope),
                        Err(err) => {
                            self.stats.bad_frames += 1;
                            tracing::debug!(%err, "dropped a bad frame from the agent");
                        }
                    }
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(source) => return Err(ClientError::Io { link: self.label.to_string(), request: name, source }),
        }
        Ok(())
    }
}
