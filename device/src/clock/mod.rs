//! Where time comes from: the [`Clock`] trait the emulated INA219 reads and the monotonic
//! [`SystemClock`]; for tests (`cfg(test)` or the `test-support` feature) a [`ManualClock`]
//! moved by hand.

#[cfg(any(test, feature = "test-support"))]
mod manual;

use std::time::Instant;

#[cfg(any(test, feature = "test-support"))]
pub use manual::ManualClock;

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
