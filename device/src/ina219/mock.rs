//! A scripted I2C bus for driver tests: each expected transfer, byte by byte, in order.
//!
//! Every `transaction` must hold exactly one operation: a combined write-read would be rejected
//! by Raspberry Pi's I2C driver, so the mock rejects it too.

use std::collections::VecDeque;

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation, SevenBitAddress};

/// One expected transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// The driver writes these bytes to this address.
    Write(u8, Vec<u8>),
    /// The driver reads from this address and gets these bytes.
    Read(u8, Vec<u8>),
    /// The next transfer fails with a bus error.
    Fail,
}

/// The bus error the mock returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockError;

impl embedded_hal::i2c::Error for MockError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Bus
    }
}

/// The scripted bus.
#[derive(Debug)]
pub struct MockI2c {
    expected: VecDeque<Transfer>,
}

impl MockI2c {
    /// A bus expecting `transfers`, in order.
    pub fn new(transfers: impl IntoIterator<Item = Transfer>) -> Self {
        Self { expected: transfers.into_iter().collect() }
    }

    /// Panics unless every expected transfer happened.
    pub fn done(&self) {
        assert!(self.expected.is_empty(), "transfers expected but not made: {:?}", self.expected);
    }
}

impl ErrorType for MockI2c {
    type Error = MockError;
}

impl I2c<SevenBitAddress> for MockI2c {
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), MockError> {
        assert_eq!(operations.len(), 1, "combined transactions are not allowed (Raspberry Pi rejects them)");
        let expected = self.expected.pop_front().expect("a transfer was made that the test did not expect");
        match (expected, &mut operations[0]) {
            (Transfer::Fail, _) => Err(MockError),
            (Transfer::Write(want_address, want), Operation::Write(bytes)) => {
                assert_eq!((address, bytes.to_vec()), (want_address, want), "write (address, bytes)");
                Ok(())
            }
            (Transfer::Read(want_address, reply), Operation::Read(buffer)) => {
                assert_eq!(address, want_address, "read address");
                assert_eq!(buffer.len(), reply.len(), "read length");
                buffer.copy_from_slice(&reply);
                Ok(())
            }
            (expected, operation) => panic!("expected {expected:?}, got {operation:?}"),
        }
    }
}
