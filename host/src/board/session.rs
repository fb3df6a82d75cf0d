//! Opening a board by profile: the simulated board (agent spawned on a pty) or a real one on a
//! serial port, handshake done; and building a measure request from the profile's protocol
//! ([`wattevo_proto::MeasureProtocol`]) with the user's [`MeasureOverrides`] applied.

use std::time::Duration;

use serialport::TTYPort;
use wattevo_proto::{
    BoardProfile, HelloResponse, MeasureProtocol, MeasureRequest, Measurement, ModelHash, SensorSource,
};

use super::client::BoardClient;
use super::error::ClientError;
use super::link::LinkLabel;
use super::measure_overrides::MeasureOverrides;
use super::profiles::{LoadedProfile, ProfileError, load_profile};
use super::serial::{SerialError, open_serial};
use super::sim::{SimAgent, SimError};
use crate::onnx::model_info::{ModelInfoError, onnx_input_shape};

/// Why a board could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The profile is missing or malformed.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The serial port could not be opened.
    #[error(transparent)]
    Serial(#[from] SerialError),
    /// The simulated board could not be started.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The agent did not answer properly.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The model's input shape could not be read.
    #[error(transparent)]
    Model(#[from] ModelInfoError),
    /// A real board was asked for without a port.
    #[error("board {board} ({origin}) needs a serial port: pass --port /dev/ttyUSB0 or set serial.host_port")]
    NoPort {
        /// The board.
        board: String,
        /// The profile's origin.
        origin: String,
    },
}

impl BoardError {
    /// True when the agent speaks another protocol version (the CLI exits with code 3).
    pub fn is_protocol_mismatch(&self) -> bool {
        match self {
            BoardError::Client(err) => err.is_protocol_mismatch(),
            BoardError::Sim(SimError::Handshake { source, .. }) => source.is_protocol_mismatch(),
            _ => false,
        }
    }
}

/// An open board: a client that completed the handshake, the profile, and the simulated
/// agent's process when the board is simulated (killed when this is dropped).
#[derive(Debug)]
pub struct BoardSession {
    /// The client; `client.handshake()` holds the agent's `Hello`.
    pub client: BoardClient<TTYPort>,
    /// The profile used.
    pub profile: LoadedProfile,
    /// The agent's handshake.
    pub hello: HelloResponse,
    /// The simulated agent, when the board is simulated.
    pub sim: Option<SimAgent>,
}

/// Where to find a board.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Serial port; `None`: the profile's `serial.host_port`, or a simulated board when the
    /// profile's sensor is emulated and it names no port.
    pub port: Option<String>,
    /// Run directory for the simulated agent's log (a temporary file otherwise).
    pub run_dir: Option<std::path::PathBuf>,
    /// The board's id in a farm (names the simulated agent's log `agent-<id>.log`); `None`:
    /// the profile's name.
    pub board_id: Option<String>,
}

impl BoardSession {
    /// Opens `board` (a profile path or bare name such as `sim`, `pi4b`) and says `Hello`.
    pub fn open(board: &str, options: &OpenOptions) -> Result<Self, BoardError> {
        Self::open_profile(load_profile(board)?, options)
    }

    /// Opens the board of a loaded `profile` (a farm's board, drawn from its profile) and says
    /// `Hello`.
    pub fn open_profile(profile: LoadedProfile, options: &OpenOptions) -> Result<Self, BoardError> {
        let timeout = Duration::from_millis(u64::from(profile.profile.serial.timeout_ms));
        let port = options
            .port
            .clone()
            .or_else(|| Some(profile.profile.serial.host_port.clone()).filter(|port| !port.is_empty()));
        match port {
            Some(port) => {
                let tty = open_serial(&port, profile.profile.serial.baud)?;
                let label = LinkLabel { board: profile.profile.name.clone(), port };
                let mut client = BoardClient::new(tty, label, timeout);
                let hello = client.hello()?;
                Ok(Self { client, profile, hello, sim: None })
            }
            None if profile.profile.sensor.source == SensorSource::EmulatedIna219 => {
                let log_name = options.board_id.clone().unwrap_or_else(|| profile.profile.name.clone());
                let mut sim = SimAgent::spawn(&profile, options.run_dir.as_deref(), &log_name)?;
                let client = sim.connect(timeout)?;
                let hello = client.handshake().cloned().ok_or_else(|| ClientError::Unexpected {
                    link: client.label().to_string(),
                    request: "Hello",
                    got: "no handshake".into(),
                })?;
                Ok(Self { client, profile, hello, sim: Some(sim) })
            }
            None => Err(BoardError::NoPort { board: profile.profile.name.clone(), origin: profile.origin.clone() }),
        }
    }

