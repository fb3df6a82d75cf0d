//! Shared helpers of the end-to-end tests: locating the built binaries, running `wattevo`, a
//! small convolutional ONNX model made by wattevo's own exporter, reading JSON output, and
//! watching a running `wattevo` (`process`).
#![allow(dead_code)]

pub mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A built executable of the workspace: `target/<profile>/<name>` (test binaries live in
/// `target/<profile>/deps/`). The workspace `cargo test` builds every binary first; with
/// `cargo test -p wattevo-e2e` alone, run `cargo build --bins` before.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("deps dir");
    let candidates = [dir.join(name), dir.join("..").join(name)];
    candidates.into_iter().find(|path| path.is_file()).unwrap_or_else(|| {
        panic!(
            "`{name}` is not built next to {}; run `cargo build --bins` (the workspace `cargo test` does)",
            exe.display()
        )
    })
}

/// `wattevo` with `WATTEVO_AGENT` pointing at the built agent.
pub fn wattevo() -> Command {
    let mut command = Command::new(bin("wattevo"));
    command.env("WATTEVO_AGENT", bin("wattevo-agent")).env_remove("WATTEVO_BOARDS");
    command
}

/// Runs a command and returns its output, stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("run wattevo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// The workspace's `boards/` directory.
pub fn boards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("boards")
}

/// SplitMix64: a tiny seeded generator for weights and corrupt frames.
#[derive(Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    pub fn weight(&mut self, scale: f32) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
}

/// A small CNN on 1×1×28×28, exported by wattevo with untrained weights from `seed`:
/// conv 3×3 (`channels`, relu) → maxpool 2 → conv 3×3 (`channels`, relu) → maxpool 2 →
/// dense 10 + softmax.
pub fn cnn_onnx(channels: usize, seed: u64) -> Vec<u8> {
    wattevo::pipeline::farm_check::small_cnn_onnx(channels, seed).expect("valid e2e network")
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// Short measurement windows for `wattevo profile` / `boards --calibrate` in tests.
pub const SHORT_PROTOCOL: [&str; 8] =
    ["--idle-ms", "100", "--min-duration-ms", "100", "--repetitions", "3", "--target-ci-pct", "50"];

/// The number at JSON pointer `path` of `value`.
pub fn number(value: &serde_json::Value, path: &str) -> f64 {
    value.pointer(path).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("{path} missing in {value}"))
}
