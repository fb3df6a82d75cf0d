//! The shared parser: defaults, refusals, and the positions and keys its errors point at.

use std::path::Path;

use super::*;
use crate::board::SensorSource;

const MINIMAL: &str = r#"
name = "t"
description = "test"
[serial]
baud = 115200
[sensor]
source = "emulated_ina219"
i2c_bus = 1
i2c_address = 0x40
shunt_ohms = 0.1
max_current_a = 3.2
"#;

fn bundled(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards").join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_bundled_profiles_parse() {
    for name in ["sim", "pi4b", "pi5", "pizero2w"] {
        let profile = parse_board_profile(&bundled(name), name).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(profile.name, name);
    }
}

#[test]
fn a_minimal_profile_takes_the_defaults() {
    let profile = parse_board_profile(MINIMAL, "t.toml").expect("parse");
    assert_eq!(profile.sensor.source, SensorSource::EmulatedIna219);
    assert_eq!(profile.runtime.tract_threads, 1);
    assert_eq!(profile.measure, crate::MeasureProtocol::default());
    assert_eq!(profile.measure.min_repetitions, 5);
}

#[test]
fn a_wrong_type_names_file_line_column_and_key() {
    let text = MINIMAL.replace("shunt_ohms = 0.1", "shunt_ohms = \"small\"");
    let err = parse_board_profile(&text, "boards/x.toml").expect_err("wrong type");
    assert_eq!((err.line, err.column, err.key.as_str()), (10, 14, "sensor.shunt_ohms"));
    let shown = err.to_string();
    assert!(shown.starts_with("boards/x.toml:10:14: key `sensor.shunt_ohms`: "), "{shown}");
    assert!(shown.contains("float") || shown.contains("f64"), "{shown}");
}

#[test]
fn a_wrong_integer_says_what_was_expected() {
    let text = "name = \"x\"\ndescription = \"d\"\n[serial]\nbaud = \"fast\"\n";
    let err = parse_board_profile(text, "x.toml").expect_err("bad type");
    assert_eq!((err.line, err.column, err.key.as_str()), (4, 8, "serial.baud"));
    assert!(err.message.contains("u32") || err.message.contains("integer"), "{err}");
}

#[test]
fn a_typo_points_at_its_line_and_dotted_key() {
    let broken = bundled("sim").replacen("idle_w", "idle_wat", 1);
    let line = broken.lines().position(|l| l.contains("idle_wat")).expect("typo line") + 1;
    let err = parse_board_profile(&broken, "boards/x.toml").expect_err("typo");
    assert_eq!((err.line, err.column), (line, 1));
    assert_eq!(err.key, "power_model.idle_wat");
    assert!(err.message.contains("unknown field"), "{err}");
    assert!(err.to_string().starts_with(&format!("boards/x.toml:{line}:1: ")), "{err}");
}

#[test]
fn a_missing_key_is_named_from_the_message() {
    let text = MINIMAL.replace("max_current_a = 3.2\n", "");
    let err = parse_board_profile(&text, "x.toml").expect_err("missing key");
    assert!(err.key.ends_with("max_current_a"), "{err}");
    assert!(err.message.contains("missing field"), "{err}");
}

#[test]
fn an_unknown_key_and_a_bad_enum_value_are_refused() {
    let text = MINIMAL.replace("baud = 115200", "baud = 115200\nbaudrate = 9600");
    let err = parse_board_profile(&text, "x.toml").expect_err("unknown key");
    assert_eq!((err.line, err.key.as_str()), (6, "serial.baudrate"));
    let text = MINIMAL.replace("\"emulated_ina219\"", "\"ina226\"");
    let err = parse_board_profile(&text, "x.toml").expect_err("bad source");
    assert_eq!((err.line, err.key.as_str()), (7, "sensor.source"));
    assert!(err.message.contains("ina226"), "{err}");
}

#[test]
fn malformed_toml_points_at_the_break() {
    let err = parse_board_profile("name = \"x\"\n[serial\nbaud = 1\n", "x.toml").expect_err("syntax");
    assert_eq!(err.line, 2, "{err}");
    assert!(err.to_string().starts_with("x.toml:2:"), "{err}");
}

#[test]
fn positions_count_lines_and_characters_from_one() {
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("ab", 0), (1, 1));
    assert_eq!(line_column("é = 1\nx", 3), (1, 3), "columns count characters, not bytes");
    assert_eq!(line_column("éx", 1), (1, 1), "an offset inside a character falls back to its start");
}

#[test]
fn an_error_without_a_key_omits_it() {
    let err = ProfileParseError {
        origin: "x.toml".into(),
        line: 1,
        column: 1,
        key: String::new(),
        message: "expected a table".into(),
    };
    assert_eq!(err.to_string(), "x.toml:1:1: expected a table");
}

#[test]
fn values_a_board_cannot_have_are_refused_at_their_line() {
    let sim = bundled("sim");
    let cases = [
        ("idle_w = 2.7", "idle_w = -2.7", "power_model.idle_w"),
        ("core_w = 0.925", "core_w = nan", "power_model.core_w"),
        ("timeout_ms = 2000", "timeout_ms = 0", "serial.timeout_ms"),
        ("max_repetitions = 20", "max_repetitions = 2", "measure.max_repetitions"),
        ("shunt_ohms = 0.01", "shunt_ohms = 0.0", "sensor.shunt_ohms"),
    ];
    for (good, bad, key) in cases {
        assert!(sim.contains(good), "sim.toml has `{good}`");
        let text = sim.replacen(good, bad, 1);
        let err = parse_board_profile(&text, "sim.toml").expect_err(bad);
        assert_eq!(err.key, key, "{err}");
        let line = text.lines().position(|l| l.trim_start().starts_with(bad)).expect("the edited line") + 1;
        assert_eq!(err.line, line, "{err}");
    }
}

#[test]
fn a_bad_default_points_at_its_table() {
    // `min_repetitions` left at its default (5) above an explicit `max_repetitions = 1`.
    let text = format!("{MINIMAL}[measure]\nmax_repetitions = 1\n");
    let err = parse_board_profile(&text, "x.toml").expect_err("max below the default min");
    assert_eq!(err.key, "measure.max_repetitions");
    assert_eq!(err.line, text.lines().count(), "{err}");
}
