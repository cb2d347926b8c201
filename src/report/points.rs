//! The history reads reports need: sensors chosen by glob, and readings of
//! one sensor streamed in time order straight from the primary key (constant
//! memory).

use super::ReportError;
use crate::model::{Quality, TimestampMs};
use crate::store::{HistoryReader, PointCursor};
use globset::{Glob, GlobSetBuilder};

pub use crate::store::{Point, StoredSensor};

/// `from <= ts < to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: TimestampMs,
    pub to: TimestampMs,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
}

/// Stored sensors whose tag matches any of `globs` (all sensors when empty),
/// sorted by tag. No match is bad input.
pub fn select_sensors(
    history: &HistoryReader,
    globs: &[String],
) -> Result<Vec<StoredSensor>, ReportError> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| ReportError::Input(format!("--sensor {g:?}: {e}")))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| ReportError::Input(format!("--sensor: {e}")))?;
    let all = history.stored_sensors()?;
    let chosen: Vec<StoredSensor> = all
        .into_iter()
        .filter(|s| globs.is_empty() || set.is_match(&s.tag))
        .collect();
    if chosen.is_empty() {
        return Err(ReportError::Input(if globs.is_empty() {
            "the history file has no sensors".into()
        } else {
            format!(
                "no sensor in the history file matches {}",
                globs
                    .iter()
                    .map(|g| format!("{g:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
    }
    Ok(chosen)
}

/// How many readings of these sensors fall in `range` (for the progress bar).
pub fn count_in_range(
    history: &HistoryReader,
    sensors: &[StoredSensor],
    range: TimeRange,
) -> Result<u64, ReportError> {
    let mut total = 0u64;
    for s in sensors {
        total += history.count_in_range(s.rowid, range.from, range.to)?;
    }
    Ok(total)
}

/// The last good, finite reading of a sensor strictly before `ts`.
pub fn last_good_before(
    history: &HistoryReader,
    sensor: &StoredSensor,
    ts: TimestampMs,
) -> Result<Option<f64>, ReportError> {
    Ok(history.last_good_value_before(sensor.rowid, ts)?)
}

/// A running range query of one sensor; several can be open at once.
pub struct Cursor<'r> {
    points: PointCursor<'r>,
}

impl<'r> Cursor<'r> {
    pub fn open(history: &'r HistoryReader, sensor: &StoredSensor, range: TimeRange) -> Self {
        Cursor {
            points: PointCursor::new(history, sensor.rowid, range.from, range.to),
        }
    }

    pub fn next_point(&mut self) -> Result<Option<Point>, ReportError> {
        Ok(self.points.next_point()?)
    }
}

pub fn quality_label(q: Quality) -> &'static str {
    q.label()
}
