//! The simulated board: the real `wattevo-agent` spawned on a pseudo-terminal.
//!
//! A pty pair is opened (`posix_openpt`, raw mode), the agent is started with
//! `--port <slave> --board <profile>`, and the host talks to the master side through the same
//! [`TTYPort`] code path as a real serial port: termios, framing, timeouts. There is no
//! in-process shortcut; the figures come from the agent's emulated INA219 and are simulated.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use super::client::BoardClient;
use super::error::ClientError;
use super::link::LinkLabel;
use super::profiles::LoadedProfile;
use super::serial::PORT_POLL;

/// Name of the agent executable.
pub const AGENT_BIN: &str = "wattevo-agent";

/// How long the agent may take to start and answer its first `Hello`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the simulated board could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The agent executable was not found.
    #[error(
        "cannot find the `{AGENT_BIN}` executable (looked at $WATTEVO_AGENT, next to {exe}, and on PATH); \
         build it with `cargo build -p wattevo-agent` (or set WATTEVO_AGENT=/path/to/wattevo-agent)"
    )]
    AgentNotFound {
        /// The running executable, whose directory was searched.
        exe: String,
    },
    /// A pseudo-terminal could not be opened or configured.
    #[error("could not open a pseudo-terminal for the simulated board: {0}")]
    Pty(#[source] serialport::Error),
    /// Writing the profile or the log file failed.
    #[error("simulated board: {what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The agent process exited.
    #[error("the simulated board's agent {agent} exited ({status}); its log {log}:\n{tail}")]
    AgentExited {
        /// The executable.
        agent: String,
        /// Exit status.
        status: String,
        /// The log file.
        log: String,
        /// The log's last lines.
        tail: String,
    },
    /// The agent started but the handshake failed.
    #[error("the simulated board's agent did not complete the handshake; its log {log}:\n{tail}")]
    Handshake {
        /// The log file.
        log: String,
        /// The log's last lines.
        tail: String,
        /// The client error.
        #[source]
        source: Box<ClientError>,
    },
}

/// A running simulated board: the agent process and the pty it serves.
#[derive(Debug)]
pub struct SimAgent {
    child: Child,
    agent: PathBuf,
    master: TTYPort,
    /// Held until the agent has opened its end (a master with no slave open reads EIO), then
    /// dropped: from then on the agent's exit hangs the pty up, so a client notices at once.
    slave: Option<TTYPort>,
    slave_path: String,
    board: String,
    log_path: PathBuf,
    _log_file: Option<tempfile::TempPath>,
    _profile_file: Option<tempfile::TempPath>,
}

impl SimAgent {
    /// Starts the agent on a fresh pty with `profile`. With `run_dir`, the agent's stderr goes
    /// to `<run_dir>/agent-<log_name>.log` (kept); otherwise to a temporary file removed on drop.
    pub fn spawn(profile: &LoadedProfile, run_dir: Option<&Path>, log_name: &str) -> Result<Self, SimError> {
        let agent = find_agent()?;
        let (master, slave) = open_pty()?;
        let slave_path = slave.name().unwrap_or_default();
        let (profile_path, profile_file) = profile_path(profile)?;
        let (log_path, log_file) = log_path(log_name, run_dir)?;
        let log = std::fs::File::create(&log_path)
            .map_err(|source| SimError::Io { what: format!("creating log {}", log_path.display()), source })?;
        // Its own process group: a Ctrl-C in the terminal goes to the host, which decides when
        // the agent stops (after the candidate being measured).
        let child = Command::new(&agent)
            .process_group(0)
            .arg("--port")
            .arg(&slave_path)
            .arg("--board")
            .arg(&profile_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| SimError::Io { what: format!("starting {}", agent.display()), source })?;
        tracing::debug!(agent = %agent.display(), port = %slave_path, log = %log_path.display(), "sim agent started");
        Ok(Self {
            child,
            agent,
            master,
            slave: Some(slave),
            slave_path,
            board: profile.profile.name.clone(),
            log_path,
            _log_file: log_file,
            _profile_file: profile_file,
        })
    }

    /// The pty slave the agent serves.
    pub fn slave_path(&self) -> &str {
        &self.slave_path
    }

    /// The agent's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new handle on the pty master: the port a client talks through.
    pub fn port(&self) -> Result<TTYPort, SimError> {
        self.master.try_clone_native().map_err(SimError::Pty)
    }

    /// A client over a new handle on the master, label `board sim on /dev/pts/N`.
    pub fn client(&self, timeout: Duration) -> Result<BoardClient<TTYPort>, SimError> {
        Ok(BoardClient::new(self.port()?, self.label(), timeout))
    }

