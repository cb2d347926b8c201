//! `[[modbus]]` devices, `[[modbus_template]]` register maps shared by many
//! devices, and per-sensor `modbus = {...}` register bindings.

use super::{AlarmLimits, Dur, ModbusUrl, ModbusUrlError, RawValidKey, SensorDefaults, ValidRange};
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusDevice {
    pub name: Spanned<String>,
    /// `tcp://host:port`, `rtu:///dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1`
    /// or `rtu+tcp://host:port` (RTU frames through a TCP gateway).
    pub url: Spanned<String>,
    #[serde(default = "default_unit")]
    pub unit: u8,
    pub poll: Option<Dur>,
    pub timeout: Option<Dur>,
    /// Name of a `[[modbus_template]]` whose fields this device has.
    pub template: Option<Spanned<String>>,
    /// Addresses of this device's sensor bindings count from 1 (register 1 = wire address 0).
    #[serde(default)]
    pub one_based: bool,
    /// Largest run of unused registers (bits for coils) one read may bridge; 0 = never bridge.
    pub max_gap: Option<Spanned<u16>>,
    /// Registers this device refuses to read; no request ever covers them.
    #[serde(default)]
    pub unreadable: Vec<Spanned<UnreadableRange>>,
    /// One request per field: for devices that reject reads spanning several values.
    #[serde(default)]
    pub one_request_per_field: bool,
    /// Silence between two requests on the same link (RTU needs ≥ 3.5 characters).
    pub inter_request_delay: Option<Dur>,
    /// Wait after connecting before the first request (some gateways drop early requests).
    pub pause_after_connect: Option<Dur>,
}

/// Default bridge: a read of a few unused registers costs less than another round trip.
pub const DEFAULT_MAX_GAP: u16 = 8;
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

impl ModbusDevice {
    pub fn poll(&self) -> Duration {
        self.poll.map_or(DEFAULT_POLL, |d| d.0)
    }
    pub fn timeout(&self) -> Duration {
        self.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0)
    }
    pub fn max_gap(&self) -> u16 {
        self.max_gap
            .as_ref()
            .map_or(DEFAULT_MAX_GAP, |g| *g.get_ref())
    }
    pub fn parsed_url(&self) -> Result<ModbusUrl, ModbusUrlError> {
        ModbusUrl::parse(self.url.get_ref())
    }
}

fn default_unit() -> u8 {
    1
}

/// A register map shared by devices of one model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusTemplate {
    pub name: Spanned<String>,
    /// The template's addresses count from 1.
    #[serde(default)]
    pub one_based: bool,
    #[serde(default)]
    pub unreadable: Vec<Spanned<UnreadableRange>>,
    #[serde(default)]
    pub field: Vec<TemplateField>,
}

/// A field of a template. A device with the template gets a sensor
/// `<device>.<key>` for it unless a `[[sensor]]` binds the field by key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateField {
    pub key: Spanned<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    #[serde(default)]
    pub table: Table,
    pub address: Spanned<u16>,
    #[serde(rename = "type", default)]
    pub kind: ValueType,
    #[serde(default)]
    pub order: WordOrder,
    pub bit: Option<Spanned<u8>>,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
    /// Raw register values outside this range are faults (stored as bad).
    pub raw_valid: Option<Spanned<RawValidKey>>,
    /// Dashboard group of the field's sensors (default: the device name).
    pub group: Option<String>,
    /// Display range `[min, max]` of the field's sensors.
    pub range: Option<Spanned<[f64; 2]>>,
    /// Alarm limits of every device's sensor for this field.
    pub alarm: Option<Spanned<AlarmLimits>>,
}

impl TemplateField {
    pub fn valid_range(&self) -> Option<ValidRange> {
        ValidRange::resolve(self.raw_valid.as_ref(), None)
            .ok()
            .flatten()
    }

