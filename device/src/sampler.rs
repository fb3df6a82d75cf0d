//! The sampler: a thread that reads a [`PowerSensor`] at a fixed rate while a window is open.
//!
//! [`Sampler::open_window`] moves the sensor onto a fresh thread, which takes a first reading
//! before `open_window` returns (so a timed section started afterwards is covered), then reads
//! on a fixed schedule `first + k × period` with monotonic timestamps. A reading that ends past
//! the next slot skips the slots it overran and counts each as a missed deadline.
//! [`OpenWindow::close`] stops the thread and hands back the readings and the sensor.
//! The thread never logs, so nothing but the sensor runs beside the timed work.
//!
//! Time is the sensor's [`BoardClock`]: the host's clock on a real board, the twin's virtual
//! clock on the simulated one. While a window is open on a virtual clock, the thread that
//! opened it is its producer (it runs ahead, publishing the board's activity) and the sampler
//! thread its observer (it reads only as far as the producer has got); closing the window
//! stops the sampler at the closing thread's instant, so the readings cover the window exactly
//! whichever thread the host ran first.

use std::sync::Arc;
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::{BoardClock, Enlistment, Role};
use crate::sensor::{PowerSample, PowerSensor};

/// Readings of one window.
#[derive(Debug, Clone, Default)]
pub struct WindowReadings {
    /// Successful readings, in time order.
    pub samples: Vec<PowerSample>,
    /// Scheduled readings skipped because a reading overran its slot.
    pub missed_deadlines: u64,
    /// Readings that failed.
    pub read_errors: u64,
    /// The first failure, for the error reply.
    pub first_error: Option<String>,
}

impl WindowReadings {
    /// Achieved sample rate between the first and last reading, hertz (0 below two readings).
    pub fn sample_rate_hz(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) if self.samples.len() > 1 && b.at > a.at => {
                (self.samples.len() - 1) as f64 / b.at.duration_since(a.at).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Owns the sensor between windows.
pub struct Sampler {
    sensor: Option<Box<dyn PowerSensor>>,
    period: Duration,
    clock: BoardClock,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").field("period", &self.period).field("clock", &self.clock).finish_non_exhaustive()
    }
}

/// Why a window could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// The sensor is lost (a sampler thread panicked).
    #[error("the power sensor was lost by a failed sampler thread")]
    SensorLost,
    /// The operating system refused a thread.
    #[error("cannot start the sampler thread: {0}")]
    Spawn(#[from] std::io::Error),
}

impl Sampler {
    /// Reads `sensor` every `rate_hz` (0: every conversion time).
    pub fn new(sensor: Box<dyn PowerSensor>, rate_hz: u32) -> Self {
        let period = if rate_hz == 0 {
            sensor.conversion_time().max(Duration::from_micros(50))
        } else {
            Duration::from_secs_f64(1.0 / f64::from(rate_hz))
        };
        let clock = sensor.clock();
        Self { sensor: Some(sensor), period, clock }
    }

    /// The clock the sensor's readings are stamped on; measurements time their windows on it.
    pub fn clock(&self) -> &BoardClock {
        &self.clock
    }

    /// Interval between scheduled readings.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The sensor's description (None while a window is open or after a lost sensor).
    pub fn sensor_info(&self) -> Option<wattevo_proto::SensorInfo> {
        self.sensor.as_ref().map(|s| s.info())
    }

    /// Starts sampling; returns once the first reading was attempted.
    pub fn open_window(&mut self) -> Result<OpenWindow<'_>, SamplerError> {
        let sensor = self.sensor.take().ok_or(SamplerError::SensorLost)?;
        let stop = Arc::new(StopAt::default());
        let (started_tx, started_rx) = mpsc::channel();
        let (period, clock) = (self.period, self.clock.clone());
        let thread_stop = Arc::clone(&stop);
        let member = self.clock.enlist(Role::Producer);
        let spawned = std::thread::Builder::new()
            .name("sampler".into())
            .spawn(move || sample_loop(sensor, period, &clock, &thread_stop, &started_tx));
        let handle = match spawned {
            Ok(handle) => handle,
            Err(error) => {
                // The sensor went with the closure: it is lost, as when a thread panics.
                drop(member);
                return Err(error.into());
            }
        };
        // An error here means the thread died; `close` reports the lost sensor.
        let _ = self.clock.blocking(|| started_rx.recv());
        Ok(OpenWindow { sampler: self, stop, handle: Some(handle), _member: member })
    }
}

/// A window being sampled; close it to get the readings.
#[derive(Debug)]
pub struct OpenWindow<'a> {
    sampler: &'a mut Sampler,
    stop: Arc<StopAt>,
    handle: Option<JoinHandle<(Box<dyn PowerSensor>, WindowReadings)>>,
    /// The opening thread's membership of a virtual clock, for the window's length.
    _member: Option<Enlistment>,
}

