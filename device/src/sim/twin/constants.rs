//! A twin's constants: one TOML file per SoC in `boards/twins/`, each constant with its source
//! beside it, plus the board-level power figures of the profile's `[power_model]`.
//!
//! The SoC file holds what the profile schema has no room for (cache sizes, rates, bandwidths,
//! per-operator overhead, the SIMD power term). The bundled files are compiled in, so the
//! agent needs no file next to it; `WATTEVO_TWIN` may name another file (a fitted twin).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One twin file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinFile {
    /// Name, version and provenance.
    pub twin: TwinInfo,
    /// The SoC's cores and caches.
    pub soc: SocConstants,
    /// How fast the SoC runs tract's operators.
    pub time: TimeConstants,
    /// SoC power terms beyond the profile's idle, per-core and DRAM figures.
    pub power: SocPower,
}

/// Who the twin is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinInfo {
    /// Short name (`pi4b`), shown with every simulated figure.
    pub name: String,
    /// Version of the constants; bumped whenever one changes.
    pub version: u32,
    /// The board and SoC it models.
    pub description: String,
    /// Where the constants come from: published figures, or a fit to a named board.
    pub fitted: String,
}

/// Cores and caches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocConstants {
    /// CPU cores.
    pub cores: u16,
    /// Core clock, GHz.
    pub clock_ghz: f64,
    /// L1 data cache per core, bytes.
    pub l1d_bytes: u64,
    /// Last-level cache, bytes (L2 on BCM2711 and BCM2710, L3 on BCM2712).
    pub llc_bytes: u64,
    /// Share of the last-level cache a model's weights and activations can keep.
    pub llc_usable: f64,
}

/// Operator rates of one core running tract, and the memory system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConstants {
    /// Dense convolution (im2col + matrix product), GMAC/s at full tile efficiency.
    pub conv_gmac_s: f64,
    /// Depthwise convolution, GMAC/s.
    pub depthwise_gmac_s: f64,
    /// Matrix product (Gemm, MatMul), GMAC/s at full tile efficiency.
    pub matmul_gmac_s: f64,
    /// Element-wise, pooling and reduction work, G element operations/s.
    pub elementwise_gop_s: f64,
    /// Last-level cache bandwidth, GB/s.
    pub llc_gb_s: f64,
    /// DRAM bandwidth one core sustains, GB/s.
    pub dram_gb_s: f64,
    /// Fixed cost of running one operator, microseconds.
    pub op_overhead_us: f64,
    /// Output channels at which a matrix product's tile is half used.
    pub tile_m: f64,
    /// Reduction depth at which a matrix product's tile is half used.
    pub tile_k: f64,
    /// Speed-up each extra thread adds to matrix products (1 = perfect scaling).
    pub parallel_efficiency: f64,
}

/// SoC power terms (the profile's `[power_model]` has idle, per-core and DRAM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocPower {
    /// Extra power of one core whose SIMD units are busy all the time, watts.
    pub neon_w: f64,
    /// Energy per byte served by the last-level cache, nanojoules.
    pub llc_nj_per_byte: f64,
    /// Share of a busy core's power (`core_w`) it still draws while it waits on DRAM: clock
    /// tree and leakage stay, the pipeline idles. 1 charges a stalled core as a computing one
    /// (twin files written before this key existed).
    #[serde(default = "one")]
    pub stall_core_share: f64,
}

fn one() -> f64 {
    1.0
}

/// Why a twin file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TwinFileError {
    /// The file could not be read.
    #[error("cannot read twin file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not fit the twin schema.
    #[error("twin file {origin}: {message}")]
    Parse {
        /// The file, or `bundled:<name>`.
        origin: String,
        /// toml's explanation.
        message: String,
    },
    /// A constant is out of range.
    #[error("twin file {origin}: {message}")]
    Invalid {
        /// The file, or `bundled:<name>`.
        origin: String,
        /// Which constant and why.
        message: String,
    },
}

/// Twins compiled into the agent: (name, TOML).
pub const BUNDLED_TWINS: &[(&str, &str)] = &[
    ("pi4b", include_str!("../../../../boards/twins/pi4b.toml")),
    ("pi5", include_str!("../../../../boards/twins/pi5.toml")),
    ("pizero2w", include_str!("../../../../boards/twins/pizero2w.toml")),
];

