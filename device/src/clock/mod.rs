//! Where time comes from.
//!
//! - [`BoardClock`]: the time base of a measurement, injected into the sensor, the sampler and
//!   the measurement protocol: the host's monotonic clock on a real board
//!   ([`BoardClock::Real`]), a board twin's [`VirtualClock`] on the simulated one. One code
//!   path reads both: `now`, `sleep_until`, and while a sampler window is open, `enlist` (the
//!   measuring thread as producer, the sampler as observer) and `blocking`, so that a virtual
//!   clock knows who may run ahead and who waits.
//! - [`Clock`]: what the emulated INA219 reads (`now` only), implemented by [`SystemClock`],
//!   [`BoardClock`] and, for tests (`cfg(test)` or the `test-support` feature), [`ManualClock`].

#[cfg(any(test, feature = "test-support"))]
mod manual;
pub mod virtual_clock;

use std::time::{Duration, Instant};

#[cfg(any(test, feature = "test-support"))]
pub use manual::ManualClock;
pub use virtual_clock::{Enlistment, Role, VirtualClock};

/// Where the emulated chip reads the time.
pub trait Clock: Send {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// `Instant::now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The clock a board's measurements run on.
#[derive(Debug, Clone, Default)]
pub enum BoardClock {
    /// The monotonic clock of the machine the agent runs on (a real board).
    #[default]
    Real,
    /// A board twin's modelled time (the simulated board).
    Virtual(VirtualClock),
}

impl BoardClock {
    /// The current instant on this clock.
    pub fn now(&self) -> Instant {
        match self {
            Self::Real => Instant::now(),
            Self::Virtual(clock) => clock.now(),
        }
    }

    /// Sleeps until `at` on this clock.
    pub fn sleep_until(&self, at: Instant) {
        match self {
            Self::Real => std::thread::sleep(at.saturating_duration_since(Instant::now())),
            Self::Virtual(clock) => clock.sleep_until(at),
        }
    }

    /// Sleeps for `duration` on this clock.
    pub fn sleep(&self, duration: Duration) {
        if !duration.is_zero() {
            self.sleep_until(self.now() + duration);
        }
    }

    /// Makes the calling thread a member of a virtual clock in `role` until the guard drops
    /// (nothing on the real clock).
    pub fn enlist(&self, role: Role) -> Option<Enlistment> {
        match self {
            Self::Real => None,
            Self::Virtual(clock) => Some(clock.enlist(role)),
        }
    }

    /// Runs `f`, which blocks on another member (a channel, a join): a virtual clock may move
    /// for the others meanwhile.
    pub fn blocking<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Self::Real => f(),
            Self::Virtual(clock) => clock.blocking(f),
        }
    }

    /// Before waking a producer blocked on this thread: on a virtual clock, the producer
    /// resumes at this thread's time (see [`VirtualClock::release_producers`]).
    pub fn release_producers(&self) {
        if let Self::Virtual(clock) = self {
            clock.release_producers();
        }
    }

    /// True for a twin's modelled clock.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Self::Virtual(_))
    }
}

impl Clock for BoardClock {
    fn now(&self) -> Instant {
        BoardClock::now(self)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }
}
