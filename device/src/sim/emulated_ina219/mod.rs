//! An INA219 in software: implements `embedded_hal::i2c::I2c` with the chip's register map,
//! pointer semantics, quantisation, integer math, conversion timing and CNVR/OVF behaviour.
//! Its analogue input (load current and bus voltage over time) comes from an
//! [`AnalogueSource`]; the simulated board drives it with the board's power model. The real
//! driver ([`crate::ina219::Ina219`]) talks to it exactly as to the chip on `/dev/i2c-N`.
//!
//! Timing: a conversion cycle (shunt, then bus, as the mode says) starts at power-on and at
//! every configuration write; in continuous modes cycles follow back to back. Results change
//! only when a cycle completes, so a read between completions returns the previous result. The
//! chip is lazy: on each bus access it converts the last cycle completed since the previous
//! access (earlier ones would have been overwritten unread anyway).

mod conversion;
#[cfg(test)]
mod tests;

use std::time::Instant;

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation, SevenBitAddress};

use conversion::Results;

use super::AnalogueSource;
use crate::clock::{Clock, SystemClock};
use crate::ina219::config::{CONFIG_DEFAULT, CONFIG_RESET, Config};
use crate::ina219::registers::{BUS_CNVR, BUS_OVF, BUS_VALUE_SHIFT, Register};

/// What the emulated chip refuses, as an I2C master would see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmulatedI2cError {
    /// Nothing answers at this address.
    #[error("no INA219 answers at address {0:#04x}")]
    NoDevice(u8),
    /// A pointer byte that is not one of the six registers.
    #[error("register pointer {0:#04x} does not exist on the INA219")]
    BadPointer(u8),
    /// A write of a length other than 0 (probe), 1 (pointer) or 3 (pointer and value).
    #[error("write of {0} bytes: the INA219 takes a pointer byte and optionally two data bytes")]
    WriteLength(usize),
    /// A read of other than 1 or 2 bytes.
    #[error("read of {0} bytes: INA219 registers are 2 bytes")]
    ReadLength(usize),
}

impl embedded_hal::i2c::Error for EmulatedI2cError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NoDevice(_) => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address),
            Self::BadPointer(_) | Self::WriteLength(_) => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data),
            Self::ReadLength(_) => ErrorKind::Other,
        }
    }
}

/// The emulated chip.
#[derive(Debug)]
pub struct EmulatedIna219<S, C = SystemClock> {
    source: S,
    clock: C,
    address: u8,
    shunt_ohms: f64,
    config: u16,
    calibration: u16,
    pointer: Register,
    results: Results,
    conversion_ready: bool,
    /// Start of the cycle in progress; `None` when the ADC is idle.
    cycle_start: Option<Instant>,
}

impl<S: AnalogueSource> EmulatedIna219<S, SystemClock> {
    /// A chip at `address` with a `shunt_ohms` shunt, reading `source` on the monotonic clock.
    pub fn new(source: S, address: u8, shunt_ohms: f64) -> Self {
        Self::with_clock(source, SystemClock, address, shunt_ohms)
    }
}

impl<S: AnalogueSource, C: Clock> EmulatedIna219<S, C> {
    /// A chip reading the time from `clock`; it powers on now, in the default configuration.
    pub fn with_clock(source: S, clock: C, address: u8, shunt_ohms: f64) -> Self {
        let now = clock.now();
        Self {
            source,
            clock,
            address,
            shunt_ohms,
            config: CONFIG_DEFAULT,
            calibration: 0,
            pointer: Register::Configuration,
            results: Results::default(),
            conversion_ready: false,
            cycle_start: Some(now),
        }
    }

    /// The analogue source, e.g. to change the load in a test.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The configuration the chip is running.
    pub fn config(&self) -> Config {
        Config::from_register(self.config)
    }