impl OpenWindow<'_> {
    /// Stops the thread and returns the window's readings.
    pub fn close(mut self) -> Result<WindowReadings, SamplerError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<WindowReadings, SamplerError> {
        self.stop.set(self.sampler.clock.now());
        let handle = self.handle.take().ok_or(SamplerError::SensorLost)?;
        let joined = self.sampler.clock.blocking(|| handle.join());
        let (sensor, readings) = joined.map_err(|_| SamplerError::SensorLost)?;
        self.sampler.sensor = Some(sensor);
        Ok(readings)
    }
}

impl Drop for OpenWindow<'_> {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.finish();
        }
    }
}

/// The instant a window closes at, once the closing thread set it.
#[derive(Debug, Default)]
struct StopAt(Mutex<Option<Instant>>);

impl StopAt {
    fn set(&self, at: Instant) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    /// Whether a reading taken at `now` is the last of the window.
    fn reached(&self, now: Instant) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).is_some_and(|end| now >= end)
    }
}

fn sample_loop(
    mut sensor: Box<dyn PowerSensor>,
    period: Duration,
    clock: &BoardClock,
    stop: &StopAt,
    started: &mpsc::Sender<()>,
) -> (Box<dyn PowerSensor>, WindowReadings) {
    let _member = clock.enlist(Role::Observer);
    let mut out = WindowReadings { samples: Vec::with_capacity(8192), ..WindowReadings::default() };
    let first = clock.now();
    let mut slot: u64 = 0;
    loop {
        match sensor.read() {
            Ok(sample) => out.samples.push(sample),
            Err(e) => {
                out.read_errors += 1;
                out.first_error.get_or_insert_with(|| e.to_string());
            }
        }
        if slot == 0 {
            clock.release_producers();
            let _ = started.send(());
        }
        let now = clock.now();
        if stop.reached(now) {
            break;
        }
        let due = |k: u64| first + period.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
        slot += 1;
        while due(slot) < now {
            out.missed_deadlines += 1;
            slot += 1;
        }
        clock.sleep_until(due(slot));
    }
    (sensor, out)
}

#[cfg(test)]
mod tests {
    use wattevo_proto::{PowerModelSettings, SensorInfo};

    use super::*;
    use crate::sensor::SensorError;
    use crate::sim::{CpuLoad, LoadSignal, ModelSensor, PowerModel};

    fn model_sensor() -> Box<dyn PowerSensor> {
        let settings = PowerModelSettings {
            supply_v: 5.0,
            idle_w: 2.0,
            core_w: 1.0,
            dram_nj_per_byte: 0.0,
            noise_w: 0.0,
            seed: 1,
            twin: None,
        };
        let model = PowerModel::with_cpu_load(settings, LoadSignal::new(), CpuLoad::Fixed(0.0));
        Box::new(ModelSensor::new(model, Duration::from_micros(532)))
    }

    #[test]
    fn window_collects_ordered_samples_near_the_rate() {
        let mut sampler = Sampler::new(model_sensor(), 0);
        let window = sampler.open_window().expect("open");
        std::thread::sleep(Duration::from_millis(100));
        let r = window.close().expect("close");
        assert!(r.samples.windows(2).all(|w| w[0].at <= w[1].at));
        // Nominal 1880 Hz: 100 ms gives ≈ 188 samples; demand at least a third of that.
        assert!(r.samples.len() > 60, "{} samples", r.samples.len());
        assert!(r.sample_rate_hz() < 2000.0, "rate {}", r.sample_rate_hz());
        assert_eq!(r.read_errors, 0);
        // The sensor came back: a second window opens.
        let again = sampler.open_window().expect("reopen").close().expect("close");
        assert!(!again.samples.is_empty());
    }

    struct SlowSensor;
    impl PowerSensor for SlowSensor {
        fn read(&mut self) -> Result<PowerSample, SensorError> {
            std::thread::sleep(Duration::from_millis(3));
            Err(SensorError::Bus("no ack".into()))
        }
        fn conversion_time(&self) -> Duration {
            Duration::from_millis(1)
        }
        fn info(&self) -> SensorInfo {
            unreachable!("not used")
        }
    }

    #[test]
    fn overruns_count_missed_deadlines_and_errors() {
        let mut sampler = Sampler::new(Box::new(SlowSensor), 0);
        let window = sampler.open_window().expect("open");
        std::thread::sleep(Duration::from_millis(40));
        let r = window.close().expect("close");
        assert!(r.missed_deadlines >= 5, "missed {}", r.missed_deadlines);
        assert!(r.read_errors >= 5);
        assert_eq!(r.first_error.as_deref(), Some("I2C bus error: no ack"));
        assert!(r.samples.is_empty());
    }
}