impl TwinFile {
    /// Parses twin TOML read from `origin`, and checks every constant is usable.
    pub fn parse(origin: &str, text: &str) -> Result<Self, TwinFileError> {
        let file: Self =
            toml::from_str(text).map_err(|e| TwinFileError::Parse { origin: origin.into(), message: e.to_string() })?;
        file.validate().map_err(|message| TwinFileError::Invalid { origin: origin.into(), message })?;
        Ok(file)
    }

    /// Reads a twin file.
    pub fn load(path: &Path) -> Result<Self, TwinFileError> {
        let origin = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| TwinFileError::Read { path: origin.clone(), source })?;
        Self::parse(&origin, &text)
    }

    /// A bundled twin by name.
    pub fn bundled(name: &str) -> Option<Self> {
        let (_, text) = BUNDLED_TWINS.iter().find(|(n, _)| *n == name)?;
        Self::parse(&format!("bundled:{name}"), text).ok()
    }

    /// `twin <name> v<version>`, the label simulated figures carry.
    pub fn label(&self) -> String {
        format!("twin {} v{}", self.twin.name, self.twin.version)
    }

    fn validate(&self) -> Result<(), String> {
        let t = &self.time;
        let positive = [
            ("time.conv_gmac_s", t.conv_gmac_s),
            ("time.depthwise_gmac_s", t.depthwise_gmac_s),
            ("time.matmul_gmac_s", t.matmul_gmac_s),
            ("time.elementwise_gop_s", t.elementwise_gop_s),
            ("time.llc_gb_s", t.llc_gb_s),
            ("time.dram_gb_s", t.dram_gb_s),
            ("soc.clock_ghz", self.soc.clock_ghz),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{key} = {v}: must be a positive number"));
            }
        }
        let non_negative = [
            ("time.op_overhead_us", t.op_overhead_us),
            ("time.tile_m", t.tile_m),
            ("time.tile_k", t.tile_k),
            ("power.neon_w", self.power.neon_w),
            ("power.llc_nj_per_byte", self.power.llc_nj_per_byte),
        ];
        for (key, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{key} = {v}: must be zero or more"));
            }
        }
        let shares = [
            ("soc.llc_usable", self.soc.llc_usable),
            ("time.parallel_efficiency", t.parallel_efficiency),
            ("power.stall_core_share", self.power.stall_core_share),
        ];
        if let Some((key, v)) = shares.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("{key} = {v}: must lie in 0..=1"));
        }
        if self.soc.cores == 0 {
            return Err("soc.cores must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_twin_parses() {
        for (name, text) in BUNDLED_TWINS {
            let twin = TwinFile::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(twin.twin.name, *name);
            assert!(twin.twin.version >= 1);
        }
        assert_eq!(TwinFile::bundled("pi4b").map(|t| t.label()).as_deref(), Some("twin pi4b v2"));
        assert!(TwinFile::bundled("cray").is_none());
    }

    #[test]
    fn bad_constants_are_named() {
        let text = BUNDLED_TWINS[0].1.replace("dram_gb_s = 5.5", "dram_gb_s = 0.0");
        let error = TwinFile::parse("t.toml", &text).expect_err("zero bandwidth");
        assert!(error.to_string().contains("time.dram_gb_s"), "{error}");
        let text = BUNDLED_TWINS[0].1.replace("[power]", "[power]\nwarp_w = 1.0");
        let error = TwinFile::parse("t.toml", &text).expect_err("unknown key");
        assert!(error.to_string().contains("warp_w"), "{error}");
    }

    #[test]
    fn the_stalled_core_share_is_checked_and_defaults_to_a_full_core() {
        let (_, pi4b) = BUNDLED_TWINS[0];
        let text = pi4b.replace("stall_core_share = 0.5", "stall_core_share = 1.5");
        let error = TwinFile::parse("t.toml", &text).expect_err("share above 1");
        assert!(error.to_string().contains("power.stall_core_share = 1.5"), "{error}");
        // a twin file written before the key existed (a v1 fit) keeps its meaning
        let older: String = pi4b.lines().filter(|l| !l.starts_with("stall_core_share")).collect::<Vec<_>>().join("\n");
        assert_eq!(TwinFile::parse("old.toml", &older).expect("v1 file").power.stall_core_share, 1.0);
        assert_eq!(TwinFile::bundled("pi4b").expect("bundled").power.stall_core_share, 0.5);
    }
}
