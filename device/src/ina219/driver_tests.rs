//! Driver tests: exact bus transfers, byte by byte, against register values re-declared from
//! the datasheet.
//!
//! The values come from SBOS448's "Configure/Measure/Calculate Example" table (load 10 A,
//! V_CM = 12 V, R_shunt = 2 mΩ, shunt FSR 40 mV, bus range 16 V, Current_LSB 1 mA):
//! configuration 019Fh, shunt 07D0h (20 mV), bus 5D98h (11.98 V), calibration 5000h (20480),
//! current 2710h (10.0 A), power 1766h (119.8 W).

use super::mock::{MockError, MockI2c, Transfer};
use super::*;

const ADDRESS: u8 = 0x40;

const TABLE_CONFIG: u16 = 0x019F;
const TABLE_SHUNT: [u8; 2] = [0x07, 0xD0];
const TABLE_BUS: [u8; 2] = [0x5D, 0x98];
const TABLE_CALIBRATION: u16 = 0x5000;
const TABLE_CURRENT: [u8; 2] = [0x27, 0x10];
const TABLE_POWER: [u8; 2] = [0x17, 0x66];

fn write(bytes: &[u8]) -> Transfer {
    Transfer::Write(ADDRESS, bytes.to_vec())
}

fn read(bytes: [u8; 2]) -> Transfer {
    Transfer::Read(ADDRESS, bytes.to_vec())
}

fn table_calibration() -> Calibration {
    Calibration::from_current_lsb(MicroOhms(2_000), NanoAmps(1_000_000)).expect("datasheet values fit")
}

fn table_config() -> Config {
    Config::continuous(BusRange::V16, Pga::Div1, AdcMode::Bits12)
}

/// A driver already initialised (its init transfers are checked in their own test).
fn initialised(after_init: Vec<Transfer>) -> Ina219<MockI2c> {
    let mut transfers = vec![write(&[0x00, 0x01, 0x9F]), write(&[0x05, 0x50, 0x00])];
    transfers.extend(after_init);
    let mut ina = Ina219::new(MockI2c::new(transfers), ADDRESS);
    ina.init(table_config(), table_calibration()).expect("init");
    ina
}

#[test]
fn table_values_are_what_the_typed_settings_produce() {
    assert_eq!(table_config().register(), TABLE_CONFIG);
    assert_eq!(table_calibration().register(), TABLE_CALIBRATION);
}

#[test]
fn init_writes_config_then_calibration() {
    let ina = initialised(vec![]);
    ina.i2c().done();
    assert_eq!(ina.calibration(), Some(table_calibration()));
}

#[test]
fn reads_point_then_read_and_scale_the_datasheet_values() {
    let mut ina = initialised(vec![
        write(&[0x01]),
        read(TABLE_SHUNT),
        write(&[0x02]),
        read(TABLE_BUS),
        write(&[0x04]),
        read(TABLE_CURRENT),
        write(&[0x03]),
        read(TABLE_POWER),
    ]);
    assert_eq!(ina.shunt_voltage_uv().expect("shunt"), MicroVolts(20_000));
    assert_eq!(ina.bus_voltage_mv().expect("bus"), MilliVolts(11_980));
    assert_eq!(ina.current_ua().expect("current"), MicroAmps(10_000_000));
    assert_eq!(ina.power_uw().expect("power"), MicroWatts(119_800_000));
    ina.release().done();
}

#[test]
fn pointer_is_kept_between_reads_of_one_register() {
    let mut ina = Ina219::new(MockI2c::new([write(&[0x02]), read(TABLE_BUS), read(TABLE_BUS)]), ADDRESS);
    assert_eq!(ina.bus_voltage_mv().expect("bus"), MilliVolts(11_980));
    assert_eq!(ina.bus_voltage_mv().expect("bus"), MilliVolts(11_980));
    ina.release().done();
}