    /// Converts the last cycle completed by `now`, if any.
    fn update(&mut self, now: Instant) {
        let Some(start) = self.cycle_start else { return };
        let config = self.config();
        let cycle = config.cycle_time();
        if cycle.is_zero() {
            self.cycle_start = None;
            return;
        }
        let elapsed = now.saturating_duration_since(start);
        let completed = elapsed.as_nanos() / cycle.as_nanos();
        if completed == 0 {
            return;
        }
        let cycles = u32::try_from(completed).unwrap_or(u32::MAX);
        let end = start + cycle * cycles;
        self.results =
            conversion::convert(&mut self.source, config, self.calibration, self.shunt_ohms, end, self.results);
        self.conversion_ready = true;
        self.cycle_start = config.mode.is_continuous().then_some(end);
    }

    /// The value a read of `register` returns now.
    fn register_value(&self, register: Register) -> u16 {
        let results = &self.results;
        match register {
            Register::Configuration => self.config,
            Register::ShuntVoltage => results.shunt as u16,
            Register::BusVoltage => {
                let flags =
                    if self.conversion_ready { BUS_CNVR } else { 0 } | if results.overflow { BUS_OVF } else { 0 };
                (results.bus_count << BUS_VALUE_SHIFT) | flags
            }
            Register::Power => results.power,
            Register::Current => results.current as u16,
            Register::Calibration => self.calibration,
        }
    }

    fn write_bytes(&mut self, bytes: &[u8], now: Instant) -> Result<(), EmulatedI2cError> {
        let Some(&pointer) = bytes.first() else { return Ok(()) };
        let register = Register::from_address(pointer).ok_or(EmulatedI2cError::BadPointer(pointer))?;
        self.pointer = register;
        match bytes {
            [_] => Ok(()),
            [_, msb, lsb] => {
                self.write_register(register, u16::from_be_bytes([*msb, *lsb]), now);
                Ok(())
            }
            _ => Err(EmulatedI2cError::WriteLength(bytes.len())),
        }
    }

    fn write_register(&mut self, register: Register, value: u16, now: Instant) {
        self.update(now);
        match register {
            Register::Configuration if value & CONFIG_RESET != 0 => {
                self.config = CONFIG_DEFAULT;
                self.calibration = 0;
                self.results = Results::default();
                self.restart(now);
            }
            Register::Configuration => {
                // Bit 14 is reserved; a new mode clears CNVR and restarts the conversion.
                self.config = value & 0x3FFF;
                self.restart(now);
            }
            // Bit 0 is void and always reads 0.
            Register::Calibration => self.calibration = value & !1,
            _ => {}
        }
    }

    fn restart(&mut self, now: Instant) {
        let (shunt, bus) = self.config().mode.converts();
        if shunt || bus {
            self.conversion_ready = false;
            self.cycle_start = Some(now);
        } else {
            self.cycle_start = None;
        }
    }

    fn read_bytes(&mut self, buffer: &mut [u8], now: Instant) -> Result<(), EmulatedI2cError> {
        if buffer.is_empty() || buffer.len() > 2 {
            return Err(EmulatedI2cError::ReadLength(buffer.len()));
        }
        self.update(now);
        let bytes = self.register_value(self.pointer).to_be_bytes();
        buffer.copy_from_slice(&bytes[..buffer.len()]);
        if self.pointer == Register::Power {
            self.conversion_ready = false;
        }
        Ok(())
    }
}

impl<S, C> ErrorType for EmulatedIna219<S, C> {
    type Error = EmulatedI2cError;
}

impl<S: AnalogueSource, C: Clock> I2c<SevenBitAddress> for EmulatedIna219<S, C> {
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), Self::Error> {
        if address != self.address {
            return Err(EmulatedI2cError::NoDevice(address));
        }
        let now = self.clock.now();
        for operation in operations {
            match operation {
                Operation::Write(bytes) => self.write_bytes(bytes, now)?,
                Operation::Read(buffer) => self.read_bytes(buffer, now)?,
            }
        }
        Ok(())
    }
}
