//! The INA219 driver over an `embedded-hal` 1.0 I2C bus.
//!
//! Every bus access is a single plain transfer, because Raspberry Pi's I2C driver rejects
//! combined (repeated-start) transactions: a register write is `write([reg, msb, lsb])`; a read
//! is `write([reg])` to move the register pointer, then `read([msb, lsb])`. The chip keeps its
//! pointer between reads, so the driver re-points only when the register changes.

use embedded_hal::i2c::I2c;

use super::Error;
use super::calibration::Calibration;
use super::config::{CONFIG_RESET, Config};
use super::registers::{BusVoltage, MicroAmps, MicroVolts, MicroWatts, MilliVolts, Register, shunt_voltage_from_raw};

/// One conversion's results, read together after CNVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// The bus voltage register (value and flags) as read.
    pub bus: BusVoltage,
    /// Current register, scaled.
    pub current: MicroAmps,
    /// Power register, scaled.
    pub power: MicroWatts,
}

impl Measurement {
    /// Bus voltage, millivolts.
    pub const fn bus_voltage_mv(&self) -> MilliVolts {
        self.bus.voltage_mv()
    }
}

/// An INA219 at one address on an I2C bus.
#[derive(Debug)]
pub struct Ina219<I2C> {
    i2c: I2C,
    address: u8,
    /// Where the chip's register pointer is, when known.
    pointer: Option<Register>,
    calibration: Option<Calibration>,
}

impl<I2C: I2c> Ina219<I2C> {
    /// A driver for the chip at 7-bit `address` (0x40 with A0 = A1 = GND). Sends nothing.
    pub fn new(i2c: I2C, address: u8) -> Self {
        Self { i2c, address, pointer: None, calibration: None }
    }

    /// Writes the configuration, then the calibration.
    pub fn init(&mut self, config: Config, calibration: Calibration) -> Result<(), Error<I2C::Error>> {
        self.set_config(config)?;
        self.set_calibration(calibration)
    }

    /// Writes the configuration register.
    pub fn set_config(&mut self, config: Config) -> Result<(), Error<I2C::Error>> {
        self.write_register(Register::Configuration, config.register())
    }

    /// Writes the calibration register; current and power read as 0 until this is done.
    pub fn set_calibration(&mut self, calibration: Calibration) -> Result<(), Error<I2C::Error>> {
        self.write_register(Register::Calibration, calibration.register())?;
        self.calibration = Some(calibration);
        Ok(())
    }

    /// Resets every register to its power-on value (calibration 0).
    pub fn reset(&mut self) -> Result<(), Error<I2C::Error>> {
        self.write_register(Register::Configuration, CONFIG_RESET)?;
        self.calibration = None;
        Ok(())
    }

    /// The calibration last written, if any.
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration
    }

    /// Reads the configuration register back.
    pub fn config(&mut self) -> Result<Config, Error<I2C::Error>> {
        self.read_register(Register::Configuration).map(Config::from_register)
    }

    /// Shunt voltage, microvolts (signed, 10 µV LSB).
    pub fn shunt_voltage_uv(&mut self) -> Result<MicroVolts, Error<I2C::Error>> {
        self.read_register(Register::ShuntVoltage).map(shunt_voltage_from_raw)
    }

    /// The bus voltage register with its CNVR and OVF flags, not checked.
    pub fn bus_voltage(&mut self) -> Result<BusVoltage, Error<I2C::Error>> {
        self.read_register(Register::BusVoltage).map(BusVoltage::from_raw)
    }

    /// Bus voltage, millivolts (4 mV LSB); [`Error::Overflow`] when OVF is set.
    pub fn bus_voltage_mv(&mut self) -> Result<MilliVolts, Error<I2C::Error>> {
        let bus = self.bus_voltage()?;
        if bus.overflow() { Err(Error::Overflow) } else { Ok(bus.voltage_mv()) }
    }

    /// Current, microamperes. The current register carries no flag: OVF is in the bus
    /// register, which [`poll_measurement`](Self::poll_measurement) checks.
    pub fn current_ua(&mut self) -> Result<MicroAmps, Error<I2C::Error>> {
        let calibration = self.calibration.ok_or(Error::NotCalibrated)?;
        self.read_register(Register::Current).map(|raw| calibration.current_from_register(raw))
    }

    /// Power, microwatts. Reading the power register clears CNVR.
    pub fn power_uw(&mut self) -> Result<MicroWatts, Error<I2C::Error>> {
        let calibration = self.calibration.ok_or(Error::NotCalibrated)?;
        self.read_register(Register::Power).map(|raw| calibration.power_from_register(raw))
    }

    /// Reads the bus register; when CNVR is set, also current and power (which clears CNVR).
    ///
    /// `Ok(None)`: no conversion completed since the last power read (one bus transfer).
    /// [`Error::Overflow`] when OVF is set; power is still read so the next call waits for a
    /// fresh conversion.
    pub fn poll_measurement(&mut self) -> Result<Option<Measurement>, Error<I2C::Error>> {
        let calibration = self.calibration.ok_or(Error::NotCalibrated)?;
        let bus = self.bus_voltage()?;
        if !bus.conversion_ready() {
            return Ok(None);
        }
        if bus.overflow() {
            self.read_register(Register::Power)?;
            return Err(Error::Overflow);
        }
        let current = calibration.current_from_register(self.read_register(Register::Current)?);
        let power = calibration.power_from_register(self.read_register(Register::Power)?);
        Ok(Some(Measurement { bus, current, power }))
    }

    /// Reads a register: re-points only when the pointer is elsewhere.
    pub fn read_register(&mut self, register: Register) -> Result<u16, Error<I2C::Error>> {
        if self.pointer != Some(register) {
            self.pointer = None;
            self.i2c.write(self.address, &[register.address()]).map_err(Error::I2c)?;
            self.pointer = Some(register);
        }
        let mut bytes = [0u8; 2];
        if let Err(error) = self.i2c.read(self.address, &mut bytes) {
            // After a failed transfer the chip's pointer is not trusted: point again next time.
            self.pointer = None;
            return Err(Error::I2c(error));
        }
        Ok(u16::from_be_bytes(bytes))
    }

    /// Writes a register (pointer, MSB, LSB); the pointer then stays on it.
    pub fn write_register(&mut self, register: Register, value: u16) -> Result<(), Error<I2C::Error>> {
        let [msb, lsb] = value.to_be_bytes();
        self.pointer = None;
        self.i2c.write(self.address, &[register.address(), msb, lsb]).map_err(Error::I2c)?;
        self.pointer = Some(register);
        Ok(())
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    /// The bus, for inspection (tests, the emulated chip's clock).
    pub fn i2c(&self) -> &I2C {
        &self.i2c
    }
}