#[test]
fn config_reads_back_and_writes_re_point() {
    // After a write the pointer is on the written register: reading it back needs no pointer write.
    let transfers = [write(&[0x00, 0x01, 0x9F]), read([0x01, 0x9F]), write(&[0x02]), read(TABLE_BUS)];
    let mut ina = Ina219::new(MockI2c::new(transfers), ADDRESS);
    ina.set_config(table_config()).expect("write");
    assert_eq!(ina.config().expect("read back"), table_config());
    assert!(ina.bus_voltage().is_ok());
    ina.release().done();
}

#[test]
fn poll_measurement_reads_current_and_power_only_after_cnvr() {
    let mut ina = initialised(vec![
        write(&[0x02]),
        read(TABLE_BUS),    // CNVR clear: nothing more
        read([0x5D, 0x9A]), // CNVR set
        write(&[0x04]),
        read(TABLE_CURRENT),
        write(&[0x03]),
        read(TABLE_POWER),
    ]);
    assert_eq!(ina.poll_measurement().expect("poll"), None);
    let measurement = ina.poll_measurement().expect("poll").expect("CNVR was set");
    assert_eq!(measurement.bus_voltage_mv(), MilliVolts(11_980));
    assert_eq!(measurement.current, MicroAmps(10_000_000));
    assert_eq!(measurement.power, MicroWatts(119_800_000));
    ina.release().done();
}

#[test]
fn overflow_is_an_error_never_a_number() {
    // Bus 5D99h: the table's 11.98 V with OVF (bit 0) set; 5D9Bh: with CNVR too.
    let mut ina =
        initialised(vec![write(&[0x02]), read([0x5D, 0x99]), read([0x5D, 0x9B]), write(&[0x03]), read([0xFF, 0xFF])]);
    assert!(matches!(ina.bus_voltage_mv(), Err(Error::Overflow)));
    // The power register is still read (clearing CNVR), its value is not returned.
    assert!(matches!(ina.poll_measurement(), Err(Error::Overflow)));
    ina.release().done();
}

#[test]
fn negative_shunt_voltage_and_current_keep_their_sign() {
    // The table's example with the current reversed: −2000 = F830h, −10000 = D8F0h.
    let mut ina = initialised(vec![write(&[0x01]), read([0xF8, 0x30]), write(&[0x04]), read([0xD8, 0xF0])]);
    assert_eq!(ina.shunt_voltage_uv().expect("shunt"), MicroVolts(-20_000));
    assert_eq!(ina.current_ua().expect("current"), MicroAmps(-10_000_000));
    ina.release().done();
}

#[test]
fn current_before_calibration_is_an_error_without_bus_traffic() {
    let mut ina = Ina219::new(MockI2c::new([]), ADDRESS);
    assert!(matches!(ina.current_ua(), Err(Error::NotCalibrated)));
    assert!(matches!(ina.power_uw(), Err(Error::NotCalibrated)));
    assert!(matches!(ina.poll_measurement(), Err(Error::NotCalibrated)));
    ina.release().done();
}

#[test]
fn bus_error_is_reported_and_the_pointer_is_resent() {
    // The pointer write fails: the next read must point again before reading.
    let transfers = [Transfer::Fail, write(&[0x02]), Transfer::Fail, write(&[0x02]), read(TABLE_BUS)];
    let mut ina = Ina219::new(MockI2c::new(transfers), ADDRESS);
    assert!(matches!(ina.bus_voltage(), Err(Error::I2c(MockError))));
    assert!(matches!(ina.bus_voltage(), Err(Error::I2c(MockError))));
    assert_eq!(ina.bus_voltage_mv().expect("bus"), MilliVolts(11_980));
    ina.release().done();
}

#[test]
fn reset_sets_bit_fifteen_and_forgets_the_calibration() {
    let mut ina = initialised(vec![write(&[0x00, 0x80, 0x00])]);
    ina.reset().expect("reset");
    assert_eq!(ina.calibration(), None);
    ina.release().done();
}
