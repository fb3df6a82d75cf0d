//! [`LoadSignal`]: what the measured runs tell the board model, and what the board model says
//! they cost.
//!
//! On a real board there is no model: each run takes the time it takes, and nothing is
//! recorded. On the simulated board the signal holds the board twin: the measurement declares
//! the model it runs ([`LoadSignal::set_model`]), and after each real tract run asks how long
//! that run takes on the board ([`LoadSignal::ran`]); the twin records the inference's power
//! trace from that instant of the board clock, and the power model reads the trace back
//! ([`LoadSignal::dynamic_energy_j`]) when the emulated INA219 converts.
//!
//! A model shorter than [`REPLAY`] on the board would cost the host more real runs than the
//! board does: one real run then stands for the identical runs (same model, same input, same
//! outputs) of up to [`REPLAY`] of board time, recorded back to back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use wattevo_proto::CpuInfo;

use super::twin::{InferenceTrace, ModelFacts, Twin};

/// How long before the latest instant the power model asked about a finished inference is
/// kept (a conversion looks back at most 68 ms).
const HISTORY: Duration = Duration::from_secs(1);

/// Board time one real run of a short model stands for.
pub const REPLAY: Duration = Duration::from_millis(1);

/// What one real run was on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    /// Board time of each inference (zero on a real board: the run took its own time).
    pub each: Duration,
    /// Inferences the real run stands for (1 on a real board).
    pub count: u32,
}

/// Most inferences kept, whatever the readers do (a bound on memory, never reached when the
/// sampler reads).
const MAX_KEPT: usize = 1 << 20;

/// An inference on the board clock.
#[derive(Debug, Clone)]
struct Busy {
    start: Instant,
    end: Instant,
    trace: Arc<InferenceTrace>,
}

impl Busy {
    /// Seconds from this inference's start to `at` (negative before it).
    fn offset_s(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64() - self.start.saturating_duration_since(at).as_secs_f64()
    }
}

#[derive(Debug, Default)]
struct LoadState {
    trace: Option<Arc<InferenceTrace>>,
    busy: VecDeque<Busy>,
    modelled_cpu_s: f64,
}

/// The agent's load, as the board model sees it (lock-protected; shared with the sampler).
#[derive(Debug, Default)]
pub struct LoadSignal {
    twin: OnceLock<Twin>,
    state: Mutex<LoadState>,
}

/// CPU time this process has used (a real board's busy time); zero if the clock is unavailable.
pub fn process_cpu_time() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map(Duration::from).unwrap_or_default()
}

impl LoadSignal {
    /// A signal with no board model (a real board).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A signal driven by `twin`.
    pub fn with_twin(twin: Twin) -> Arc<Self> {
        let signal = Self::default();
        let _ = signal.twin.set(twin);
        Arc::new(signal)
    }

    /// Attaches `twin`; false if one was attached already.
    pub fn attach_twin(&self, twin: Twin) -> bool {
        self.twin.set(twin).is_ok()
    }

    /// The board twin, on a simulated board.
    pub fn twin(&self) -> Option<&Twin> {
        self.twin.get()
    }

    fn lock(&self) -> MutexGuard<'_, LoadState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Declares the model the next runs execute.
    pub fn set_model(&self, facts: &ModelFacts) {
        let trace = self.twin().map(|twin| Arc::new(twin.trace(facts)));
        self.lock().trace = trace;
    }

    /// One run finished its real execution at `at` on the board clock: how long it takes on
    /// the board from there, and how many back-to-back inferences it stands for (see the
    /// module docs). Without a twin, a real run took its own time: zero, once.
    pub fn ran(&self, at: Instant) -> Ran {
        let mut state = self.lock();
        let Some(trace) = state.trace.clone() else { return Ran { each: Duration::ZERO, count: 1 } };
        // Every model costs the board some time (the plan's run is an operator of its own);
        // the floor only guarantees that the board clock moves.
        let each = trace.duration().max(Duration::from_micros(1));
        let count = (REPLAY.as_nanos() / each.as_nanos()).clamp(1, 1_000) as u32;
        state.modelled_cpu_s += trace.cpu_s() * f64::from(count);
        let mut start = at;
        for _ in 0..count {
            if state.busy.len() >= MAX_KEPT {
                state.busy.pop_front();
            }
            state.busy.push_back(Busy { start, end: start + each, trace: Arc::clone(&trace) });
            start += each;
        }
        Ran { each, count }
    }

    /// The inferences that overlap `[from, to]`, after dropping those that ended more than
    /// [`HISTORY`] before `from` (the readers' instants only move forward).
    fn overlapping(state: &mut LoadState, from: Instant, to: Instant) -> impl Iterator<Item = &Busy> {
        let keep_from = from.checked_sub(HISTORY).unwrap_or(from);
        while state.busy.front().is_some_and(|b| b.end < keep_from) {
            state.busy.pop_front();
        }
        let first = state.busy.partition_point(|b| b.end <= from);
        state.busy.range(first..).take_while(move |b| b.start <= to)
    }

    /// CPU time used so far: modelled on a simulated board, the process's on a real one.
    pub fn cpu_time(&self) -> Duration {
        if self.twin().is_some() { Duration::from_secs_f64(self.lock().modelled_cpu_s) } else { process_cpu_time() }
    }

    /// ∫ power above idle dt over `[from, to]` on the board clock, joules.
    pub fn dynamic_energy_j(&self, from: Instant, to: Instant) -> f64 {
        let mut state = self.lock();
        Self::overlapping(&mut state, from, to).map(|b| b.trace.energy_between(b.offset_s(from), b.offset_s(to))).sum()
    }

    /// Power above idle at `at` on the board clock, watts.
    pub fn dynamic_power_w(&self, at: Instant) -> f64 {
        let mut state = self.lock();
        Self::overlapping(&mut state, at, at).map(|b| b.trace.power_at(b.offset_s(at))).sum()
    }

    /// `cpu` as the handshake should describe it: on a simulated board, the twin's SoC,
    /// labelled simulated with the twin's name and version, and the host it runs on.
    pub fn describe_cpu(&self, cpu: CpuInfo) -> CpuInfo {
        let Some(twin) = self.twin() else { return cpu };
        let host = if cpu.model.is_empty() { cpu.arch.clone() } else { format!("{}, {}", cpu.model, cpu.arch) };
        CpuInfo {
            model: format!("SIMULATED {}: {} (host: {host})", twin.label(), twin.soc.twin.description),
            cores: twin.soc.soc.cores,
            ..cpu
        }
    }
}
