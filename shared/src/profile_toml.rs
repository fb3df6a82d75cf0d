//! Parsing a board profile (one TOML file in `boards/`) — feature `toml`.
//!
//! The one parser for both sides: the host (`wattevo profile --board ...`, bundled profiles) and
//! the agent (`wattevo-agent --board FILE`). Where the text comes from is the caller's business
//! (search paths, bundled names, a command-line path); this module turns text into a
//! [`BoardProfile`] and, on failure, into a [`ProfileParseError`] that names the file, the line
//! and column, and the dotted key at fault (`power_model.idle_w`), plus what was expected there.
//!
//! Validation is the schema's: every type must fit, required keys must be present and unknown
//! keys are refused (a typo is an error, not a silently ignored setting). Then the values
//! (`values`): a negative or NaN power figure, a zero timeout, an empty repetition range are
//! refused the same way, with their key and line.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;

use crate::board::BoardProfile;

/// A profile that does not parse: where, which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileParseError {
    /// The file (or `bundled:<name>.toml`), as given by the caller.
    pub origin: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The key at fault, dotted (`power_model.idle_w`), or empty when none applies.
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl core::fmt::Display for ProfileParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "key `{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl core::error::Error for ProfileParseError {}

/// Parses profile `text`; `origin` names the file in errors.
///
/// ```
/// use wattevo_proto::parse_board_profile;
///
/// let text = "name = \"x\"\ndescription = \"d\"\n[serial]\nbaud = \"fast\"\n";
/// let err = parse_board_profile(text, "boards/x.toml").unwrap_err();
/// assert!(err.to_string().starts_with("boards/x.toml:4:8: key `serial.baud`: "), "{err}");
/// ```
pub fn parse_board_profile(text: &str, origin: &str) -> Result<BoardProfile, ProfileParseError> {
    let profile: BoardProfile = toml::from_str(text).map_err(|err| {
        let start = err.span().map_or(0, |span| span.start).min(text.len());
        let (line, column) = line_column(text, start);
        ProfileParseError {
            origin: origin.to_owned(),
            line,
            column,
            key: key_at(text, start, err.message()),
            message: err.message().trim().to_owned(),
        }
    })?;
    if let Some(bad) = values::bad_values(&profile).into_iter().next() {
        let (line, column) = values::offset_of(text, bad.key).map_or((1, 1), |at| line_column(text, at));
        return Err(ProfileParseError {
            origin: origin.to_owned(),
            line,
            column,
            key: bad.key.to_owned(),
            message: bad.message,
        });
    }
    Ok(profile)
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The dotted key at `offset`: the enclosing `[table]` plus the key of that line, or the field
/// named in the message (`missing field `x``).
fn key_at(text: &str, offset: usize, message: &str) -> String {
    let line_start = text[..floor_char_boundary(text, offset)].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']')).then(|| l.trim_matches(['[', ']']).trim().to_owned())
    };
    let on_header = header(line);
    let from_line = match on_header {
        Some(_) => None,
        None => line.split_once('=').map(|(key, _)| key.trim().to_owned()).filter(|key| !key.is_empty()),
    };
    let table = on_header.or_else(|| text[..line_start].lines().rev().find_map(header));
    let from_message = message.split('`').nth(1).map(str::to_owned);
    let key = if message.contains("missing field") { from_message.or(from_line) } else { from_line.or(from_message) };
    match (table, key) {
        (Some(table), Some(key)) => format!("{table}.{key}"),
        (Some(table), None) => table,
        (None, key) => key.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
mod values;
