//! The built-in Modbus TCP simulator (tokio-modbus server side): a
//! three-phase energy meter (unit 1) and a small PLC (unit 2). Values follow
//! a seeded model, so the same seed serves the same values at the same tick.
//! Faults can be injected (latency, unanswered requests, busy replies,
//! exceptions on address ranges, dropped connections), and every function
//! code received is counted so tests can assert the client only reads.

use super::decode::encode_raw;
use crate::config::{Table, ValueType, WordOrder};
use crate::source::sim;
use std::collections::{BTreeMap, HashMap};
use std::f64::consts::TAU;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

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

/// Values of the plant at one tick.
#[derive(Clone, Debug)]
pub struct PlantModel {
    seed: u64,
    tick: u64,
    period_s: f64,
    energy_kwh: f64,
    reactive_kvarh: f64,
    export_kwh: f64,
    max_demand: f64,
    hours: f64,
    values: HashMap<Quantity, f64>,
}

impl PlantModel {
    pub fn new(seed: u64, period: Duration) -> Self {
        let mut model = PlantModel {
            seed,
            tick: 0,
            period_s: period.as_secs_f64().max(0.001),
            energy_kwh: 12_000.0 + (seed % 1000) as f64 * 3.5,
            reactive_kvarh: 2_100.0 + (seed % 100) as f64,
            export_kwh: 42.0,
            max_demand: 0.0,
            hours: 8_760.0 + (seed % 500) as f64,
            values: HashMap::new(),
        };
        model.compute();
        model
    }

    pub fn value(&self, quantity: Quantity) -> f64 {
        self.values.get(&quantity).copied().unwrap_or(0.0)
    }

    /// Moves the model one period forward (counters accumulate).
    pub fn advance(&mut self) {
        let hours = self.period_s / 3600.0;
        self.energy_kwh += self.value(Q::PowerTotal).max(0.0) * hours;
        self.reactive_kvarh += self.value(Q::ReactiveTotal).max(0.0) * hours;
        self.hours += hours;
        self.tick += 1;
        self.compute();
    }

    fn compute(&mut self) {
        let mut rng = sim::seeded(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.tick);
        let t = self.tick as f64 * self.period_s;
        let mut noise = || sim::signed_unit(&mut rng);
        let v = &mut self.values;
        let mut p_total = 0.0;
        let mut i_sum = 0.0;
        let pf = 0.92 + 0.03 * (TAU * t / 900.0).sin() + 0.002 * noise();
        for phase in 0..3 {
            let shift = phase as f64 * TAU / 3.0;
            let volts = 230.0 + 2.0 * (TAU * t / 600.0 + shift).sin() + 0.3 * noise();
            let amps = 60.0 + 15.0 * (TAU * t / 1800.0 + shift).sin() + 0.5 * noise();
            let kw = volts * amps * pf / 1000.0;
            v.insert(Q::Voltage(phase), volts);
            v.insert(Q::LineVoltage(phase), volts * 3f64.sqrt());
            v.insert(Q::Current(phase), amps);
            v.insert(Q::Power(phase), kw);
            v.insert(Q::ThdV(phase), 2.5 + 0.2 * noise());
            v.insert(Q::ThdI(phase), 8.0 + 0.5 * noise());
            p_total += kw;
            i_sum += amps;
        }
        let s = p_total / pf;
        let q = (s * s - p_total * p_total).max(0.0).sqrt();
        self.max_demand = self.max_demand.max(p_total);
        v.insert(
            Q::NeutralCurrent,
            (i_sum / 3.0) * 0.05 + 0.2 * noise().abs(),
        );
        v.insert(Q::PowerTotal, p_total);
        v.insert(Q::ReactiveTotal, q);
        v.insert(Q::ApparentTotal, s);
        v.insert(Q::PowerFactor, pf);
        v.insert(Q::Frequency, 50.0 + 0.03 * noise());
        v.insert(Q::EnergyKwh, self.energy_kwh);
        v.insert(Q::EnergyWh, (self.energy_kwh * 1000.0).round());
        v.insert(Q::ReactiveKvarh, self.reactive_kvarh);
        v.insert(Q::ExportKwh, self.export_kwh);
        v.insert(Q::MeterTemperature, 31.0 + 1.5 * (TAU * t / 1200.0).sin());
        v.insert(Q::Healthy, 1.0);
        v.insert(Q::Reverse, 0.0);
        v.insert(Q::Demand, p_total);
        v.insert(Q::MaxDemand, self.max_demand);
        v.insert(Q::HoursRun, self.hours);
        // The oven's zone 1 overshoots past 40 °C about a minute in, then every 5 minutes.
        let overshoot = oven_overshoot(t);
        for zone in 0..4 {
            let base = [33.0, 30.0, 28.0, 18.0][zone];
            v.insert(
                Q::PlcTemperature(zone),
                base + 1.5 * (TAU * t / 300.0 + zone as f64).sin()
                    + 0.2 * noise()
                    + if zone == 0 { overshoot } else { 0.0 },
            );
        }
        let vibration = (3.0 + 0.8 * (TAU * t / 97.0).sin() + 0.2 * noise()).max(0.0);
        v.insert(Q::Vibration, vibration);
        v.insert(Q::Running, 1.0);
        v.insert(Q::Fault, if vibration > 6.5 { 1.0 } else { 0.0 });
        v.insert(Q::Speed, 1450.0 + 5.0 * noise());
    }
}

