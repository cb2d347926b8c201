//! Consumption of one meter over one period, from raw history.
//!
//! Cumulative registers: the energy between two consecutive good readings is
//! their difference (across a rollover: up to the maximum, then from 0), spread
//! evenly over the time between them. The period takes the part of each
//! interval that lies inside it, which is the same as reading the register at
//! each boundary by linear interpolation between the readings around it. A
//! negative difference that is not a rollover is a reset or a replacement: the
//! register is split into segments and the energy between those two readings is
//! not counted. Intervals longer than `max_gap` are reported as estimated.
//!
//! Interval meters: each reading is the energy of the interval that ends at its
//! timestamp; the period sums the readings with `from < ts <= to`.

use crate::config::MeterKind;
use crate::model::{Quality, TimestampMs};
use crate::store::{HistoryReader, Point, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;

use super::period::Period;

/// What the billing needs to know about a meter.
#[derive(Clone, Debug)]
pub struct MeterSpec {
    pub sensor: String,
    pub kind: MeterKind,
    pub multiplier: f64,
    /// Register modulus: the largest value shown plus one step of its resolution.
    pub modulus: Option<f64>,
    pub max_gap_ms: i64,
}

pub const DEFAULT_MAX_GAP_MS: i64 = 3_600_000;

impl MeterSpec {
    pub fn from_binding(sensor: &str, binding: &crate::config::MeterBinding) -> MeterSpec {
        let to_f64 = |d: Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
        MeterSpec {
            sensor: sensor.to_owned(),
            kind: binding.kind,
            multiplier: binding
                .multiplier
                .as_ref()
                .map(|m| to_f64(m.get_ref().get()))
                .unwrap_or(1.0),
            modulus: binding.rollover.as_ref().map(|r| {
                let max = r.get_ref().get();
                // 999999.9 shows tenths, so after it comes 1000000.0 = 0.
                to_f64(max + Decimal::new(1, max.scale()))
            }),
            max_gap_ms: binding
                .max_gap
                .map(|d| d.as_millis_i64())
                .unwrap_or(DEFAULT_MAX_GAP_MS),
        }
    }
}

/// Receives the period's energy as (start, end, kWh) slices, in time order.
pub trait EnergySink {
    fn add(&mut self, start: TimestampMs, end: TimestampMs, kwh: f64);
}

/// Only the total.
#[derive(Default)]
pub struct TotalOnly(pub f64);

impl EnergySink for TotalOnly {
    fn add(&mut self, _: TimestampMs, _: TimestampMs, kwh: f64) {
        self.0 += kwh;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterPoint {
    pub ts: TimestampMs,
    pub value: f64,
    /// How the value was obtained.
    pub method: PointMethod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointMethod {
    /// A reading exactly at the boundary.
    Reading,
    /// Linear interpolation between the readings before and after the boundary.
    Interpolated,
    /// No reading on the far side of the boundary: the nearest reading inside the period.
    NearestInside,
}

impl PointMethod {
    pub fn describe(self) -> &'static str {
        match self {
            PointMethod::Reading => "reading at the boundary",
            PointMethod::Interpolated => {
                "interpolated linearly between the readings around the boundary"
            }
            PointMethod::NearestInside => {
                "nearest reading inside the period (none beyond the boundary)"
            }
        }
    }
}

/// A stretch of one physical register (a reset or replacement starts a new one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterSegment {
    pub start: RegisterPoint,
    pub end: RegisterPoint,
    /// kWh (multiplier applied) inside the period.
    pub kwh: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QualityNote {
    Rollover {
        at: TimestampMs,
        before: f64,
        after: f64,
    },
    Reset {
        at: TimestampMs,
        before: f64,
        after: f64,
    },
    Gap {
        from: TimestampMs,
        to: TimestampMs,
        /// kWh of the period inside the gap, estimated by linear interpolation
        /// (cumulative) or missing (interval meters: 0).
        kwh: f64,
    },
    BadReadings {
        count: u64,
    },
    NegativeInterval {
        at: TimestampMs,
        value: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Readout {
    pub kind: MeterKind,
    pub opening: Option<RegisterPoint>,
    pub closing: Option<RegisterPoint>,
    pub segments: Vec<RegisterSegment>,
    /// Good readings inside the period.
    pub readings: u64,
    /// The newest good reading inside the period (ts, raw value).
    pub last_reading: Option<(TimestampMs, f64)>,
    /// kWh with the multiplier applied.
    pub kwh: f64,
    /// kWh of it that lies in gaps (estimated).
    pub estimated_kwh: f64,
    pub notes: Vec<QualityNote>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumptionError {
    #[error("meter {meter:?} has no readings in {period}")]
    NoReadings { meter: String, period: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the meter's history for the period and feeds its energy to `sink`.
pub fn read_consumption(
    reader: &HistoryReader,
    meter: &MeterSpec,
    period: &Period,
    sink: &mut impl EnergySink,
) -> Result<Readout, ConsumptionError> {
    let mut bad = 0u64;
    let mut inside: Vec<(TimestampMs, f64)> = Vec::new();
    let (from, to) = match meter.kind {
        MeterKind::Cumulative => (period.from, period.to),
        // (from, to]: an interval reading belongs to the interval that ends at it.
        MeterKind::Interval => (period.from + 1, period.to + 1),
    };
    reader.for_each_point(&meter.sensor, from, to, |Point { ts, value, quality }| {
        if quality == Quality::Good && value.is_finite() {
            inside.push((ts, value));
        } else {
            bad += 1;
        }
    })?;
    if inside.is_empty() {
        return Err(ConsumptionError::NoReadings {
            meter: meter.sensor.clone(),
            period: period.label.clone(),
        });
    }
    let mut readout = match meter.kind {
        MeterKind::Cumulative => {
            let before = reader.good_before(&meter.sensor, period.from)?;
            let after = reader.good_from(&meter.sensor, period.to)?;
            cumulative(meter, period, before, &inside, after, sink)
        }
        MeterKind::Interval => {
            let before = reader.good_before(&meter.sensor, from)?;
            interval(meter, period, before.map(|r| r.0), &inside, sink)
        }
    };
    if bad > 0 {
        readout.notes.push(QualityNote::BadReadings { count: bad });
    }
    Ok(readout)
}

enum Step {
    Normal(f64),
    Rollover(f64),
    Reset,
}

fn step(meter: &MeterSpec, a: f64, b: f64) -> Step {
    let delta = b - a;
    if delta >= 0.0 {
        return Step::Normal(delta);
    }
    if let Some(m) = meter.modulus {
        let wrapped = m - a + b;
        // A wrap is plausible only when it accounts for less than half the dial.
        if a <= m && wrapped >= 0.0 && wrapped < m / 2.0 {
            return Step::Rollover(wrapped);
        }
    }
    Step::Reset
}

fn cumulative(
    meter: &MeterSpec,
    period: &Period,
    before: Option<(TimestampMs, f64)>,
    inside: &[(TimestampMs, f64)],
    after: Option<(TimestampMs, f64)>,
    sink: &mut impl EnergySink,
) -> Readout {
    let points: Vec<(TimestampMs, f64)> = before
        .into_iter()
        .chain(inside.iter().copied())
        .chain(after)
        .collect();
    let first = inside[0];
    let last = inside[inside.len() - 1];
    let opening = boundary_point(meter, before, first, period.from);
    let closing = boundary_point(meter, after, last, period.to);
    let mut readout = Readout {
        kind: MeterKind::Cumulative,
        opening: Some(opening.clone()),
        closing: Some(closing.clone()),
        segments: Vec::new(),
        readings: inside.len() as u64,
        last_reading: Some(last),
        kwh: 0.0,
        estimated_kwh: 0.0,
        notes: Vec::new(),
    };
    let mut segment = RegisterSegment {
        start: opening,
        end: closing.clone(),
        kwh: 0.0,
    };
    for pair in points.windows(2) {
        let ((ta, va), (tb, vb)) = (pair[0], pair[1]);
        let start = ta.max(period.from);
        let end = tb.min(period.to);
        if end <= start || tb <= ta {
            continue;
        }
        let delta = match step(meter, va, vb) {
            Step::Normal(d) => d,
            Step::Rollover(d) => {
                readout.notes.push(QualityNote::Rollover {
                    at: tb,
                    before: va,
                    after: vb,
                });
                d
            }
            Step::Reset => {
                readout.notes.push(QualityNote::Reset {
                    at: tb,
                    before: va,
                    after: vb,
                });
                let mut ended = std::mem::replace(
                    &mut segment,
                    RegisterSegment {
                        start: reading_point(tb, vb),
                        end: closing.clone(),
                        kwh: 0.0,
                    },
                );
                ended.end = reading_point(ta, va);
                readout.segments.push(ended);
                continue;
            }
        };
        let kwh = delta * meter.multiplier * (end - start) as f64 / (tb - ta) as f64;
        sink.add(start, end, kwh);
        segment.kwh += kwh;
        readout.kwh += kwh;
        if tb - ta > meter.max_gap_ms {
            readout.estimated_kwh += kwh;
            readout.notes.push(QualityNote::Gap {
                from: ta,
                to: tb,
                kwh,
            });
        }
    }
    readout.segments.push(segment);
    readout
}

fn reading_point(ts: TimestampMs, value: f64) -> RegisterPoint {
    RegisterPoint {
        ts,
        value,
        method: PointMethod::Reading,
    }
}

/// The register at `boundary`: the reading there, the interpolation between
/// `beyond` (the reading on the other side) and `near`, or `near` itself.
fn boundary_point(
    meter: &MeterSpec,
    beyond: Option<(TimestampMs, f64)>,
    near: (TimestampMs, f64),
    boundary: TimestampMs,
) -> RegisterPoint {
    if near.0 == boundary {
        return reading_point(near.0, near.1);
    }
    if let Some(far) = beyond
        && far.0 == boundary
    {
        return reading_point(far.0, far.1);
    }
    let Some(far) = beyond else {
        return RegisterPoint {
            ts: near.0,
            value: near.1,
            method: PointMethod::NearestInside,
        };
    };
    let (a, b) = if far.0 < near.0 {
        (far, near)
    } else {
        (near, far)
    };
    let delta = match step(meter, a.1, b.1) {
        Step::Normal(d) | Step::Rollover(d) => d,
        Step::Reset => 0.0,
    };
    let mut value = a.1 + delta * (boundary - a.0) as f64 / (b.0 - a.0) as f64;
    if let Some(m) = meter.modulus
        && value >= m
    {
        value -= m;
    }
    RegisterPoint {
        ts: boundary,
        value: (value * 1000.0).round() / 1000.0,
        method: PointMethod::Interpolated,
    }
}

fn interval(
    meter: &MeterSpec,
    period: &Period,
    before: Option<TimestampMs>,
    inside: &[(TimestampMs, f64)],
    sink: &mut impl EnergySink,
) -> Readout {
    let mut readout = Readout {
        kind: MeterKind::Interval,
        opening: None,
        closing: None,
        segments: Vec::new(),
        readings: inside.len() as u64,
        last_reading: inside.last().copied(),
        kwh: 0.0,
        estimated_kwh: 0.0,
        notes: Vec::new(),
    };
    let mut previous = before;
    let mut typical = 15 * 60_000;
    for &(ts, value) in inside {
        let spacing = previous.map(|p| ts - p);
        if let Some(s) = spacing
            && s > 0
            && s <= meter.max_gap_ms
        {
            typical = s;
        }
        let gap_start = previous.unwrap_or(period.from).max(period.from);
        if ts - gap_start > meter.max_gap_ms {
            readout.notes.push(QualityNote::Gap {
                from: gap_start,
                to: ts - typical,
                kwh: 0.0,
            });
        }
        if value < 0.0 {
            readout
                .notes
                .push(QualityNote::NegativeInterval { at: ts, value });
        }
        let kwh = value * meter.multiplier;
        // The whole reading belongs to this period, spread over its interval
        // for the time-of-use bands and the 15-minute demand.
        let start = (ts - typical).max(period.from);
        sink.add(start, ts, kwh);
        readout.kwh += kwh;
        previous = Some(ts);
    }
    if let Some(&(last, _)) = inside.last()
        && period.to - last > meter.max_gap_ms
    {
        readout.notes.push(QualityNote::Gap {
            from: last,
            to: period.to,
            kwh: 0.0,
        });
    }
    readout
}
