//! The built `wattevo-agent` executable, driven over a real pseudo-terminal with the wire
//! protocol: the handshake, surviving a corrupt frame, and a clear error for a bad board file.
//!
//! Having this integration test also makes `cargo test --workspace` build the agent binary,
//! which the workspace end-to-end tests (`tests/`) start as the simulated board.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use wattevo_proto::{
    DeviceToHost, Envelope, FrameDecoder, HelloRequest, HostToDevice, PROTOCOL_VERSION, PingRequest, SensorKind,
    encode_frame,
};

const AGENT: &str = env!("CARGO_BIN_EXE_wattevo-agent");
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

fn sim_profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/sim.toml")
}

/// The agent serving the slave side of a fresh pty; killed on drop.
struct RunningAgent {
    child: Child,
    master: TTYPort,
    _slave: TTYPort,
    decoder: FrameDecoder,
}

impl RunningAgent {
    fn start(profile: &Path) -> Self {
        let (mut master, slave) = TTYPort::pair().expect("open a pty pair");
        master.set_timeout(Duration::from_millis(50)).expect("pty timeout");
        let child = Command::new(AGENT)
            .arg("--port")
            .arg(slave.name().expect("pty slave name"))
            .arg("--board")
            .arg(profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wattevo-agent");
        Self { child, master, _slave: slave, decoder: FrameDecoder::new() }
    }

    fn send(&mut self, seq: u32, msg: HostToDevice) {
        let frame = encode_frame(&Envelope { seq, msg }).expect("encode request");
        self.master.write_all(&frame).expect("write request");
    }

    /// Reads frames until the one answering `seq`; other frames (unsolicited errors) are skipped.
    fn reply(&mut self, seq: u32) -> DeviceToHost {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            let n = match self.master.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => panic!("reading the pty: {e}"),
            };
            for frame in self.decoder.feed::<DeviceToHost>(&buf[..n]) {
                let envelope = frame.expect("the agent sends well-formed frames");
                if envelope.seq == seq {
                    return envelope.msg;
                }
            }
        }
        panic!("no reply to request {seq} within {REPLY_TIMEOUT:?}");
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hello() -> HostToDevice {
    HostToDevice::Hello(HelloRequest { protocol_version: PROTOCOL_VERSION, host_version: "agent-binary-test".into() })
}

#[test]
fn answers_hello_with_the_profiles_board_and_a_simulated_sensor() {
    let mut agent = RunningAgent::start(&sim_profile());
    agent.send(1, hello());
    match agent.reply(1) {
        DeviceToHost::Hello(board) => {
            assert_eq!(board.protocol_version, PROTOCOL_VERSION);
            assert_eq!(board.board_name, "sim");
            assert_eq!(board.sensor.kind, SensorKind::EmulatedIna219);
            assert!(!board.sensor.kind.is_measured(), "an emulated chip gives simulated figures");
            assert_eq!(board.agent_version, env!("CARGO_PKG_VERSION"));
        }
        other => panic!("expected Hello, got {other:?}"),
    }
}

#[test]
fn keeps_serving_after_a_corrupt_frame() {
    let mut agent = RunningAgent::start(&sim_profile());
    agent.send(1, hello());
    assert!(matches!(agent.reply(1), DeviceToHost::Hello(_)));

    // A frame whose CRC cannot match, then line noise, then a valid ping.
    let mut corrupt =
        encode_frame(&Envelope { seq: 2, msg: HostToDevice::Ping(PingRequest { nonce: 7 }) }).expect("encode ping");
    corrupt[1] ^= 0x5a;
    agent.master.write_all(&corrupt).expect("write corrupt frame");
    agent.master.write_all(&[0x13, 0x37, 0xff, 0x00]).expect("write noise");
    agent.send(3, HostToDevice::Ping(PingRequest { nonce: 0xC0FFEE }));
    match agent.reply(3) {
        DeviceToHost::Pong(pong) => assert_eq!(pong.nonce, 0xC0FFEE),
        other => panic!("expected Pong, got {other:?}"),
    }
}

#[test]
fn a_malformed_board_file_is_refused_with_its_path_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("broken-board.toml");
    std::fs::write(&profile, "name = \"broken\"\n[serial\nbaud = 115200\n").expect("write profile");
    let (_master, slave) = TTYPort::pair().expect("open a pty pair");
    let output = Command::new(AGENT)
        .arg("--port")
        .arg(slave.name().expect("pty slave name"))
        .arg("--board")
        .arg(&profile)
        .stdin(Stdio::null())
        .output()
        .expect("run wattevo-agent");
    assert!(!output.status.success(), "a malformed profile must stop the agent");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken-board.toml:2:"), "error names the file and line: {stderr}");
    assert!(stderr.contains("unclosed table"), "and the problem: {stderr}");
}