    /// What the field says about the sensor it makes on device `device`.
    pub fn defaults(&self, device: &str) -> SensorDefaults {
        let alarm = (self.alarm.as_ref().map(|a| a.get_ref().clone()))
            .or_else(|| self.valid_range().map(|_| AlarmLimits::bad_quality_only()));
        SensorDefaults {
            name: self.name.as_ref().map(|label| format!("{device} {label}")),
            unit: self.unit.clone(),
            group: Some(self.group.clone().unwrap_or_else(|| device.to_owned())),
            range: self
                .range
                .as_ref()
                .map(|r| (r.get_ref()[0], r.get_ref()[1])),
            alarm: alarm.map(std::sync::Arc::new),
            source: Some(format!(
                "modbus {device} template field {}",
                self.key.get_ref()
            )),
        }
    }
}

/// `{ table = "input", from = 50, to = 59 }`: inclusive, in the owner's addressing.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UnreadableRange {
    #[serde(default)]
    pub table: Table,
    pub from: u16,
    pub to: u16,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    #[default]
    Holding,
    Input,
    Coil,
    Discrete,
}

impl Table {
    /// Coils and discrete inputs are addressed in bits, the others in 16-bit registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::Discrete)
    }
    /// Most units one read may ask for (Modbus application protocol, 6.1–6.4).
    pub fn max_per_request(self) -> u16 {
        if self.is_bits() { 2000 } else { 125 }
    }
    pub fn label(self) -> &'static str {
        match self {
            Table::Holding => "holding",
            Table::Input => "input",
            Table::Coil => "coil",
            Table::Discrete => "discrete",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    #[default]
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    /// One bit of a register (`bit = 0..15`), or a coil / discrete input.
    Bool,
}

impl ValueType {
    /// Registers the value occupies (bool: one register, or one bit in bit tables).
    pub fn registers(self) -> u16 {
        match self {
            ValueType::U16 | ValueType::I16 | ValueType::Bool => 1,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 2,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 4,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F32 => "f32",
            ValueType::F64 => "f64",
            ValueType::Bool => "bool",
        }
    }
}

/// Byte order of a value as letters of its big-endian form (shown for 32 bits):
/// `ABCD` big-endian, `CDAB` words swapped, `BADC` bytes swapped in each word,
/// `DCBA` little-endian. Longer and shorter values follow the same two rules.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
pub enum WordOrder {
    #[default]
    ABCD,
    CDAB,
    BADC,
    DCBA,
}

impl WordOrder {
    pub const ALL: [WordOrder; 4] = [
        WordOrder::ABCD,
        WordOrder::CDAB,
        WordOrder::BADC,
        WordOrder::DCBA,
    ];
    /// The least significant word comes first.
    pub fn words_swapped(self) -> bool {
        matches!(self, WordOrder::CDAB | WordOrder::DCBA)
    }
    /// Each register carries its low byte first.
    pub fn bytes_swapped(self) -> bool {
        matches!(self, WordOrder::BADC | WordOrder::DCBA)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusBinding {
    pub device: Spanned<String>,
    /// A field of the device's template, by key (instead of table/address/type).
    pub field: Option<Spanned<String>>,
    #[serde(default)]
    pub table: Table,
    pub address: Option<Spanned<u16>>,
    #[serde(rename = "type", default)]
    pub kind: ValueType,
    #[serde(default)]
    pub order: WordOrder,
    pub bit: Option<Spanned<u8>>,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
    /// Raw register values outside this range are faults (stored as bad).
    pub raw_valid: Option<Spanned<RawValidKey>>,
}

impl ModbusBinding {
    pub fn valid_range(&self) -> Option<ValidRange> {
        ValidRange::resolve(self.raw_valid.as_ref(), None)
            .ok()
            .flatten()
    }
}

fn one() -> f64 {
    1.0
}

#[cfg(test)]
mod tests {
    fn problems(text: &str) -> Vec<String> {
        match crate::config::Config::parse(std::path::Path::new("plant.toml"), text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.lines(),
        }
    }

    const DEVICE: &str = "[[modbus]]\nname = \"m\"\nurl = \"tcp://127.0.0.1:5020\"\n";

    #[test]
    fn a_template_shared_by_devices_is_valid() {
        let text = format!(
            "[[modbus_template]]\nname = \"meter\"\nfield = [ {{ key = \"kwh\", table = \"input\", address = 0, type = \"f32\", order = \"CDAB\" }} ]\n\
             {DEVICE}template = \"meter\"\n\
             [[modbus]]\nname = \"m2\"\nurl = \"tcp://127.0.0.1:5020\"\nunit = 2\ntemplate = \"meter\"\n\
             [[sensor]]\nid = \"a.kwh\"\nmodbus = {{ device = \"m2\", field = \"kwh\" }}\n"
        );
        assert_eq!(problems(&text), Vec::<String>::new());
    }

    #[test]
    fn reports_unknown_template_and_field_with_position() {
        let text = format!(
            "{DEVICE}template = \"nope\"\n[[sensor]]\nid = \"x\"\nmodbus = {{ device = \"m\", field = \"kwh\" }}\n"
        );
        let lines = problems(&text);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("plant.toml:4:12: unknown Modbus template \"nope\"")),
            "{lines:?}"
        );
    }

