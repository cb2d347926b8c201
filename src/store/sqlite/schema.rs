//! Schema migrations, tracked with `PRAGMA user_version`.

use crate::store::{Result, StoreError};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// Each entry upgrades from version `index` to `index + 1`. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS sensors (
         sensor_id INTEGER PRIMARY KEY,
         tag TEXT NOT NULL UNIQUE,
         name TEXT NOT NULL DEFAULT '',
         unit TEXT NOT NULL DEFAULT '',
         grp TEXT NOT NULL DEFAULT '',
         created_ms INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS readings (
         sensor_id INTEGER NOT NULL REFERENCES sensors(sensor_id),
         ts INTEGER NOT NULL,
         value REAL NOT NULL,
         quality INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (sensor_id, ts)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS alarm_events (
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
     CREATE INDEX IF NOT EXISTS alarm_events_ts ON alarm_events(ts);
     CREATE INDEX IF NOT EXISTS alarm_events_sensor ON alarm_events(sensor, ts);
     CREATE TRIGGER IF NOT EXISTS alarm_events_append_only_update BEFORE UPDATE ON alarm_events
         BEGIN SELECT RAISE(ABORT, 'alarm journal is append-only'); END;
     CREATE TRIGGER IF NOT EXISTS alarm_events_append_only_delete BEFORE DELETE ON alarm_events
         BEGIN SELECT RAISE(ABORT, 'alarm journal is append-only'); END;",
    // 2: as PostgreSQL's version 2: who wrote each row, and one row per
    // occurrence of an automatic transition
    "ALTER TABLE alarm_events ADD COLUMN origin TEXT NOT NULL DEFAULT '';
     ALTER TABLE alarm_events ADD COLUMN occurrence INTEGER;
     CREATE UNIQUE INDEX IF NOT EXISTS alarm_events_occurrence
         ON alarm_events(sensor, condition, event, occurrence) WHERE occurrence IS NOT NULL;",
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date. Safe when several processes open the same
/// new file at once: the upgrade runs in one `BEGIN IMMEDIATE` transaction (the
/// others wait on the busy timeout) that reads the version again once it holds
/// the write lock, so only the first creates the tables.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let ctx = |source: rusqlite::Error| StoreError::Sqlite {
        path: path.to_owned(),
        source: source.into(),
    };
    if supported_version(conn, path)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(ctx)?;
    let found = supported_version(&tx, path)?;
    for sql in MIGRATIONS.iter().skip(found as usize) {
        tx.execute_batch(sql).map_err(ctx)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(ctx)?;
    tx.commit().map_err(ctx)
}

/// The file's schema version (`PRAGMA user_version`); an error when it is
/// newer than this build knows.
pub fn supported_version(conn: &Connection, path: &Path) -> Result<i64> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            source: source.into(),
        })?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            history: path.display().to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_file_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = crate::store::sqlite::open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        drop(conn);
        let conn = crate::store::sqlite::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('meta','sensors','readings','alarm_events')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 4);
    }

    /// Every table, index and trigger of a history file, with its SQL.
    fn schema_of(path: &Path) -> Vec<(String, String, Option<String>)> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn threads_creating_the_same_new_file_at_once_all_succeed() {
        const THREADS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference.sqlite");
        drop(crate::store::sqlite::open(&reference).unwrap());
        for round in 0..20 {
            let path = dir.path().join(format!("h{round}.sqlite"));
            let start = std::sync::Barrier::new(THREADS);
            let versions: Vec<Result<i64>> = std::thread::scope(|s| {
                let opening: Vec<_> = (0..THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            let conn = crate::store::sqlite::open(&path)?;
                            supported_version(&conn, &path)
                        })
                    })
                    .collect();
                opening.into_iter().map(|t| t.join().unwrap()).collect()
            });
            for version in versions {
                assert_eq!(version.unwrap(), SCHEMA_VERSION, "round {round}");
            }
            assert_eq!(schema_of(&path), schema_of(&reference), "round {round}");
        }
    }

    #[test]
    fn refuses_a_file_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = crate::store::sqlite::open(&path).unwrap_err();
        assert!(err.to_string().contains("upgrade floorwatch"), "{err}");
    }

    #[test]
    fn alarm_journal_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::sqlite::open(&dir.path().join("h.sqlite")).unwrap();
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
