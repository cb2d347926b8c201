//! `[[modbus]]` devices and per-sensor `modbus = {...}` register bindings.

use super::Dur;
use serde::Deserialize;
use toml::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusDevice {
    pub name: Spanned<String>,
    /// `tcp://host:port` or `rtu:///dev/ttyUSB0?baud=9600&parity=N&stop=1`.
    pub url: Spanned<String>,
    #[serde(default = "default_unit")]
    pub unit: u8,
    pub poll: Option<Dur>,
    pub timeout: Option<Dur>,
}

fn default_unit() -> u8 {
    1
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    #[default]
    Holding,
    Input,
    Coil,
    Discrete,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusBinding {
    pub device: Spanned<String>,
    #[serde(default)]
    pub table: Table,
    pub address: Spanned<u16>,
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    #[serde(default = "default_order")]
    pub order: String,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
}

fn default_type() -> String {
    "u16".into()
}
fn default_order() -> String {
    "ABCD".into()
}
fn one() -> f64 {
    1.0
}