fn oven_overshoot(t: f64) -> f64 {
    let (start, every, length, height) = (50.0, 300.0, 40.0, 10.0);
    if t < start {
        return 0.0;
    }
    let phase = (t - start) % every;
    if phase < length {
        height * (std::f64::consts::PI * phase / length).sin()
    } else {
        0.0
    }
}

/// Register images of the devices.
#[derive(Clone, Debug, Default)]
struct Bank {
    holding: Vec<u16>,
    input: Vec<u16>,
    coils: Vec<bool>,
    discrete: Vec<bool>,
    /// Addresses that answer exception 2 (table, from, to inclusive).
    holes: Vec<(Table, u16, u16)>,
}

impl Bank {
    fn sized(registers: usize, bits: usize) -> Self {
        Bank {
            holding: vec![0; registers],
            input: vec![0; registers],
            coils: vec![false; bits],
            discrete: vec![false; bits],
            holes: Vec::new(),
        }
    }

    fn write(&mut self, table: Table, address: u16, words: &[u16]) {
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

    fn set_bit(&mut self, address: u16, bit: u8, on: bool) {
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

    fn read(&self, request: &Request<'_>) -> Result<Response, ExceptionCode> {
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

/// Faults to inject; change them at run time with [`Simulator::set_faults`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before every reply.
    pub latency: Duration,
    /// Every Nth request gets no reply at all.
    pub timeout_every: Option<u64>,
    /// Every Nth request gets exception 6 (server busy).
    pub busy_every: Option<u64>,
    /// Reads touching these ranges get the given exception code.
    pub exceptions: Vec<ExceptionRule>,
}

/// `TABLE:FROM[-TO]=CODE[@UNIT]`, e.g. `input:100-109=2` or `holding:5=4@2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionRule {
    pub table: Table,
    pub from: u16,
    pub to: u16,
    pub code: u8,
    pub unit: Option<u8>,
}

impl std::str::FromStr for ExceptionRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            || format!("{s:?}: expected TABLE:FROM[-TO]=CODE[@UNIT], e.g. input:100-109=2");
        let (rule, unit) = match s.split_once('@') {
            Some((rule, unit)) => (rule, Some(unit.parse::<u8>().map_err(|_| expected())?)),
            None => (s, None),
        };
        let (table, rest) = rule.split_once(':').ok_or_else(expected)?;
        let (range, code) = rest.split_once('=').ok_or_else(expected)?;
        let table = match table {
            "holding" => Table::Holding,
            "input" => Table::Input,
            "coil" => Table::Coil,
            "discrete" => Table::Discrete,
            _ => {
                return Err(format!(
                    "{s:?}: table must be holding, input, coil or discrete"
                ));
            }
        };
        let (from, to) = range.split_once('-').unwrap_or((range, range));
        let from: u16 = from.parse().map_err(|_| expected())?;
        let to: u16 = to.parse().map_err(|_| expected())?;
        let code: u8 = code.parse().map_err(|_| expected())?;
        if to < from || code == 0 {
            return Err(expected());
        }
        Ok(ExceptionRule {
            table,
            from,
            to,
            code,
            unit,
        })
    }
}

impl ExceptionRule {
    fn hits(&self, unit: u8, request: &Request<'_>) -> bool {
        let (table, start, count) = match *request {
            Request::ReadHoldingRegisters(a, n) => (Table::Holding, a, n),
            Request::ReadInputRegisters(a, n) => (Table::Input, a, n),
            Request::ReadCoils(a, n) => (Table::Coil, a, n),
            Request::ReadDiscreteInputs(a, n) => (Table::Discrete, a, n),
            _ => return false,
        };
        let end = u32::from(start) + u32::from(count);
        self.unit.is_none_or(|u| u == unit)
            && table == self.table
            && u32::from(start) <= u32::from(self.to)
            && end > u32::from(self.from)
    }
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// How often the model advances; `None` freezes it (tests compare exact values).
    pub period: Option<Duration>,
    pub faults: Faults,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            period: Some(Duration::from_secs(1)),
            faults: Faults::default(),
        }
    }
}

