//! What the simulated devices serve: the meter's and the PLC's register maps,
//! and the words an engineering value is served as.

use crate::config::{Table, ValueType, WordOrder};
use crate::source::modbus::decode::{decode_raw, encode_raw};

pub const METER_UNIT: u8 = 1;
pub const PLC_UNIT: u8 = 2;

/// One value the meter serves: its template key, where, how, and what it means.
#[derive(Clone, Copy, Debug)]
pub struct MapEntry {
    pub key: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub table: Table,
    pub address: u16,
    pub kind: ValueType,
    pub order: WordOrder,
    pub scale: f64,
    pub bit: Option<u8>,
    pub quantity: Quantity,
}

/// The physical quantities of the simulated plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantity {
    Voltage(usize),
    LineVoltage(usize),
    Current(usize),
    NeutralCurrent,
    Power(usize),
    PowerTotal,
    ReactiveTotal,
    ApparentTotal,
    PowerFactor,
    Frequency,
    EnergyKwh,
    EnergyWh,
    ReactiveKvarh,
    ThdV(usize),
    ThdI(usize),
    MeterTemperature,
    Healthy,
    Reverse,
    Demand,
    MaxDemand,
    HoursRun,
    ExportKwh,
    PlcTemperature(usize),
    Vibration,
    Running,
    Fault,
    Speed,
}

#[allow(clippy::too_many_arguments)] // one row of the register table
const fn entry(
    key: &'static str,
    name: &'static str,
    unit: &'static str,
    address: u16,
    kind: ValueType,
    order: WordOrder,
    scale: f64,
    quantity: Quantity,
) -> MapEntry {
    MapEntry {
        key,
        name,
        unit,
        table: Table::Input,
        address,
        kind,
        order,
        scale,
        bit: None,
        quantity,
    }
}

use Quantity as Q;
use ValueType::*;
use WordOrder::*;

/// Unreadable input registers of the meter (reads touching them get exception 2).
pub const METER_HOLE: (u16, u16) = (66, 69);