    /// Uploads an ONNX model if the agent does not hold it, then measures it with the profile's
    /// defaults and `overrides`, on a seeded random input of the model's declared shape.
    pub fn measure_onnx(
        &mut self,
        model: &[u8],
        overrides: &MeasureOverrides,
        input_seed: u64,
    ) -> Result<Measurement, BoardError> {
        let input_shape = onnx_input_shape(model, "model")?;
        let request = measure_request(&self.profile.profile, overrides, ModelHash::of(model), input_shape, input_seed);
        self.client.measure_model(model, &request).map_err(|err| self.diagnose(err))
    }

    /// A client error, or — when a simulated agent has exited (its pty hung up, or it went
    /// silent) — the agent's exit status and the tail of its log, with the client error lost
    /// only in favour of that cause.
    pub fn diagnose(&mut self, err: ClientError) -> BoardError {
        let Some(sim) = self.sim.as_mut() else { return BoardError::Client(err) };
        match sim.check_exited_within(Duration::from_millis(300)) {
            Err(exited) => {
                tracing::debug!(%err, "the link failed because the simulated agent exited");
                BoardError::Sim(exited)
            }
            Ok(()) => BoardError::Client(err),
        }
    }

    /// Where the figures come from, for every printed figure: `measured on pi4b with INA219`
    /// or `SIMULATED (emulated INA219, twin pi4b v1, board sim)`.
    pub fn source_label(&self) -> String {
        source_label(&self.hello)
    }
}

/// The source label of a handshake's figures.
pub fn source_label(hello: &HelloResponse) -> String {
    use wattevo_proto::SensorKind;
    match hello.sensor.kind {
        SensorKind::Ina219 => format!("measured on {} with INA219", hello.board_name),
        SensorKind::EmulatedIna219 if !hello.twin.is_empty() => {
            format!("SIMULATED (emulated INA219, {}, board {})", hello.twin, hello.board_name)
        }
        SensorKind::EmulatedIna219 => format!("SIMULATED (emulated INA219, {} power model)", hello.board_name),
        SensorKind::PowerModel => format!("SIMULATED ({} power model, no sensor chip)", hello.board_name),
    }
}

/// A measure request: the profile's protocol with `overrides` applied, for model `hash` on a
/// seeded random input of `input_shape`, with the profile's thermal wait.
pub fn measure_request(
    profile: &BoardProfile,
    overrides: &MeasureOverrides,
    hash: ModelHash,
    input_shape: Vec<u32>,
    input_seed: u64,
) -> MeasureRequest {
    let protocol = measure_protocol(profile, overrides);
    MeasureRequest { hash, input_shape, input_seed, protocol, thermal_wait_ms: profile.thermal.max_wait_ms }
}

/// The protocol a measurement on `profile`'s board follows: the profile's, with `overrides`.
pub fn measure_protocol(profile: &BoardProfile, overrides: &MeasureOverrides) -> MeasureProtocol {
    let mut protocol = profile.measure.clone().with_consistent_repetitions();
    overrides.apply(&mut protocol);
    protocol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_profile_protocol_with_the_overrides() {
        let mut profile = load_profile("sim").expect("sim").profile;
        profile.measure.max_repetitions = 2; // below min_repetitions (5): raised to it
        profile.thermal.max_wait_ms = 1234;
        let hash = ModelHash::of(b"model");
        let plain = measure_request(&profile, &MeasureOverrides::default(), hash, vec![1, 1, 8, 8], 9);
        assert_eq!((plain.hash, plain.input_shape.as_slice(), plain.input_seed), (hash, &[1, 1, 8, 8][..], 9));
        assert_eq!((plain.protocol.min_repetitions, plain.protocol.max_repetitions), (5, 5));
        assert_eq!((plain.protocol.warmup_runs, plain.thermal_wait_ms), (profile.measure.warmup_runs, 1234));
        let overrides = MeasureOverrides { idle_ms: Some(7), repetitions: Some(3), ..MeasureOverrides::default() };
        let short = measure_request(&profile, &overrides, hash, vec![1], 0);
        assert_eq!((short.protocol.idle_window_ms, short.protocol.max_repetitions), (7, 3));
        assert_eq!(short.protocol.min_duration_ms, profile.measure.min_duration_ms);
    }
}
