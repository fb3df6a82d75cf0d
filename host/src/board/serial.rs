//! Opening a real serial port (a USB-serial adapter, the Pi's UART, a USB gadget, or the slave
//! side of a pseudo-terminal) with clear errors for the usual mistakes.

use std::path::Path;
use std::time::Duration;

use serialport::{ClearBuffer, SerialPort, TTYPort};

/// Read timeout of the port itself; the client loops on it until its own deadline.
pub const PORT_POLL: Duration = Duration::from_millis(20);

/// Why a serial port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    /// No such device.
    #[error(
        "serial port {port} does not exist; check the cable and pass the right --port \
         (see `ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/`)"
    )]
    NotFound {
        /// The path asked for.
        port: String,
    },
    /// Another program holds the port.
    #[error(
        "serial port {port} is busy (locked by another program: a terminal, ModemManager, another wattevo?); \
         close it and retry (`fuser {port}` shows who holds it)"
    )]
    Busy {
        /// The path asked for.
        port: String,
    },
    /// The user may not open the port.
    #[error(
        "permission denied opening serial port {port}; add yourself to the `dialout` group \
         (`sudo usermod -aG dialout $USER`, then log in again)"
    )]
    PermissionDenied {
        /// The path asked for.
        port: String,
    },
    /// Anything else.
    #[error("could not open serial port {port} at {baud} baud: {source}")]
    Other {
        /// The path asked for.
        port: String,
        /// The baud rate asked for.
        baud: u32,
        /// What serialport said.
        #[source]
        source: serialport::Error,
    },
}

/// Opens `port` at `baud` (8N1, no flow control, raw), exclusively, with a short read timeout,
/// and drops whatever bytes were waiting in its buffers.
pub fn open_serial(port: &str, baud: u32) -> Result<TTYPort, SerialError> {
    if !Path::new(port).exists() {
        return Err(SerialError::NotFound { port: port.to_owned() });
    }
    let opened = serialport::new(port, baud).timeout(PORT_POLL).open_native();
    let tty = opened.map_err(|source| classify(port, baud, source))?;
    // Pseudo-terminals may refuse to clear; stale bytes are harmless (the decoder drops them).
    let _ = tty.clear(ClearBuffer::All);
    Ok(tty)
}

fn classify(port: &str, baud: u32, source: serialport::Error) -> SerialError {
    let port = port.to_owned();
    match source.kind() {
        serialport::ErrorKind::NoDevice => SerialError::Busy { port },
        serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => SerialError::NotFound { port },
        serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => SerialError::PermissionDenied { port },
        _ if source.description.contains("EBUSY") || source.description.contains("busy") => SerialError::Busy { port },
        _ => SerialError::Other { port, baud, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_port_is_not_found() {
        let err = open_serial("/nonexistent/ttyUSB9", 115_200).expect_err("no such port");
        assert!(matches!(err, SerialError::NotFound { .. }));
        assert!(err.to_string().contains("/nonexistent/ttyUSB9"));
    }

    #[test]
    fn second_open_of_a_held_port_is_busy() {
        let (_master, slave) = TTYPort::pair().expect("pty pair");
        let path = slave.name().expect("slave path");
        let first = open_serial(&path, 115_200).expect("first open");
        let err = open_serial(&path, 115_200).expect_err("second open");
        assert!(matches!(err, SerialError::Busy { .. }), "{err}");
        drop(first);
    }

    #[test]
    fn unreadable_port_is_permission_denied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ttyFAKE");
        std::fs::write(&path, b"").expect("file");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o000)).expect("chmod");
        let err = open_serial(path.to_str().expect("utf-8"), 115_200).expect_err("denied");
        // root ignores file modes; then the open fails later, as "not a terminal".
        if !matches!(err, SerialError::PermissionDenied { .. }) {
            assert!(matches!(err, SerialError::Other { .. }), "{err}");
        } else {
            assert!(err.to_string().contains("dialout"));
        }
    }
}