struct Shared {
    model: Mutex<PlantModel>,
    banks: Mutex<HashMap<u8, Bank>>,
    faults: Mutex<Faults>,
    requests: AtomicU64,
    function_codes: Mutex<BTreeMap<u8, u64>>,
}

/// The simulated devices; serve them with [`Simulator::serve`].
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    ticker: Arc<Option<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a register image half-valid
    // in a way that matters to a simulator; keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Simulator {
    /// A simulator with its model at tick 0. With a period, a task advances the
    /// model (needs a tokio runtime).
    pub fn new(options: SimOptions) -> Simulator {
        let model = PlantModel::new(
            options.seed,
            options.period.unwrap_or(Duration::from_secs(1)),
        );
        let mut banks = HashMap::new();
        let mut meter = Bank::sized(200, 16);
        meter.holes.push((Table::Input, METER_HOLE.0, METER_HOLE.1));
        banks.insert(METER_UNIT, meter);
        banks.insert(PLC_UNIT, Bank::sized(64, 16));
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            banks: Mutex::new(banks),
            faults: Mutex::new(options.faults),
            requests: AtomicU64::new(0),
            function_codes: Mutex::new(BTreeMap::new()),
        });
        shared.publish();
        let ticker = options.period.map(|period| {
            let weak = Arc::downgrade(&shared);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    let Some(shared) = weak.upgrade() else { break };
                    lock(&shared.model).advance();
                    shared.publish();
                }
            })
        });
        Simulator {
            shared,
            ticker: Arc::new(ticker),
        }
    }

    /// The engineering value the simulator currently serves for a quantity.
    pub fn value(&self, quantity: Quantity) -> f64 {
        lock(&self.shared.model).value(quantity)
    }

    /// Overwrites registers of a unit (creating the unit if needed), e.g. a test pattern.
    pub fn set_registers(&self, unit: u8, table: Table, address: u16, words: &[u16]) {
        let mut banks = lock(&self.shared.banks);
        banks
            .entry(unit)
            .or_insert_with(|| Bank::sized(1024, 1024))
            .write(table, address, words);
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Function codes received so far, with counts.
    pub fn function_codes(&self) -> BTreeMap<u8, u64> {
        lock(&self.shared.function_codes).clone()
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Listens on `addr` (port 0 for an ephemeral one) and serves until stopped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let server = Arc::new(Server::new(listener));
        let task = spawn_serving(server.clone(), self.shared.clone());
        Ok(SimServer {
            addr: local,
            server,
            shared: self.shared.clone(),
            task,
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if Arc::strong_count(&self.ticker) == 1
            && let Some(task) = self.ticker.as_ref()
        {
            task.abort();
        }
    }
}

impl Simulator {
    /// Serves the same devices as an RTU slave on a serial port (e.g. one end
    /// of a pseudo-terminal pair) until the returned task is aborted.
    pub fn serve_rtu(&self, path: &str, baud: u32) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let serial = tokio_serial::SerialStream::open(&tokio_serial::new(path, baud))
            .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?;
        let server = tokio_modbus::server::rtu::Server::new(serial);
        let service = SimService {
            shared: self.shared.clone(),
        };
        Ok(tokio::spawn(async move {
            if let Err(error) = server.serve_forever(service).await {
                tracing::debug!("RTU simulator stopped: {error}");
            }
        }))
    }
}

fn spawn_serving(server: Arc<Server>, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let service = SimService { shared };
        let on_connected = |stream: tokio::net::TcpStream, addr: SocketAddr| {
            let service = service.clone();
            async move {
                let _ = stream.set_nodelay(true);
                accept_tcp_connection(stream, addr, move |_| Ok(Some(service.clone())))
            }
        };
        let on_error = |error: std::io::Error| tracing::debug!("simulator connection: {error}");
        if let Err(error) = server.serve(&on_connected, on_error).await {
            tracing::warn!("Modbus simulator stopped: {error}");
        }
    })
}

/// A listening simulator. Dropping it (or [`SimServer::stop`]) closes the
/// listener and every connection.
pub struct SimServer {
    pub addr: SocketAddr,
    server: Arc<Server>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Closes every open connection; the listener keeps accepting new ones.
    pub fn drop_connections(&mut self) {
        self.task.abort();
        self.task = spawn_serving(self.server.clone(), self.shared.clone());
    }

