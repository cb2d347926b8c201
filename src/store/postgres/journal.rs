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
