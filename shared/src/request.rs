//! Typed request/response pairing: which [`DeviceToHost`] variant answers which request.
//!
//! Every `*Request` struct implements [`Request`], naming its response type, so a client sends a
//! request and gets back that request's own response type, or a [`ReplyError`]. The pairing is
//! written down here once, for both sides, instead of in every client method:
//!
//! | request | `HostToDevice` variant | response | `DeviceToHost` variant | reply must echo |
//! | --- | --- | --- | --- | --- |
//! | [`HelloRequest`] | `Hello` | [`HelloResponse`] | `Hello` | — |
//! | [`PingRequest`] | `Ping` | [`PingResponse`] | `Pong` | `nonce` |
//! | [`UploadBeginRequest`] | `UploadBegin` | [`UploadStatusResponse`] | `UploadStatus` | `hash` |
//! | [`UploadChunkRequest`] | `UploadChunk` | [`ChunkAckResponse`] | `ChunkAck` | `hash`, `index` |
//! | [`UploadCommitRequest`] | `UploadCommit` | [`CommittedResponse`] | `Committed` | `hash` |
//! | [`MeasureRequest`] | `Measure` | [`Measurement`] | `Measurement` | `hash` |
//! | [`ReadSensorRequest`] | `ReadSensor` | [`SensorReadingResponse`] | `SensorReading` | — |
//! | [`ExplainRequest`] | `Explain` | [`Explanation`] | `Explanation` | `hash` |
//! | [`CalibrateRequest`] | `Calibrate` | [`CalibrationReport`] | `Calibration` | — |
//!
//! Any request may instead be answered by `DeviceToHost::Error` ([`ReplyError::Refused`]).
//! Sequence numbers are not part of this: they belong to the link that carries the messages.
//!
//! ```
//! use wattevo_proto::{DeviceToHost, PingRequest, PingResponse, ReplyError, Request};
//!
//! let ping = PingRequest { nonce: 7 };
//! assert_eq!(ping.wrap().name(), PingRequest::NAME);
//! let pong = DeviceToHost::Pong(PingResponse { nonce: 7 });
//! assert_eq!(ping.accept(pong), Ok(PingResponse { nonce: 7 }));
//! let stale = DeviceToHost::Pong(PingResponse { nonce: 8 });
//! assert!(matches!(ping.accept(stale), Err(ReplyError::Unexpected(_))));
//! ```

use alloc::boxed::Box;

use crate::message::{
    ChunkAckResponse, CommittedResponse, DeviceToHost, ErrorResponse, HelloRequest, HelloResponse, HostToDevice,
    MeasureRequest, Measurement, PingRequest, PingResponse, ReadSensorRequest, SensorReadingResponse,
    UploadBeginRequest, UploadChunkRequest, UploadCommitRequest, UploadStatusResponse,
};
use crate::twin::{CalibrateRequest, CalibrationReport, ExplainRequest, Explanation};

/// A reply that is not the response a request expects.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The agent refused the request with `DeviceToHost::Error`.
    Refused(ErrorResponse),
    /// Another variant, or the right variant for another request (its echo does not match).
    Unexpected(Box<DeviceToHost>),
}

/// A request the host can send, paired with the response that answers it.
pub trait Request: Clone {
    /// What answers this request.
    type Response: core::fmt::Debug;
    /// The request's name, equal to [`HostToDevice::name`] of the wrapped message.
    const NAME: &'static str;

    /// The message carrying this request.
    fn wrap(self) -> HostToDevice;

    /// The message carrying a response to this kind of request.
    fn wrap_response(response: Self::Response) -> DeviceToHost;

    /// The response inside `reply`, or `reply` itself when it holds another variant.
    fn unwrap_response(reply: DeviceToHost) -> Result<Self::Response, Box<DeviceToHost>>;

    /// True when `response` answers this very request (it echoes the nonce, hash or index sent).
    fn is_answered_by(&self, response: &Self::Response) -> bool {
        let _ = response;
        true
    }

    /// Checks that `reply` answers this request and returns its response.
    fn accept(&self, reply: DeviceToHost) -> Result<Self::Response, ReplyError> {
        match Self::unwrap_response(reply) {
            Ok(response) if self.is_answered_by(&response) => Ok(response),
            Ok(response) => Err(ReplyError::Unexpected(Box::new(Self::wrap_response(response)))),
            Err(other) => match *other {
                DeviceToHost::Error(refusal) => Err(ReplyError::Refused(refusal)),
                _ => Err(ReplyError::Unexpected(other)),
            },
        }
    }
}

