//! Opening a board for `wattevo profile` and `wattevo boards --check`: a spinner while the
//! agent starts, and exit code 3 (after the advice is printed) when it speaks another protocol
//! version.

use std::process::ExitCode;

use indicatif::ProgressBar;

use super::EXIT_PROTOCOL;
use crate::board::{BoardError, BoardSession, OpenOptions};

/// A spinner on stderr while a board opens, hidden for `--json` and when stderr is not a
/// terminal.
pub fn spinner(hidden: bool) -> ProgressBar {
    super::progress::spinner("{spinner} {msg} ({elapsed})", hidden)
}

/// Opens `board`, showing it on `progress`. An agent speaking another protocol version is
/// reported on stderr here and comes back as `Ok(Err(exit code 3))`; other failures are errors.
pub fn open_board(
    board: &str,
    options: &OpenOptions,
    progress: &ProgressBar,
) -> Result<Result<BoardSession, ExitCode>, BoardError> {
    progress.set_message(format!("opening board {board}"));
    match BoardSession::open(board, options) {
        Ok(session) => Ok(Ok(session)),
        Err(err) if err.is_protocol_mismatch() => {
            progress.finish_and_clear();
            eprintln!("error: {err}");
            Ok(Err(ExitCode::from(EXIT_PROTOCOL)))
        }
        Err(err) => Err(err),
    }
}