    /// `board sim on /dev/pts/N (simulated)`.
    pub fn label(&self) -> LinkLabel {
        LinkLabel { board: self.board.clone(), port: format!("{} (simulated)", self.slave_path) }
    }

    /// Waits for the agent to answer `Hello` (it may still be starting) and returns a client
    /// that completed the handshake.
    pub fn connect(&mut self, timeout: Duration) -> Result<BoardClient<TTYPort>, SimError> {
        let started = Instant::now();
        let mut client = self.client(Duration::from_millis(300))?;
        loop {
            self.check_alive()?;
            match client.hello() {
                Ok(_) => break,
                Err(ClientError::Timeout { .. }) if started.elapsed() < STARTUP_TIMEOUT => continue,
                Err(source) => {
                    let source = Box::new(source);
                    return Err(SimError::Handshake { log: self.log_display(), tail: self.log_tail(), source });
                }
            }
        }
        let mut connected = BoardClient::new(client.into_port(), self.label(), timeout);
        connected.hello().map_err(|source| SimError::Handshake {
            log: self.log_display(),
            tail: self.log_tail(),
            source: Box::new(source),
        })?;
        self.slave = None;
        Ok(connected)
    }

    /// An error when the agent has exited, waiting up to `grace` for an agent whose pty just
    /// hung up to become reapable.
    pub fn check_exited_within(&mut self, grace: Duration) -> Result<(), SimError> {
        let started = Instant::now();
        loop {
            self.check_alive()?;
            if started.elapsed() >= grace {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// An error when the agent has exited.
    pub fn check_alive(&mut self) -> Result<(), SimError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(SimError::AgentExited {
                agent: self.agent.display().to_string(),
                status: status.to_string(),
                log: self.log_display(),
                tail: self.log_tail(),
            }),
            Err(source) => Err(SimError::Io { what: "checking the agent process".into(), source }),
        }
    }

    /// The last lines of the agent's log.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn log_display(&self) -> String {
        self.log_path.display().to_string()
    }
}

impl Drop for SimAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pty pair in raw mode; both ends re-opened close-on-exec so the agent inherits neither.
fn open_pty() -> Result<(TTYPort, TTYPort), SimError> {
    let (master, slave) = TTYPort::pair().map_err(SimError::Pty)?;
    let mut master_cloexec = master.try_clone_native().map_err(SimError::Pty)?;
    let slave_cloexec = slave.try_clone_native().map_err(SimError::Pty)?;
    master_cloexec.set_timeout(PORT_POLL).map_err(SimError::Pty)?;
    Ok((master_cloexec, slave_cloexec))
}

/// Finds `wattevo-agent`: `$WATTEVO_AGENT`, next to the running executable (or one directory
/// up, for test binaries in `target/<profile>/deps/`), then `PATH`.
pub fn find_agent() -> Result<PathBuf, SimError> {
    if let Some(path) = std::env::var_os("WATTEVO_AGENT") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let beside = exe.parent().into_iter().flat_map(|dir| [dir.join(AGENT_BIN), dir.join("..").join(AGENT_BIN)]);
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(AGENT_BIN)).collect::<Vec<_>>())
        .unwrap_or_default();
    beside
        .chain(on_path)
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| SimError::AgentNotFound { exe: exe.display().to_string() })
}

fn profile_path(profile: &LoadedProfile) -> Result<(PathBuf, Option<tempfile::TempPath>), SimError> {
    if let Some(path) = &profile.path {
        return Ok((path.clone(), None));
    }
    let io = |source| SimError::Io { what: format!("writing profile {} to a temporary file", profile.origin), source };
    let mut file = tempfile::Builder::new().prefix("wattevo-board-").suffix(".toml").tempfile().map_err(io)?;
    std::io::Write::write_all(&mut file, profile.text.as_bytes()).map_err(io)?;
    let path = file.into_temp_path();
    Ok((path.to_path_buf(), Some(path)))
}

fn log_path(board: &str, run_dir: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempPath>), SimError> {
    if let Some(dir) = run_dir {
        std::fs::create_dir_all(dir)
            .map_err(|source| SimError::Io { what: format!("creating {}", dir.display()), source })?;
        return Ok((dir.join(format!("agent-{board}.log")), None));
    }
    let file = tempfile::Builder::new()
        .prefix("wattevo-agent-")
        .suffix(".log")
        .tempfile()
        .map_err(|source| SimError::Io { what: "creating the agent log".into(), source })?;
    let path = file.into_temp_path();
    Ok((path.to_path_buf(), Some(path)))
}