/// `pair!(Request: HostVariant => Response: DeviceVariant, |request, response| echo check)`.
macro_rules! pair {
    ($request:ident: $ask:ident => $response:ident: $answer:ident $(, |$req:ident, $resp:ident| $echo:expr)?) => {
        impl Request for $request {
            type Response = $response;
            const NAME: &'static str = stringify!($ask);

            fn wrap(self) -> HostToDevice {
                HostToDevice::$ask(self)
            }

            fn wrap_response(response: $response) -> DeviceToHost {
                DeviceToHost::$answer(response)
            }

            fn unwrap_response(reply: DeviceToHost) -> Result<$response, Box<DeviceToHost>> {
                match reply {
                    DeviceToHost::$answer(response) => Ok(response),
                    other => Err(Box::new(other)),
                }
            }

            $(
                fn is_answered_by(&self, response: &$response) -> bool {
                    let ($req, $resp) = (self, response);
                    $echo
                }
            )?
        }
    };
}

pair!(HelloRequest: Hello => HelloResponse: Hello);
pair!(PingRequest: Ping => PingResponse: Pong, |request, pong| pong.nonce == request.nonce);
pair!(UploadBeginRequest: UploadBegin => UploadStatusResponse: UploadStatus,
    |request, status| status.hash == request.hash);
pair!(UploadChunkRequest: UploadChunk => ChunkAckResponse: ChunkAck,
    |request, ack| ack.hash == request.hash && ack.index == request.index);
pair!(UploadCommitRequest: UploadCommit => CommittedResponse: Committed,
    |request, committed| committed.hash == request.hash);
pair!(MeasureRequest: Measure => Measurement: Measurement,
    |request, measurement| measurement.hash == request.hash);
pair!(ReadSensorRequest: ReadSensor => SensorReadingResponse: SensorReading);
pair!(ExplainRequest: Explain => Explanation: Explanation,
    |request, explanation| explanation.hash == request.hash);
pair!(CalibrateRequest: Calibrate => CalibrationReport: Calibration);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ModelHash;
    use crate::message::{UploadState, WireError};

    fn refusal() -> DeviceToHost {
        DeviceToHost::Error(ErrorResponse::new(WireError::UnknownUpload, "never begun"))
    }

    #[test]
    fn accept_returns_the_paired_response() {
        let ping = PingRequest { nonce: 42 };
        assert_eq!(ping.accept(DeviceToHost::Pong(PingResponse { nonce: 42 })), Ok(PingResponse { nonce: 42 }));
        let read = ReadSensorRequest { duration_ms: 10 };
        let status = UploadStatusResponse { hash: ModelHash([1; 32]), state: UploadState::Loaded };
        let wrong = DeviceToHost::UploadStatus(status);
        assert_eq!(read.accept(wrong.clone()), Err(ReplyError::Unexpected(Box::new(wrong))));
    }

    #[test]
    fn an_error_reply_is_a_refusal_for_every_request() {
        let Err(ReplyError::Refused(error)) = PingRequest { nonce: 1 }.accept(refusal()) else {
            panic!("an Error reply must be a refusal");
        };
        assert_eq!((error.error, error.detail.as_str()), (WireError::UnknownUpload, "never begun"));
        let commit = UploadCommitRequest { hash: ModelHash([2; 32]), crc32: 0 };
        assert!(matches!(commit.accept(refusal()), Err(ReplyError::Refused(_))));
    }

    #[test]
    fn a_reply_for_another_request_is_unexpected() {
        let hash = ModelHash([3; 32]);
        let chunk = UploadChunkRequest { hash, index: 4, bytes: alloc::vec![1, 2] };
        let ok = ChunkAckResponse { hash, index: 4 };
        assert_eq!(chunk.accept(DeviceToHost::ChunkAck(ok)), Ok(ok));
        for stale in [ChunkAckResponse { hash, index: 3 }, ChunkAckResponse { hash: ModelHash([0; 32]), index: 4 }] {
            let reply = DeviceToHost::ChunkAck(stale);
            assert_eq!(chunk.accept(reply.clone()), Err(ReplyError::Unexpected(Box::new(reply))));
        }
        let pong = DeviceToHost::Pong(PingResponse { nonce: 9 });
        assert_eq!(PingRequest { nonce: 8 }.accept(pong.clone()), Err(ReplyError::Unexpected(Box::new(pong))));
    }

    #[test]
    fn names_match_the_wrapped_messages() {
        let hash = ModelHash([5; 32]);
        assert_eq!(PingRequest { nonce: 0 }.wrap().name(), PingRequest::NAME);
        assert_eq!(ReadSensorRequest { duration_ms: 1 }.wrap().name(), ReadSensorRequest::NAME);
        let begin = UploadBeginRequest { hash, total_bytes: 1, chunk_bytes: 1 };
        assert_eq!(begin.wrap().name(), UploadBeginRequest::NAME);
        assert_eq!(UploadCommitRequest { hash, crc32: 0 }.wrap().name(), UploadCommitRequest::NAME);
        let hello = HelloRequest { protocol_version: 1, host_version: alloc::string::String::new() };
        assert_eq!(hello.wrap().name(), HelloRequest::NAME);
        assert_eq!(MeasureRequest::NAME, "Measure");
        assert_eq!(UploadChunkRequest::NAME, "UploadChunk");
    }
}
