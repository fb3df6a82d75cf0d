//! The request/response pairing against one example of every message: each request accepts the
//! example answer in the same position of `DeviceToHost` (one further on for the requests added
//! after `Error`, which sits between their answers and the first seven), turns the `Error`
//! example into a refusal and every other answer into an unexpected reply.
//!
//! The exhaustive `match` stops compiling when a `HostToDevice` variant is added, until its
//! payload implements `Request`.

#[path = "common/samples.rs"]
mod samples;

use wattevo_proto::*;

/// Postcard bytes: answers hold NaN on purpose, so they are compared as bytes.
fn bytes(message: &DeviceToHost) -> Vec<u8> {
    postcard::to_allocvec(message).expect("serialise")
}

/// Checks one request against every example answer; `own` is the index of its own answer.
fn check<R: Request>(request: R, own: usize, answers: &[DeviceToHost]) {
    assert_eq!(request.clone().wrap().name(), R::NAME);
    for (index, answer) in answers.iter().enumerate() {
        let returned = match request.accept(answer.clone()) {
            Ok(response) => {
                assert_eq!(index, own, "{} accepted {}", R::NAME, answer.name());
                R::wrap_response(response)
            }
            Err(ReplyError::Refused(error)) => {
                assert!(matches!(answer, DeviceToHost::Error(_)), "{} refused by {}", R::NAME, answer.name());
                DeviceToHost::Error(error)
            }
            Err(ReplyError::Unexpected(other)) => {
                assert!(index != own && !matches!(answer, DeviceToHost::Error(_)), "{}", R::NAME);
                *other
            }
        };
        assert_eq!(bytes(&returned), bytes(answer), "{} hands back {} unchanged", R::NAME, answer.name());
    }
}

#[test]
fn every_request_accepts_its_own_answer_only() {
    let answers: Vec<DeviceToHost> = samples::device_messages().into_iter().map(|e| e.msg).collect();
    let error_at = answers.iter().position(|a| matches!(a, DeviceToHost::Error(_))).expect("an Error example");
    for (position, envelope) in samples::host_messages().into_iter().enumerate() {
        let index = if position < error_at { position } else { position + 1 };
        match envelope.msg {
            HostToDevice::Hello(r) => check(r, index, &answers),
            HostToDevice::Ping(r) => check(r, index, &answers),
            HostToDevice::UploadBegin(r) => check(r, index, &answers),
            HostToDevice::UploadChunk(r) => check(r, index, &answers),
            HostToDevice::UploadCommit(r) => check(r, index, &answers),
            HostToDevice::Measure(r) => check(r, index, &answers),
            HostToDevice::ReadSensor(r) => check(r, index, &answers),
            HostToDevice::Explain(r) => check(r, index, &answers),
            HostToDevice::Calibrate(r) => check(r, index, &answers),
        }
    }
}
