//! The built-in Modbus simulator (the server side): a three-phase energy
//! meter (unit 1) and a small PLC (unit 2). Values follow a seeded model, so
//! the same seed serves the same values at the same tick. Faults can be
//! injected (latency, unanswered requests, busy replies, exceptions on
//! address ranges, dropped connections), and every function code received is
//! counted so tests can assert the client only reads.

mod bank;
mod faults;
mod plant;
mod polling;
mod registers;
mod server;

pub use faults::{ExceptionRule, ExceptionRuleError, Faults};
pub use plant::PlantModel;
pub use polling::{polling_config, template_toml};
pub use registers::{
    METER_HOLE, METER_MAP, METER_UNIT, MapEntry, PLC_MAP, PLC_UNIT, Quantity, entry_words,
    served_value,
};
pub use server::{SimOptions, SimServer, Simulator};
