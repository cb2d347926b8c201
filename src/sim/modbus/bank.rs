//! The register images of one simulated device, and how a read request is
//! answered from them.

use crate::config::Table;
use tokio_modbus::{ExceptionCode, Request, Response};

/// Register images of the devices.
#[derive(Clone, Debug, Default)]
pub(super) struct Bank {
    holding: Vec<u16>,
    input: Vec<u16>,
    coils: Vec<bool>,
    discrete: Vec<bool>,
    /// Addresses that answer exception 2 (table, from, to inclusive).
    pub(super) holes: Vec<(Table, u16, u16)>,
}

impl Bank {
    pub(super) fn sized(registers: usize, bits: usize) -> Self {
        Bank {
            holding: vec![0; registers],
            input: vec![0; registers],
            coils: vec![false; bits],
            discrete: vec![false; bits],
            holes: Vec::new(),
        }
    }

    pub(super) fn write(&mut self, table: Table, address: u16, words: &[u16]) {
        let regs = match table {
            Table::Holding => &mut self.holding,
            Table::Input => &mut self.input,
            Table::Coil | Table::Discrete => {
                let bits = if table == Table::Coil {
                    &mut self.coils
                } else {
                    &mut self.discrete
                };
                for (i, w) in words.iter().enumerate() {
                    if let Some(slot) = bits.get_mut(usize::from(address) + i) {
                        *slot = *w != 0;
                    }
                }
                return;
            }
        };
        for (i, w) in words.iter().enumerate() {
            if let Some(slot) = regs.get_mut(usize::from(address) + i) {
                *slot = *w;
            }
        }
    }

    pub(super) fn set_bit(&mut self, address: u16, bit: u8, on: bool) {
        if let Some(word) = self.input.get_mut(usize::from(address)) {
            if on {
                *word |= 1 << bit;
            } else {
                *word &= !(1 << bit);
            }
        }
    }

    fn readable(&self, table: Table, start: u16, count: u16, len: usize) -> bool {
        let end = usize::from(start) + usize::from(count);
        count > 0
            && end <= len
            && !self
                .holes
                .iter()
                .any(|&(t, from, to)| t == table && start <= to && end > usize::from(from))
    }

    pub(super) fn read(&self, request: &Request<'_>) -> Result<Response, ExceptionCode> {
        let words = |regs: &Vec<u16>, table, start: u16, count: u16| {
            if self.readable(table, start, count, regs.len()) {
                Ok(regs[usize::from(start)..usize::from(start) + usize::from(count)].to_vec())
            } else {
                Err(ExceptionCode::IllegalDataAddress)
            }
        };
        let bits = |bits: &Vec<bool>, table, start: u16, count: u16| {
            if self.readable(table, start, count, bits.len()) {
                Ok(bits[usize::from(start)..usize::from(start) + usize::from(count)].to_vec())
            } else {
                Err(ExceptionCode::IllegalDataAddress)
            }
        };
        match *request {
            Request::ReadHoldingRegisters(a, n) if n <= 125 => {
                words(&self.holding, Table::Holding, a, n).map(Response::ReadHoldingRegisters)
            }
            Request::ReadInputRegisters(a, n) if n <= 125 => {
                words(&self.input, Table::Input, a, n).map(Response::ReadInputRegisters)
            }
            Request::ReadCoils(a, n) if n <= 2000 => {
                bits(&self.coils, Table::Coil, a, n).map(Response::ReadCoils)
            }
            Request::ReadDiscreteInputs(a, n) if n <= 2000 => {
                bits(&self.discrete, Table::Discrete, a, n).map(Response::ReadDiscreteInputs)
            }
            Request::ReadHoldingRegisters(..)
            | Request::ReadInputRegisters(..)
            | Request::ReadCoils(..)
            | Request::ReadDiscreteInputs(..) => Err(ExceptionCode::IllegalDataValue),
            // The simulator is read-only, like the devices floorwatch is allowed to touch.
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}
