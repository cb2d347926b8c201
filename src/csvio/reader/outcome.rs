//! What reading a row gives: readings, or a bad row with its position and reason.

use crate::model::{Quality, TimestampMs};
use std::collections::BTreeMap;

/// Why a row was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    NotANumber,
    BadTimestamp,
    AmbiguousDate,
    DstGap,
    FieldCount,
    EmptySensor,
    BadSensorId,
    UnknownSensor,
    BadQuality,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::NotANumber => "not a number",
            Reason::BadTimestamp => "bad timestamp",
            Reason::AmbiguousDate => "ambiguous date",
            Reason::DstGap => "time in a DST gap",
            Reason::FieldCount => "wrong number of fields",
            Reason::EmptySensor => "empty sensor id",
            Reason::BadSensorId => "sensor id not printable text",
            Reason::UnknownSensor => "unknown sensor",
            Reason::BadQuality => "bad quality label",
        }
    }
}

/// A skipped row: where, why, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub file: String,
    pub line: u64,
    pub col: usize,
    pub reason: Reason,
    pub message: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for BadRow {}

/// Counts over the rows read so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Data rows (header excluded), good or bad.
    pub rows: u64,
    pub readings: u64,
    /// Values written as empty, `?`, `NaN`, `null`...: skipped, never stored.
    pub missing: u64,
    /// Rows whose every value was missing (e.g. the UCI file's `?` rows).
    pub empty_rows: u64,
    pub bad: BTreeMap<Reason, u64>,
}

impl ReadStats {
    pub fn bad_rows(&self) -> u64 {
        self.bad.values().sum()
    }
}

/// What one row gave.
#[derive(Clone, Debug, PartialEq)]
pub enum RowOutcome {
    /// This many readings were appended to the output.
    Read(usize),
    Skipped(BadRow),
}

/// A reading as the import writes it: the sensor as its index in the reader's
/// sensor table (see [`super::CsvReader::sensor`]), so rows carry no strings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawReading {
    pub sensor: u32,
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: Quality,
}
