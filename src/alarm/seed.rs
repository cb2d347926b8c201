//! What the alarm evaluator remembers of the past, read back from the history
//! file at start: the last value of each sensor with a rate-of-change limit,
//! and the last value of each recent period of each meter with a consumption
//! rule. Fed to [`super::Evaluator::seed`] before the first reading, so a rate
//! or a consumption period that spans a restart is judged as if the console
//! had never stopped. Seeding raises nothing: the states come from the journal.
//! A replay seeds the same way from its own store after every jump.

use super::rules::{AlarmSetup, SensorRules};
use crate::model::{Quality, SensorId, TimestampMs};
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Recent good values of one sensor, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedSeries {
    pub sensor: SensorId,
    pub values: Vec<(TimestampMs, f64)>,
}

/// Reads what the rules in `setup` need from the history at `path`, up to
/// `until` (inclusive). Sensors without such rules, or without readings, are left out.
pub fn load(
    path: &Path,
    setup: &AlarmSetup,
    until: TimestampMs,
) -> Result<Vec<SeedSeries>, StoreError> {
    let conn = crate::store::open_reader(path)?;
    load_conn(&conn, setup, until).map_err(|source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    })
}

/// [`load`] on an open connection to a history file.
pub fn load_conn(
    conn: &Connection,
    setup: &AlarmSetup,
    until: TimestampMs,
) -> rusqlite::Result<Vec<SeedSeries>> {
    let mut seeds = Vec::new();
    for rules in &setup.sensors {
        seeds.extend(series(conn, rules, until)?);
    }
    Ok(seeds)
}

fn series(
    conn: &Connection,
    rules: &SensorRules,
    until: TimestampMs,
) -> rusqlite::Result<Option<SeedSeries>> {
    if rules.roc_per_minute.is_none() && rules.consumption.is_none() {
        return Ok(None);
    }
    let Some(last) = last_good(conn, rules.id.as_str(), until)? else {
        return Ok(None);
    };
    let mut values = match &rules.consumption {
        Some(c) => {
            // The current period and the n + 1 before it: the oldest only gives
            // the baseline at its end (the evaluator treats it as partial).
            let current = last.0.div_euclid(c.period_ms);
            let periods = i64::try_from(c.n).unwrap_or(i64::MAX).saturating_add(1);
            let from = current.saturating_sub(periods).saturating_mul(c.period_ms);
            period_ends(conn, rules.id.as_str(), from, until, c.period_ms)?
        }
        None => Vec::new(),
    };
    if values.last() != Some(&last) {
        values.push(last);
    }
    Ok(Some(SeedSeries {
        sensor: rules.id.clone(),
        values,
    }))
}

const BAD: i64 = 1;

/// The sensor's last reading the evaluator would have used (not bad quality).
fn last_good(
    conn: &Connection,
    tag: &str,
    until: TimestampMs,
) -> rusqlite::Result<Option<(TimestampMs, f64)>> {
    debug_assert_eq!(Quality::Bad.code(), BAD);
    conn.prepare_cached(
        "SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
         WHERE s.tag = ?1 AND r.ts <= ?2 AND r.quality <> ?3
         ORDER BY r.ts DESC LIMIT 1",
    )?
    .query_row(params![tag, until, BAD], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

/// The last good reading of each period of `period_ms` in `[from, until]`,
/// oldest first (what a consumption tracker keeps of each period).
fn period_ends(
    conn: &Connection,
    tag: &str,
    from: TimestampMs,
    until: TimestampMs,
    period_ms: i64,
) -> rusqlite::Result<Vec<(TimestampMs, f64)>> {
    // SQLite takes the bare column `value` from the row where max(ts) is found.
    let mut stmt = conn.prepare_cached(
        "SELECT max(r.ts), r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
         WHERE s.tag = ?1 AND r.ts >= ?2 AND r.ts <= ?3 AND r.quality <> ?4
         GROUP BY r.ts / ?5 ORDER BY 1",
    )?;
    stmt.query_map(params![tag, from, until, BAD, period_ms.max(1)], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::rules::ConsumptionParams;
    use crate::model::Reading;
    use crate::store::writer::WriterConfig;
    use crate::store::{WriteMsg, Writer};

    const HOUR: i64 = 3_600_000;

    #[test]
    fn the_last_value_for_roc_and_the_last_of_each_recent_period_for_consumption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        let mut readings = vec![
            Reading::good("level", 1_000, 1.0),
            Reading::good("level", 2_000, 2.0),
            Reading {
                quality: Quality::Bad,
                ..Reading::good("level", 3_000, 99.0)
            },
            Reading::good("level", 10 * HOUR, 3.0), // after `until`
        ];
        // Every 15 minutes for 8 hours: value = minutes since 0.
        readings.extend((0..32).map(|i| Reading::good("kwh", i * HOUR / 4, (i * 15) as f64)));
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        drop(handle);
        writer.join().unwrap();

        let mut level = SensorRules::new("level");
        level.roc_per_minute = Some(1.0);
        let mut kwh = SensorRules::new("kwh");
        kwh.consumption = Some(ConsumptionParams {
            period_ms: HOUR,
            factor: 1.5,
            n: 3,
        });
        let setup = AlarmSetup {
            sensors: vec![level, kwh, SensorRules::new("plain")],
            ..Default::default()
        };
        let seeds = load(&path, &setup, 9 * HOUR).unwrap();
        assert_eq!(
            seeds,
            [
                SeedSeries {
                    sensor: "level".into(),
                    values: vec![(2_000, 2.0)],
                },
                SeedSeries {
                    sensor: "kwh".into(),
                    // The last reading is at 7:45 (period 7): periods 3 … 7.
                    values: (3..8)
                        .map(|h| (h * HOUR + 3 * HOUR / 4, (h * 60 + 45) as f64))
                        .collect(),
                },
            ]
        );
        // Nothing stored yet (a new history file): nothing to seed.
        let empty = dir.path().join("new.sqlite");
        assert!(load(&empty, &setup, 9 * HOUR).unwrap().is_empty());
    }
}