/// The meter's 60 input-register values (0-based addresses).
#[rustfmt::skip]
pub const METER_MAP: [MapEntry; 60] = [
    entry("v_l1", "Voltage L1", "V", 0, F32, ABCD, 1.0, Q::Voltage(0)),
    entry("v_l2", "Voltage L2", "V", 2, F32, ABCD, 1.0, Q::Voltage(1)),
    entry("v_l3", "Voltage L3", "V", 4, F32, ABCD, 1.0, Q::Voltage(2)),
    entry("v_l12", "Voltage L1-L2", "V", 6, F32, ABCD, 1.0, Q::LineVoltage(0)),
    entry("v_l23", "Voltage L2-L3", "V", 8, F32, ABCD, 1.0, Q::LineVoltage(1)),
    entry("v_l31", "Voltage L3-L1", "V", 10, F32, ABCD, 1.0, Q::LineVoltage(2)),
    entry("i_l1", "Current L1", "A", 12, F32, ABCD, 1.0, Q::Current(0)),
    entry("i_l2", "Current L2", "A", 14, F32, ABCD, 1.0, Q::Current(1)),
    entry("i_l3", "Current L3", "A", 16, F32, ABCD, 1.0, Q::Current(2)),
    entry("i_n", "Neutral current", "A", 18, F32, ABCD, 1.0, Q::NeutralCurrent),
    entry("p_l1", "Power L1", "kW", 20, F32, ABCD, 1.0, Q::Power(0)),
    entry("p_l2", "Power L2", "kW", 22, F32, ABCD, 1.0, Q::Power(1)),
    entry("p_l3", "Power L3", "kW", 24, F32, ABCD, 1.0, Q::Power(2)),
    entry("p", "Power", "kW", 26, F32, ABCD, 1.0, Q::PowerTotal),
    entry("q", "Reactive power", "kvar", 28, F32, ABCD, 1.0, Q::ReactiveTotal),
    entry("s", "Apparent power", "kVA", 30, F32, ABCD, 1.0, Q::ApparentTotal),
    entry("pf", "Power factor", "", 32, F32, ABCD, 1.0, Q::PowerFactor),
    entry("freq", "Frequency", "Hz", 34, F32, ABCD, 1.0, Q::Frequency),
    entry("kwh", "Energy", "kWh", 36, F32, ABCD, 1.0, Q::EnergyKwh),
    entry("kvarh", "Reactive energy", "kvarh", 38, F32, ABCD, 1.0, Q::ReactiveKvarh),
    entry("kwh_f32_cdab", "Energy (f32 CDAB)", "kWh", 40, F32, CDAB, 1.0, Q::EnergyKwh),
    entry("kwh_f32_badc", "Energy (f32 BADC)", "kWh", 42, F32, BADC, 1.0, Q::EnergyKwh),
    entry("kwh_f32_dcba", "Energy (f32 DCBA)", "kWh", 44, F32, DCBA, 1.0, Q::EnergyKwh),
    entry("kwh_u32_abcd", "Energy (u32 ABCD)", "kWh", 46, U32, ABCD, 0.1, Q::EnergyKwh),
    entry("kwh_u32_cdab", "Energy (u32 CDAB)", "kWh", 48, U32, CDAB, 0.1, Q::EnergyKwh),
    entry("kwh_u32_badc", "Energy (u32 BADC)", "kWh", 50, U32, BADC, 0.1, Q::EnergyKwh),
    entry("kwh_u32_dcba", "Energy (u32 DCBA)", "kWh", 52, U32, DCBA, 0.1, Q::EnergyKwh),
    entry("wh_u64_abcd", "Energy (u64 ABCD)", "Wh", 54, U64, ABCD, 1.0, Q::EnergyWh),
    entry("wh_u64_cdab", "Energy (u64 CDAB)", "Wh", 58, U64, CDAB, 1.0, Q::EnergyWh),
    entry("kwh_f64", "Energy (f64 ABCD)", "kWh", 62, F64, ABCD, 1.0, Q::EnergyKwh),
    entry("v_l1_int", "Voltage L1 (0.1 V)", "V", 70, U16, ABCD, 0.1, Q::Voltage(0)),
    entry("v_l2_int", "Voltage L2 (0.1 V)", "V", 71, U16, ABCD, 0.1, Q::Voltage(1)),
    entry("v_l3_int", "Voltage L3 (0.1 V)", "V", 72, U16, ABCD, 0.1, Q::Voltage(2)),
    entry("i_l1_int", "Current L1 (0.01 A)", "A", 73, U16, ABCD, 0.01, Q::Current(0)),
    entry("i_l2_int", "Current L2 (0.01 A)", "A", 74, U16, ABCD, 0.01, Q::Current(1)),
    entry("i_l3_int", "Current L3 (0.01 A)", "A", 75, U16, ABCD, 0.01, Q::Current(2)),
    entry("p_l1_w", "Power L1 (W)", "kW", 76, I32, ABCD, 0.001, Q::Power(0)),
    entry("p_l2_w", "Power L2 (W)", "kW", 78, I32, ABCD, 0.001, Q::Power(1)),
    entry("p_l3_w", "Power L3 (W)", "kW", 80, I32, ABCD, 0.001, Q::Power(2)),
    entry("p_w", "Power (W)", "kW", 82, I32, CDAB, 0.001, Q::PowerTotal),
    entry("freq_int", "Frequency (0.01 Hz)", "Hz", 84, U16, ABCD, 0.01, Q::Frequency),
    entry("pf_int", "Power factor (0.001)", "", 85, I16, ABCD, 0.001, Q::PowerFactor),
    entry("q_var", "Reactive power (var)", "kvar", 86, I32, ABCD, 0.001, Q::ReactiveTotal),
    entry("s_va", "Apparent power (VA)", "kVA", 88, U32, ABCD, 0.001, Q::ApparentTotal),
    entry("thd_v1", "THD voltage L1", "%", 90, U16, ABCD, 0.1, Q::ThdV(0)),
    entry("thd_v2", "THD voltage L2", "%", 91, U16, ABCD, 0.1, Q::ThdV(1)),
    entry("thd_v3", "THD voltage L3", "%", 92, U16, ABCD, 0.1, Q::ThdV(2)),
    entry("thd_i1", "THD current L1", "%", 93, U16, ABCD, 0.1, Q::ThdI(0)),
    entry("thd_i2", "THD current L2", "%", 94, U16, ABCD, 0.1, Q::ThdI(1)),
    entry("thd_i3", "THD current L3", "%", 95, U16, ABCD, 0.1, Q::ThdI(2)),
    entry("temp", "Meter temperature", "°C", 96, I16, BADC, 0.1, Q::MeterTemperature),
    bit_entry("healthy", "Healthy", 97, 0, Q::Healthy),
    bit_entry("reverse", "Reverse power", 97, 1, Q::Reverse),
    entry("demand", "Demand", "kW", 98, F32, CDAB, 1.0, Q::Demand),
    entry("max_demand", "Maximum demand", "kW", 100, F32, CDAB, 1.0, Q::MaxDemand),
    entry("hours", "Hours run", "h", 102, U32, ABCD, 0.01, Q::HoursRun),
    entry("kwh_import", "Import energy", "kWh", 104, U32, CDAB, 0.1, Q::EnergyKwh),
    entry("kwh_export", "Export energy", "kWh", 106, U32, ABCD, 0.1, Q::ExportKwh),
    entry("kvarh_u32", "Reactive energy (u32)", "kvarh", 108, U32, DCBA, 0.1, Q::ReactiveKvarh),
    entry("wh_f64_dcba", "Energy (f64 DCBA)", "Wh", 110, F64, DCBA, 1.0, Q::EnergyWh),
];

