//! The `wattevo-agent` command line: parse the arguments, load the board profile, open the
//! serial port, build the power sensor, serve until killed.
//!
//! Exit codes: 0 the host hung up; 1 the profile, the port or the sensor could not be set up, or
//! the port failed while serving.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use wattevo_proto::{BoardProfile, SensorSource};

use crate::profile::load_profile;
use crate::sensor::PowerSensor;
use crate::sensor::ina219_sensor::Ina219Sensor;
use crate::serve::{Agent, serve};
use crate::sim::LoadSignal;

/// Serves wattevo's measurement protocol on a serial port.
#[derive(Debug, Parser)]
#[command(name = "wattevo-agent", version)]
pub struct Cli {
    /// Serial port to serve (`/dev/ttyGS0`, `/dev/serial0`, or a pseudo-terminal slave).
    #[arg(long)]
    pub port: PathBuf,
    /// Board profile (TOML; see `boards/`).
    #[arg(long)]
    pub board: PathBuf,
    /// Baud rate; defaults to the profile's.
    #[arg(long)]
    pub baud: Option<u32>,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Sets up tracing on stderr at the level `-v` asks for (`RUST_LOG` wins when set).
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// The port, opened raw: with `serialport` if it can, else plain `open` + termios raw mode.
enum Port {
    Serial(serialport::TTYPort),
    Raw(File),
}

fn open_port(path: &Path, baud: u32) -> anyhow::Result<Port> {
    let name = path.to_string_lossy();
    match serialport::new(name.as_ref(), baud).timeout(Duration::from_secs(1)).open_native() {
        Ok(port) => Ok(Port::Serial(port)),
        Err(e) => {
            tracing::info!("serialport could not open {name} ({e}); opening it as a raw terminal");
            let file = File::options().read(true).write(true).open(path).with_context(|| format!("opening {name}"))?;
            let mut termios =
                nix::sys::termios::tcgetattr(&file).with_context(|| format!("{name} is not a terminal"))?;
            nix::sys::termios::cfmakeraw(&mut termios);
            nix::sys::termios::tcsetattr(&file, nix::sys::termios::SetArg::TCSANOW, &termios)
                .with_context(|| format!("setting {name} to raw mode"))?;
            Ok(Port::Raw(file))
        }
    }
}

/// The profile's power sensor. `load` feeds the power model of simulated boards.
///
/// `ina219`: the driver on `/dev/i2c-N`. `emulated_ina219`: the same driver reading an emulated
/// chip whose analogue input is the board twin's power (simulated figures, `crate::sim`).
pub fn build_sensor(profile: &BoardProfile, load: &Arc<LoadSignal>) -> anyhow::Result<Box<dyn PowerSensor>> {
    let board = &profile.name;
    match profile.sensor.source {
        SensorSource::EmulatedIna219 => {
            crate::sim::simulated_sensor(profile, load).with_context(|| format!("board {board}: the simulated board"))
        }
        SensorSource::Ina219 => {
            let sensor = Ina219Sensor::open_linux(&profile.sensor)
                .with_context(|| format!("board {board}: opening the INA219 on /dev/i2c-{}", profile.sensor.i2c_bus))?;
            Ok(Box::new(sensor))
        }
    }
}

/// Runs the agent; returns when the host hangs up.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let profile = load_profile(&cli.board)?;
    crate::runner::use_threads(profile.runtime.tract_threads);
    let load = LoadSignal::new();
    let sensor = build_sensor(&profile, &load)?;
    let mut agent = Agent::new(
        &profile.name,
        sensor,
        profile.sensor.sample_rate_hz,
        load,
        &profile.runtime,
        profile.thermal.clone(),
    )
    .with_twin(crate::sim::Twin::for_profile(&profile).ok());
    let baud = cli.baud.unwrap_or(profile.serial.baud);
    let port = open_port(&cli.port, baud)?;
    tracing::info!(port = %cli.port.display(), board = %profile.name, "serving");
    let served = match port {
        Port::Serial(mut p) => serve(&mut agent, &mut p),
        Port::Raw(mut f) => serve(&mut agent, &mut f),
    };
    served.with_context(|| format!("serving {}", cli.port.display()))
}
