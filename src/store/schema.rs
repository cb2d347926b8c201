//! Schema migrations, tracked with `PRAGMA user_version`.

use super::{Result, StoreError};
use rusqlite::Connection;
use std::path::Path;

/// Each entry upgrades from version `index` to `index + 1`. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE sensors (
         sensor_id INTEGER PRIMARY KEY,
         tag TEXT NOT NULL UNIQUE,
         name TEXT NOT NULL DEFAULT '',
         unit TEXT NOT NULL DEFAULT '',
         grp TEXT NOT NULL DEFAULT '',
         created_ms INTEGER NOT NULL
     );
     CREATE TABLE readings (
         sensor_id INTEGER NOT NULL REFERENCES sensors(sensor_id),
         ts INTEGER NOT NULL,
         value REAL NOT NULL,
         quality INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (sensor_id, ts)
     ) WITHOUT ROWID;
     CREATE TABLE alarm_events (
         event_id INTEGER PRIMARY KEY,
         ts INTEGER NOT NULL,
         sensor TEXT NOT NULL,
         condition TEXT NOT NULL,
         event TEXT NOT NULL,
         state TEXT NOT NULL DEFAULT '',
         value REAL,
         priority TEXT NOT NULL DEFAULT '',
         operator TEXT NOT NULL DEFAULT '',
         comment TEXT NOT NULL DEFAULT ''
     );
     CREATE INDEX alarm_events_ts ON alarm_events(ts);
     CREATE INDEX alarm_events_sensor ON alarm_events(sensor, ts);
     CREATE TRIGGER alarm_events_append_only_update BEFORE UPDATE ON alarm_events
         BEGIN SELECT RAISE(ABORT, 'alarm journal is append-only'); END;
     CREATE TRIGGER alarm_events_append_only_delete BEFORE DELETE ON alarm_events
         BEGIN SELECT RAISE(ABORT, 'alarm journal is append-only'); END;",
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let ctx = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(ctx)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(ctx)?;
        tx.execute_batch(sql).map_err(ctx)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(ctx)?;
        tx.commit().map_err(ctx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_file_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = crate::store::open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        drop(conn);
        let conn = crate::store::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('meta','sensors','readings','alarm_events')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 4);
    }

    #[test]
    fn refuses_a_file_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = crate::store::open(&path).unwrap_err();
        assert!(err.to_string().contains("upgrade floorwatch"), "{err}");
    }

    #[test]
    fn alarm_journal_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("h.sqlite")).unwrap();
        conn.execute(
            "INSERT INTO alarm_events(ts, sensor, condition, event) VALUES (1, 's', 'hh', 'raised')",
            [],
        )
        .unwrap();
        assert!(
            conn.execute("UPDATE alarm_events SET operator = 'x'", [])
                .is_err()
        );
        assert!(conn.execute("DELETE FROM alarm_events", []).is_err());
    }
}