const fn bit_entry(
    key: &'static str,
    name: &'static str,
    address: u16,
    bit: u8,
    quantity: Quantity,
) -> MapEntry {
    MapEntry {
        key,
        name,
        unit: "",
        table: Table::Input,
        address,
        kind: Bool,
        order: ABCD,
        scale: 1.0,
        bit: Some(bit),
        quantity,
    }
}

#[allow(clippy::too_many_arguments)] // one row of the register table
const fn plc(
    key: &'static str,
    name: &'static str,
    unit: &'static str,
    table: Table,
    address: u16,
    kind: ValueType,
    order: WordOrder,
    scale: f64,
    quantity: Quantity,
) -> MapEntry {
    MapEntry {
        key,
        name,
        unit,
        table,
        address,
        kind,
        order,
        scale,
        bit: None,
        quantity,
    }
}

/// The PLC's values: holding registers, a coil and a discrete input.
#[rustfmt::skip]
pub const PLC_MAP: [MapEntry; 12] = [
    plc("temp1", "Oven zone 1", "°C", Table::Holding, 0, I16, ABCD, 0.1, Q::PlcTemperature(0)),
    plc("temp2", "Oven zone 2", "°C", Table::Holding, 1, I16, ABCD, 0.1, Q::PlcTemperature(1)),
    plc("temp3", "Oven zone 3", "°C", Table::Holding, 2, I16, ABCD, 0.1, Q::PlcTemperature(2)),
    plc("temp4", "Cooling water", "°C", Table::Holding, 3, I16, ABCD, 0.1, Q::PlcTemperature(3)),
    plc("vibration", "Fan vibration", "mm/s", Table::Holding, 8, U16, ABCD, 0.01, Q::Vibration),
    plc("speed", "Fan speed", "rpm", Table::Holding, 9, U16, ABCD, 1.0, Q::Speed),
    plc("hours", "Fan hours", "h", Table::Holding, 12, U32, CDAB, 0.1, Q::HoursRun),
    plc("vibration_f32", "Fan vibration (f32)", "mm/s", Table::Holding, 20, F32, DCBA, 1.0, Q::Vibration),
    plc("temp1_f64", "Oven zone 1 (f64)", "°C", Table::Holding, 24, F64, BADC, 1.0, Q::PlcTemperature(0)),
    plc("temp2_i32", "Oven zone 2 (i32 m°C)", "°C", Table::Holding, 28, I32, DCBA, 0.001, Q::PlcTemperature(1)),
    plc("running", "Fan running", "", Table::Coil, 0, Bool, ABCD, 1.0, Q::Running),
    plc("fault", "Fan fault", "", Table::Discrete, 0, Bool, ABCD, 1.0, Q::Fault),
];

/// The registers a map entry serves for an engineering value.
pub fn entry_words(entry: &MapEntry, value: f64) -> Vec<u16> {
    let raw = value / entry.scale;
    let raw = if matches!(entry.kind, F32 | F64) {
        raw
    } else {
        raw.round()
    };
    encode_raw(raw, entry.kind, entry.order)
}

/// What a poller decodes for an entry the simulator serves now: the
/// engineering value after the register's resolution (e.g. 0.1 V steps).
pub fn served_value(entry: &MapEntry, value: f64) -> f64 {
    let words = entry_words(entry, value);
    decode_raw(&words, entry.kind, entry.order, entry.bit)
        .map(|raw| raw * entry.scale)
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_map_has_no_overlaps_and_avoids_the_hole() {
        let mut used = [0u8; 200];
        for e in METER_MAP.iter().filter(|e| e.bit.is_none()) {
            for a in e.address..e.address + e.kind.registers() {
                assert!(!(METER_HOLE.0..=METER_HOLE.1).contains(&a), "{}", e.key);
                used[usize::from(a)] += 1;
            }
        }
        assert!(used.iter().all(|n| *n <= 1));
    }
}
