//! The twin's cost model: time, memory traffic and power of each operator on the board.
//!
//! For operator *i* of a model on `T` tract threads:
//!
//! ```text
//! t_i = overhead + work_i / (rate_kind · eff_i · s_i) + B_llc,i / bw_llc + B_dram,i / bw_dram
//! eff_i = m / (m + tile_m) · k / (k + tile_k)   (dense matrix products; 1 otherwise)
//! s_i   = 1 + (T − 1) · parallel_efficiency       (matrix products; 1 otherwise)
//! P_i   = idle + core_w · (cores_i − (1 − s) · w_i) + neon_w · T_i · u_i + e_llc · B_llc,i / t_i + e_dram · B_dram,i / t_i
//! ```
//!
//! `work` is MACs for matrix kinds, element operations otherwise; `cores_i` the mean busy
//! cores (T during a matrix product's compute, 1 otherwise), `u_i` the share of `t_i` spent
//! computing, `w_i` the share spent waiting on DRAM (`B_dram,i / bw_dram / t_i`), during which a
//! core draws the share `s` (`stall_core_share`) of `core_w`. Energy is `P_i · t_i`; dynamic
//! energy leaves idle out.
//!
//! Caches, in steady state (inferences back to back): a model whose footprint (all weights +
//! the largest operator's activations) fits the usable last-level cache `L` moves nothing to
//! DRAM; above it, a random-replacement cache keeps the share `L / footprint` of the weights,
//! and the rest streams from DRAM every inference. Activations an operator touches are free
//! within L1, served by the last-level cache up to `L`, from DRAM beyond.

use super::constants::TwinFile;
use super::graph::{ModelFacts, OpFacts, OpKind};
use wattevo_proto::PowerModelSettings;

/// A board twin: SoC constants, the board's power figures, and tract's thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct Twin {
    /// The SoC file.
    pub soc: TwinFile,
    /// The board's idle, per-core and DRAM power (the profile's `[power_model]`).
    pub board: PowerModelSettings,
    /// Threads tract runs matrix products on.
    pub threads: u16,
}

/// What one operator costs on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct OpEstimate {
    /// Node name.
    pub name: String,
    /// Kind of work.
    pub kind: OpKind,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Element operations (non-matrix kinds).
    pub elements: u64,
    /// Bytes served by the last-level cache.
    pub bytes_from_llc: f64,
    /// Bytes moved to or from DRAM.
    pub bytes_to_dram: f64,
    /// Fixed per-operator time, seconds.
    pub overhead_s: f64,
    /// Compute time (wall, after the thread speed-up), seconds.
    pub compute_s: f64,
    /// Memory time, seconds.
    pub memory_s: f64,
    /// The part of `memory_s` spent waiting on DRAM, seconds.
    pub dram_wait_s: f64,
    /// Total time, seconds.
    pub time_s: f64,
    /// Mean busy cores over the operator.
    pub busy_cores: f64,
    /// Cores computing during `compute_s` (tract threads for matrix kinds, else 1).
    pub compute_cores: f64,
    /// Mean board power over the operator, watts.
    pub power_w: f64,
    /// Board energy over the operator (idle included), joules.
    pub energy_j: f64,
    /// Energy above idle, joules.
    pub dynamic_energy_j: f64,
}

/// Bytes an operator moves at each level.
#[derive(Debug, Clone, Copy, Default)]
struct Traffic {
    llc: f64,
    dram: f64,
}

impl Twin {
    /// `twin <name> v<version>`.
    pub fn label(&self) -> String {
        self.soc.label()
    }

    /// Threads, at least 1 and at most the SoC's cores.
    pub fn threads(&self) -> f64 {
        f64::from(self.threads.clamp(1, self.soc.soc.cores))
    }

    /// Usable last-level cache, bytes.
    fn llc_usable(&self) -> f64 {
        self.soc.soc.llc_bytes as f64 * self.soc.soc.llc_usable
    }

    /// Footprint of a model: every weight plus the largest operator's activations, bytes.
    pub fn footprint_bytes(facts: &ModelFacts) -> f64 {
        let peak = facts.ops.iter().map(OpFacts::activation_bytes).max().unwrap_or(0);
        (facts.weight_bytes() + peak) as f64
    }

    /// Share of the weights the last-level cache keeps between inferences.
    pub fn weight_hit_rate(&self, facts: &ModelFacts) -> f64 {
        let footprint = Self::footprint_bytes(facts);
        if footprint <= self.llc_usable() { 1.0 } else { self.llc_usable() / footprint }
    }

    fn traffic(&self, op: &OpFacts, footprint: f64, hit: f64) -> Traffic {
        let l1 = self.soc.soc.l1d_bytes as f64;
        if footprint <= l1 || op.kind == OpKind::Layout {
            return Traffic::default();
        }
        let weights = op.weight_bytes as f64;
        let activations = op.activation_bytes() as f64;
        let (act_llc, act_dram) = if activations <= l1 {
            (0.0, 0.0)
        } else {
            let dram = (activations - self.llc_usable()).max(0.0);
            (activations - dram, dram)
        };
        Traffic { llc: weights * hit + act_llc, dram: weights * (1.0 - hit) + act_dram }
    }

