//! Simulated devices and brokers, served in-process on loopback: the Modbus
//! simulator and an MQTT broker. They stand in for a plant's hardware in the
//! demo, in `floorwatch simulate` and in tests; a plant build leaves them out
//! (cargo feature `demo`).

pub mod modbus;
pub mod mqtt;
