//! What the alarm evaluator remembers of the past, read back from the history
//! file at start: the last value of each sensor with a rate-of-change limit,
//! and the last value of each recent period of each meter with a consumption
//! rule. Fed to [`super::Evaluator::seed`] before the first reading, so a rate
//! or a consumption period that spans a restart is judged as if the console
//! had never stopped. Seeding raises nothing: the states come from the journal.
//! A replay seeds the same way from its own store after every jump.

use super::rules::{AlarmSetup, SensorRules};
use crate::model::{SensorId, TimestampMs};
use crate::store::{HistoryReader, Location, StoreError};

/// Recent good values of one sensor, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedSeries {
    pub sensor: SensorId,
    pub values: Vec<(TimestampMs, f64)>,
}

/// Reads what the rules in `setup` need from the history at `path`, up to
/// `until` (inclusive). Sensors without such rules, or without readings, are left out.
pub fn load(
    path: impl Into<Location>,
    setup: &AlarmSetup,
    until: TimestampMs,
) -> Result<Vec<SeedSeries>, StoreError> {
    load_from(&HistoryReader::open(path)?, setup, until)
}

/// [`load`] from an open history.
pub fn load_from(
    history: &HistoryReader,
    setup: &AlarmSetup,
    until: TimestampMs,
) -> Result<Vec<SeedSeries>, StoreError> {
    let mut seeds = Vec::new();
    for rules in &setup.sensors {
        seeds.extend(series(history, rules, until)?);
    }
    Ok(seeds)
}

fn series(
    history: &HistoryReader,
    rules: &SensorRules,
    until: TimestampMs,
) -> Result<Option<SeedSeries>, StoreError> {
    if rules.roc_per_minute.is_none() && rules.consumption.is_none() {
        return Ok(None);
    }
    // The last reading the evaluator would have used (not bad quality).
    let Some(last) = history.last_not_bad(rules.id.as_str(), until)? else {
        return Ok(None);
    };
    let mut values = match &rules.consumption {
        Some(c) => {
            // The current period and the n + 1 before it: the oldest only gives
            // the baseline at its end (the evaluator treats it as partial).
            let current = last.0.div_euclid(c.period_ms);
            let periods = i64::try_from(c.n).unwrap_or(i64::MAX).saturating_add(1);
            let from = current.saturating_sub(periods).saturating_mul(c.period_ms);
            history.period_ends(rules.id.as_str(), from, until, c.period_ms)?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::rules::ConsumptionParams;
    use crate::model::{Quality, Reading};
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