    #[test]
    fn reports_overlapping_fields_naming_both() {
        let text = format!(
            "{DEVICE}[[sensor]]\nid = \"a\"\nmodbus = {{ device = \"m\", address = 10, type = \"f32\" }}\n\
             [[sensor]]\nid = \"b\"\nmodbus = {{ device = \"m\", address = 11 }}\n"
        );
        let lines = problems(&text);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("sensor \"b\"") && lines[0].contains("overlaps sensor \"a\""),
            "{lines:?}"
        );
        assert!(lines[0].starts_with("plant.toml:9:"), "{lines:?}");
    }

    #[test]
    fn distinct_bits_of_one_register_do_not_overlap() {
        let text = format!(
            "{DEVICE}[[sensor]]\nid = \"a\"\nmodbus = {{ device = \"m\", address = 10, type = \"bool\", bit = 0 }}\n\
             [[sensor]]\nid = \"b\"\nmodbus = {{ device = \"m\", address = 10, type = \"bool\", bit = 1 }}\n"
        );
        assert_eq!(problems(&text), Vec::<String>::new());
    }

    #[test]
    fn rejects_limits_shapes_and_bad_orders() {
        let text = format!(
            "{DEVICE}max_gap = 200\none_based = true\n[[sensor]]\nid = \"a\"\nmodbus = {{ device = \"m\", address = 0 }}\n\
             [[sensor]]\nid = \"b\"\nmodbus = {{ device = \"m\", address = 5, type = \"bool\" }}\n\
             [[sensor]]\nid = \"c\"\nmodbus = {{ device = \"m\", table = \"coil\", address = 5, type = \"f32\" }}\n"
        );
        let lines = problems(&text).join("\n");
        assert!(
            lines.contains("max_gap = 200 would plan reads over 125 registers"),
            "{lines}"
        );
        assert!(lines.contains("address 0 with one_based = true"), "{lines}");
        assert!(lines.contains("needs bit = 0..15"), "{lines}");
        assert!(lines.contains("a coil holds single bits"), "{lines}");
        let bad_order = format!(
            "{DEVICE}[[sensor]]\nid = \"a\"\nmodbus = {{ device = \"m\", address = 0, order = \"ACBD\" }}\n"
        );
        let lines = problems(&bad_order).join("\n");
        assert!(lines.contains("ACBD") && lines.contains("CDAB"), "{lines}");
    }

    #[test]
    fn rejects_a_field_inside_an_unreadable_range() {
        let text = format!(
            "{DEVICE}unreadable = [ {{ table = \"input\", from = 50, to = 59 }} ]\n\
             [[sensor]]\nid = \"a\"\nmodbus = {{ device = \"m\", table = \"input\", address = 58, type = \"u32\" }}\n"
        );
        let lines = problems(&text).join("\n");
        assert!(lines.contains("unreadable input range 50..=59"), "{lines}");
    }

    #[test]
    fn a_sensor_id_a_template_also_makes_is_rejected() {
        let text = format!(
            "[[modbus_template]]\nname = \"meter\"\nfield = [ {{ key = \"kwh\", table = \"input\", address = 0, type = \"f32\" }} ]\n\
             {DEVICE}template = \"meter\"\n[[sensor]]\nid = \"m.kwh\"\nsim = {{ signal = \"energy\" }}\n"
        );
        let lines = problems(&text).join("\n");
        assert!(
            lines.contains("sensor id \"m.kwh\" is also made by template \"meter\""),
            "{lines}"
        );
        assert!(lines.contains("field = \"kwh\""), "{lines}");
    }
}