    /// Tile efficiency of a dense matrix product (1 for other kinds).
    pub fn tile_efficiency(&self, op: &OpFacts) -> f64 {
        let t = &self.soc.time;
        match op.kind {
            OpKind::Conv | OpKind::MatMul => {
                let (m, k) = (op.m.max(1) as f64, op.k.max(1) as f64);
                (m / (m + t.tile_m)) * (k / (k + t.tile_k))
            }
            _ => 1.0,
        }
    }

    /// Speed-up of the operator's compute on the twin's threads.
    pub fn speedup(&self, kind: OpKind) -> f64 {
        if kind.is_matrix() { 1.0 + (self.threads() - 1.0) * self.soc.time.parallel_efficiency } else { 1.0 }
    }

    /// Work at unit rate for the operator's kind: effective MACs or element operations.
    pub fn effective_work(&self, op: &OpFacts) -> f64 {
        let work = if op.kind.is_matrix() { op.macs as f64 } else { op.elements as f64 };
        work / (self.tile_efficiency(op) * self.speedup(op.kind))
    }

    /// Rate of the operator's kind, operations per second.
    pub fn rate(&self, kind: OpKind) -> f64 {
        let t = &self.soc.time;
        1e9 * match kind {
            OpKind::Conv => t.conv_gmac_s,
            OpKind::Depthwise => t.depthwise_gmac_s,
            OpKind::MatMul => t.matmul_gmac_s,
            OpKind::Pool | OpKind::ElementWise | OpKind::Layout => t.elementwise_gop_s,
        }
    }

    /// Every operator's estimate, in evaluation order.
    pub fn estimate(&self, facts: &ModelFacts) -> Vec<OpEstimate> {
        let footprint = Self::footprint_bytes(facts);
        let hit = self.weight_hit_rate(facts);
        facts.ops.iter().map(|op| self.estimate_op(op, footprint, hit)).collect()
    }

    fn estimate_op(&self, op: &OpFacts, footprint: f64, hit: f64) -> OpEstimate {
        let t = &self.soc.time;
        let traffic = self.traffic(op, footprint, hit);
        let overhead_s = if op.kind == OpKind::Layout { 0.0 } else { t.op_overhead_us * 1e-6 };
        let compute_s = self.effective_work(op) / self.rate(op.kind);
        let dram_wait_s = traffic.dram / (t.dram_gb_s * 1e9);
        let memory_s = traffic.llc / (t.llc_gb_s * 1e9) + dram_wait_s;
        let time_s = overhead_s + compute_s + memory_s;
        let compute_cores = if op.kind.is_matrix() { self.threads() } else { 1.0 };
        let busy_cores = if time_s > 0.0 { (compute_cores * compute_s + (time_s - compute_s)) / time_s } else { 0.0 };
        let stalled_core_s = (1.0 - self.soc.power.stall_core_share) * dram_wait_s;
        let dynamic_energy_j = self.board.core_w * (busy_cores * time_s - stalled_core_s)
            + self.soc.power.neon_w * compute_cores * compute_s
            + self.soc.power.llc_nj_per_byte * 1e-9 * traffic.llc
            + self.board.dram_nj_per_byte * 1e-9 * traffic.dram;
        let energy_j = dynamic_energy_j + self.board.idle_w * time_s;
        OpEstimate {
            name: op.name.clone(),
            kind: op.kind,
            macs: op.macs,
            elements: op.elements,
            bytes_from_llc: traffic.llc,
            bytes_to_dram: traffic.dram,
            overhead_s,
            compute_s,
            memory_s,
            dram_wait_s,
            time_s,
            busy_cores,
            compute_cores,
            power_w: if time_s > 0.0 { energy_j / time_s } else { self.board.idle_w },
            energy_j,
            dynamic_energy_j,
        }
    }
}

/// Sums over a model's estimates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelEstimate {
    /// Time per inference, seconds.
    pub latency_s: f64,
    /// Board energy per inference, joules.
    pub energy_j: f64,
    /// Energy above idle per inference, joules.
    pub dynamic_energy_j: f64,
    /// Bytes to or from DRAM per inference.
    pub bytes_to_dram: f64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

impl ModelEstimate {
    /// Totals of `ops`.
    pub fn of(ops: &[OpEstimate]) -> Self {
        ops.iter().fold(Self::default(), |acc, op| Self {
            latency_s: acc.latency_s + op.time_s,
            energy_j: acc.energy_j + op.energy_j,
            dynamic_energy_j: acc.dynamic_energy_j + op.dynamic_energy_j,
            bytes_to_dram: acc.bytes_to_dram + op.bytes_to_dram,
            macs: acc.macs + op.macs,
        })
    }

    /// Mean board power, watts.
    pub fn power_w(&self) -> f64 {
        if self.latency_s > 0.0 { self.energy_j / self.latency_s } else { f64::NAN }
    }
}
