//! The alarm journal on PostgreSQL is the alarm state every console shares.
//! Each row is inserted with the console that wrote it (`origin`) and, for
//! automatic transitions, its occurrence: the unique index of schema version
//! 2 keeps one row per (sensor, condition, event, occurrence), so consoles
//! and recorders evaluating the same readings journal a raise once. Every
//! inserted row is announced on [`CHANNEL`] with `pg_notify` in the inserting
//! transaction: PostgreSQL delivers it only once that commits. The listening
//! side is [`super::listen`].

use crate::store::rows::AlarmEventRow;
use tokio_postgres::Transaction;

use super::wait;

/// The LISTEN/NOTIFY channel; the payload is the new row's `event_id`.
pub const CHANNEL: &str = "floorwatch_alarms";

const INSERT_AND_NOTIFY: &str = "WITH inserted AS (
     INSERT INTO alarm_events(ts, sensor, condition, event, state, value, priority, operator,
         comment, origin, occurrence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT DO NOTHING
     RETURNING event_id)
 SELECT pg_notify('floorwatch_alarms', event_id::text) FROM inserted";

/// Inserts the rows in the caller's transaction; returns how many were new
/// (the others were occurrences another console had journaled already).
pub(crate) fn insert_alarms(
    tx: &Transaction<'_>,
    alarms: &[AlarmEventRow],
) -> Result<u64, tokio_postgres::Error> {
    if alarms.is_empty() {
        return Ok(0);
    }
    let stmt = wait(tx.prepare(INSERT_AND_NOTIFY))?;
    let mut inserted = 0;
    for a in alarms {
        inserted += wait(tx.execute(
            &stmt,
            &[
                &a.ts,
                &a.sensor,
                &a.condition,
                &a.event,
                &a.state,
                &a.value,
                &a.priority,
                &a.operator,
                &a.comment,
                &a.origin,
                &a.occurrence,
            ],
        ))?;
    }
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use crate::store::writer::{WriteMsg, Writer, WriterConfig};
    use crate::store::{AlarmEventRow, HistoryReader, JournalQuery, Location};

    fn row(event: &str, origin: &str, occurrence: Option<i64>, ts: i64) -> AlarmEventRow {
        AlarmEventRow {
            ts,
            sensor: "line1.temp".into(),
            condition: "hh".into(),
            event: event.into(),
            state: "unack".into(),
            operator: if occurrence.is_some() { "" } else { "ana" }.into(),
            origin: origin.into(),
            occurrence,
            ..Default::default()
        }
    }

    /// Journals `rows` through a writer of its own, as one console would.
    fn journal(location: &Location, rows: &[AlarmEventRow]) {
        let (writer, handle) = Writer::spawn(location, WriterConfig::default()).unwrap();
        for r in rows {
            handle.blocking_send(WriteMsg::Alarm(r.clone())).unwrap();
        }
        drop(handle);
        writer.join().unwrap();
    }

    #[test]
    fn an_occurrence_is_journaled_once_whoever_writes_it() {
        for h in crate::store::test_backends::all() {
            // Console A, console B (the same reading arrived 30 ms later) and
            // a recorder evaluate the same readings.
            for (origin, lag) in [("a", 0), ("b", 30), ("recorder", 12)] {
                journal(
                    &h.location,
                    &[
                        row("raised", origin, Some(1_000), 1_000 + lag),
                        row("cleared", origin, Some(9_000), 9_000 + lag),
                        // A new occurrence of the same alarm is a row of its own.
                        row("raised", origin, Some(20_000), 20_000 + lag),
                    ],
                );
            }
            // Operator actions are each console's own, even alike.
            journal(&h.location, &[row("acked", "a", None, 2_000)]);
            journal(&h.location, &[row("acked", "b", None, 2_000)]);
            let reader = HistoryReader::open(&h.location).unwrap();
            let mut rows = reader
                .journal_query(&JournalQuery {
                    limit: 100,
                    ..Default::default()
                })
                .unwrap();
            rows.reverse();
            let seen: Vec<_> = rows
                .iter()
                .map(|r| (r.event.as_str(), r.origin.as_str(), r.occurrence))
                .collect();
            assert_eq!(
                seen,
                [
                    ("raised", "a", Some(1_000)),
                    ("acked", "a", None),
                    ("acked", "b", None),
                    ("cleared", "a", Some(9_000)),
                    ("raised", "a", Some(20_000)),
                ],
                "{}",
                h.location
            );
        }
    }
}
