//! Exports of what a console view shows, for the export key: a sensor's (or
//! the dashboard's) readings over the visible window, or the alarm journal,
//! to a timestamped file in the export directory. Blocking (SQLite reads):
//! call it from `spawn_blocking`. Never draws progress (the console owns the
//! terminal).

use super::alarms::{AlarmFilter, export_alarms};
use super::output::Destination;
use super::points::{TimeRange, select_sensors};
use super::progress::Progress;
use super::readings::{Layout, export_readings};
use super::table::CsvStyle;
use super::{ReportError, write_csv};
use crate::alarm::{AlarmState, EventKind, Priority};
use crate::config::Config;
use crate::model::TimestampMs;
use crate::store::{HistoryReader, Location};
use globset::{Glob, GlobSetBuilder};
use std::path::{Path, PathBuf};

/// What the current view shows.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    /// Readings of these sensors (exact ids) over the visible window.
    Readings {
        sensors: Vec<String>,
        range: TimeRange,
    },
    /// The alarm journal over a window, optionally filtered (an empty list
    /// keeps every priority, sensor, event or state).
    AlarmJournal {
        range: TimeRange,
        priorities: Vec<Priority>,
        sensors: Vec<String>,
        events: Vec<EventKind>,
        states: Vec<AlarmState>,
    },
}

/// Where and how the console exports.
#[derive(Clone, Debug)]
pub struct ViewTarget {
    pub db: Location,
    pub dir: PathBuf,
    pub style: CsvStyle,
}

impl ViewTarget {
    /// From the config: `[export]` directory and style, plant timezone.
    pub fn from_config(config: &Config, db: &Location) -> Result<ViewTarget, ReportError> {
        let e = &config.export;
        let style = CsvStyle::build(
            e.delimiter.as_deref(),
            e.decimal_comma,
            e.bom,
            super::TimeStyle::Local(config.timezone()),
        )
        .map_err(ReportError::ExportStyle)?;
        Ok(ViewTarget {
            db: db.clone(),
            dir: e.dir(),
            style,
        })
    }
}

/// Writes the view to `<dir>/<name>-<local time>.csv`; returns the path and
/// the number of rows.
pub fn export_view(
    target: &ViewTarget,
    view: &View,
    now: TimestampMs,
) -> Result<(PathBuf, u64), ReportError> {
    std::fs::create_dir_all(&target.dir).map_err(|source| ReportError::File {
        path: target.dir.display().to_string(),
        source,
    })?;
    let path = free_name(&target.dir, &file_stem(view), &stamp(target, now));
    let reader = HistoryReader::open(&target.db)?;
    let dest = Destination::File(path.clone());
    let mut progress = Progress::hidden();
    let rows = match view {
        View::Readings { sensors, range } => {
            let globs: Vec<String> = sensors.iter().map(|s| globset::escape(s)).collect();
            let chosen = select_sensors(&reader, &globs)?;
            write_csv(&dest, target.style, |table| {
                export_readings(&reader, &chosen, *range, Layout::Long, table, &mut progress)
            })?
        }
        View::AlarmJournal {
            range,
            priorities,
            sensors,
            events,
            states,
        } => {
            let filter = AlarmFilter {
                range: *range,
                priorities: priorities.clone(),
                sensors: exact_set(sensors)?,
                events: events.clone(),
                states: states.clone(),
            };
            write_csv(&dest, target.style, |table| {
                export_alarms(&reader, &filter, table, &mut progress)
            })?
        }
    };
    Ok((path, rows))
}

fn exact_set(ids: &[String]) -> Result<Option<globset::GlobSet>, ReportError> {
    if ids.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for id in ids {
        b.add(Glob::new(&globset::escape(id)).map_err(|e| ReportError::Input(e.to_string()))?);
    }
    b.build()
        .map(Some)
        .map_err(|e| ReportError::Input(e.to_string()))
}

fn file_stem(view: &View) -> String {
    match view {
        View::Readings { sensors, .. } if sensors.len() == 1 => {
            format!("readings-{}", safe_file_part(&sensors[0]))
        }
        View::Readings { .. } => "dashboard".into(),
        View::AlarmJournal { .. } => "alarms".into(),
    }
}

/// Keeps letters, digits, `.`, `-`, `_`; anything else becomes `_`.
fn safe_file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn stamp(target: &ViewTarget, now: TimestampMs) -> String {
    let tz = match target.style.time {
        super::TimeStyle::Local(tz) => tz,
        super::TimeStyle::EpochMs => chrono_tz::UTC,
    };
    chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.with_timezone(&tz).format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|| now.to_string())
}

/// `stem-stamp.csv`, or `stem-stamp-2.csv` ... when that exists already.
fn free_name(dir: &Path, stem: &str, stamp: &str) -> PathBuf {
    let first = dir.join(format!("{stem}-{stamp}.csv"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{stem}-{stamp}-{n}.csv")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;
    use crate::store::writer::WriterConfig;
    use crate::store::{WriteMsg, Writer};

    #[test]
    fn exports_a_sensor_window_to_a_timestamped_file_twice_without_clobbering() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&db, WriterConfig::default()).unwrap();
        let readings = (0..10)
            .map(|i| Reading::good("a/b", i * 1000, i as f64))
            .collect();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        handle.blocking_flush().unwrap();
        drop(handle);
        writer.join().unwrap();

        let target = ViewTarget {
            db: db.into(),
            dir: dir.path().join("exports"),
            style: CsvStyle::default(),
        };
        let view = View::Readings {
            sensors: vec!["a/b".into()],
            range: TimeRange {
                from: 2000,
                to: 5000,
            },
        };
        // 2026-11-23T16:40:00Z
        let now = 1_795_452_000_000;
        let (path, rows) = export_view(&target, &view, now).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            "readings-a_b-20261123-164000.csv"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
        let (again, _) = export_view(&target, &view, now).unwrap();
        assert_eq!(
            again.file_name().unwrap().to_str().unwrap(),
            "readings-a_b-20261123-164000-2.csv"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let target = ViewTarget {
            db: dir.path().join("h.sqlite").into(),
            dir: blocker.join("exports"),
            style: CsvStyle::default(),
        };
        let view = View::AlarmJournal {
            range: TimeRange::ALL,
            priorities: vec![],
            sensors: vec![],
            events: vec![],
            states: vec![],
        };
        let err = export_view(&target, &view, 0).unwrap_err().to_string();
        assert!(err.contains("exports"), "{err}");
    }
}