    pub async fn stop(self) {
        self.task.abort();
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct SimService {
    shared: Arc<Shared>,
}

impl tokio_modbus::server::Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { shared.answer(request).await })
    }
}

impl Shared {
    async fn answer(
        &self,
        request: SlaveRequest<'static>,
    ) -> Result<Option<Response>, ExceptionCode> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        *lock(&self.function_codes)
            .entry(request.request.function_code().value())
            .or_default() += 1;
        let faults = lock(&self.faults).clone();
        if !faults.latency.is_zero() {
            tokio::time::sleep(faults.latency).await;
        }
        if faults
            .timeout_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Ok(None);
        }
        if faults
            .busy_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Err(ExceptionCode::ServerDeviceBusy);
        }
        if let Some(rule) = faults
            .exceptions
            .iter()
            .find(|r| r.hits(request.slave, &request.request))
        {
            return Err(ExceptionCode::new(rule.code));
        }
        let banks = lock(&self.banks);
        match banks.get(&request.slave) {
            Some(bank) => bank.read(&request.request).map(Some),
            None => Err(ExceptionCode::GatewayTargetDevice),
        }
    }

    /// Writes the model's current values into the register images.
    fn publish(&self) {
        let model = lock(&self.model).clone();
        let mut banks = lock(&self.banks);
        for (unit, map) in [(METER_UNIT, &METER_MAP[..]), (PLC_UNIT, &PLC_MAP[..])] {
            let Some(bank) = banks.get_mut(&unit) else {
                continue;
            };
            for entry in map {
                let value = model.value(entry.quantity);
                match entry.bit {
                    Some(bit) => bank.set_bit(entry.address, bit, value != 0.0),
                    None => bank.write(entry.table, entry.address, &entry_words(entry, value)),
                }
            }
        }
    }
}

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
    super::decode::decode_raw(&words, entry.kind, entry.order, entry.bit)
        .map(|raw| raw * entry.scale)
        .unwrap_or(f64::NAN)
}

/// A `[[modbus_template]]` for a map, for configs that poll the simulator.
pub fn template_toml(name: &str, map: &[MapEntry], unreadable: &[(Table, u16, u16)]) -> String {
    let mut out = format!("[[modbus_template]]\nname = \"{name}\"\n");
    if !unreadable.is_empty() {
        let ranges: Vec<String> = unreadable
            .iter()
            .map(|(t, from, to)| {
                format!("{{ table = \"{}\", from = {from}, to = {to} }}", t.label())
            })
            .collect();
        out.push_str(&format!("unreadable = [{}]\n", ranges.join(", ")));
    }
    out.push_str("field = [\n");
    for e in map {
        let bit = e.bit.map(|b| format!(", bit = {b}")).unwrap_or_default();
        out.push_str(&format!(
            "  {{ key = \"{}\", name = \"{}\", unit = \"{}\", table = \"{}\", address = {}, type = \"{}\", order = \"{:?}\", scale = {:?}{bit} }},\n",
            e.key, e.name, e.unit, e.table.label(), e.address, e.kind.label(), e.order, e.scale
        ));
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_model() {
        let mut a = PlantModel::new(7, Duration::from_secs(1));
        let mut b = PlantModel::new(7, Duration::from_secs(1));
        for _ in 0..50 {
            a.advance();
            b.advance();
        }
        assert_eq!(a.value(Q::PowerTotal), b.value(Q::PowerTotal));
        assert_eq!(a.value(Q::EnergyKwh), b.value(Q::EnergyKwh));
        let c = PlantModel::new(8, Duration::from_secs(1));
        assert_ne!(a.value(Q::Voltage(0)), c.value(Q::Voltage(0)));
    }

    #[test]
    fn energy_counter_grows_with_power() {
        let mut m = PlantModel::new(1, Duration::from_secs(60));
        let start = m.value(Q::EnergyKwh);
        let p = m.value(Q::PowerTotal);
        m.advance();
        let expected = start + p / 60.0;
        assert!((m.value(Q::EnergyKwh) - expected).abs() < 1e-9);
    }

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

    #[test]
    fn exception_rules_parse() {
        let rule: ExceptionRule = "input:100-109=2@1".parse().unwrap();
        assert_eq!(
            rule,
            ExceptionRule {
                table: Table::Input,
                from: 100,
                to: 109,
                code: 2,
                unit: Some(1)
            }
        );
        assert!("input:100".parse::<ExceptionRule>().is_err());
        assert!("flash:1=2".parse::<ExceptionRule>().is_err());
    }
}
