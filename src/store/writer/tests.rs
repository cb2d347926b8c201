use super::*;
use crate::model::{Quality, SensorId};
use crate::store::Location;
use crate::store::sqlite::commit::delete_older_than;
use rusqlite::Connection;

fn reading(sensor: &str, ts: i64, value: f64) -> Reading {
    Reading::good(sensor, ts, value)
}

/// Every stored reading as (sensor, ts, value), read back through the interface.
fn stored_rows(location: &Location) -> Vec<(String, i64, f64)> {
    let reader = crate::store::HistoryReader::open(location).unwrap();
    let mut rows = Vec::new();
    for sensor in reader.sensors().unwrap() {
        for r in reader
            .range(sensor.id.as_str(), i64::MIN, i64::MAX)
            .unwrap()
        {
            rows.push((r.sensor.as_str().to_owned(), r.ts, r.value));
        }
    }
    rows
}

/// Commits each batch of `batches` in turn on `location`: the stats after the last.
fn write_batches(location: &Location, batches: Vec<Vec<Reading>>) -> StoreStats {
    let (writer, handle) = Writer::spawn(location, WriterConfig::default()).unwrap();
    let mut stats = StoreStats::default();
    for batch in batches {
        handle.blocking_send(WriteMsg::Readings(batch)).unwrap();
        stats = handle.blocking_flush().unwrap();
    }
    drop(handle);
    writer.join().unwrap();
    stats
}

#[test]
fn commits_on_flush_and_upserts_duplicates() {
    for h in crate::store::test_backends::all() {
        let first = vec![reading("a", 1, 1.0), reading("b", 1, 2.0)];
        let second = vec![reading("a", 1, 1.5), reading("a", 2, 3.0)];
        let stats = write_batches(&h.location, vec![[first, second].concat()]);
        assert_eq!(stats.rows_committed, 4, "{}", h.location);
        let expected: Vec<(String, i64, f64)> = vec![
            ("a".into(), 1, 1.5),
            ("a".into(), 2, 3.0),
            ("b".into(), 1, 2.0),
        ];
        assert_eq!(stored_rows(&h.location), expected, "{}", h.location);
    }
}

#[tokio::test]
async fn commits_by_itself_within_max_latency() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    handle
        .send(WriteMsg::Readings(vec![reading("a", 1, 1.0)]))
        .await
        .unwrap();
    // No flush: the latency timer alone must commit it.
    let mut stats = handle.watch_stats();
    tokio::time::timeout(
        Duration::from_secs(10),
        stats.wait_for(|s| s.rows_committed == 1),
    )
    .await
    .expect("writer never committed on its own")
    .unwrap();
    drop(handle);
    assert_eq!(writer.join().unwrap().rows_committed, 1);
}

#[tokio::test]
async fn sensor_metadata_is_stored_and_kept_when_readings_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    let meta = SensorMeta {
        id: SensorId::new("t"),
        name: "Temp".into(),
        unit: "°C".into(),
        group: "line1".into(),
        range: None,
    };
    handle.send(WriteMsg::Sensor(meta)).await.unwrap();
    handle
        .send(WriteMsg::Readings(vec![Reading {
            sensor: SensorId::new("t"),
            ts: 5,
            value: 1.0,
            quality: Quality::Stale,
        }]))
        .await
        .unwrap();
    handle.flush().await.unwrap();
    drop(handle);
    writer.join().unwrap();
    let conn = Connection::open(&path).unwrap();
    let (name, unit, q): (String, String, i64) = conn
        .query_row(
            "SELECT name, unit, quality FROM sensors JOIN readings USING(sensor_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), unit.as_str(), q), ("Temp", "°C", 2));
}

#[test]
fn retention_deletes_only_old_rows_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    let readings = (0..25).map(|i| reading("a", i, i as f64)).collect();
    handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
    handle.blocking_flush().unwrap();
    drop(handle);
    writer.join().unwrap();
    let conn = crate::store::sqlite::open(&path).unwrap();
    assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 8);
    assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 8);
    assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 4);
    assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 0);
    let left: i64 = conn
        .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 5);
}

#[test]
fn outcomes_are_counted_and_add_up_to_what_was_committed() {
    for h in crate::store::test_backends::all() {
        let first = vec![
            reading("a", 1, 1.0),
            reading("a", 1, 1.0),
            reading("a", 2, 2.0),
        ];
        // A re-delivery of a@1, a new value for a@2, a new time a@3.
        let second = vec![
            reading("a", 1, 1.0),
            reading("a", 2, 3.0),
            reading("a", 3, 4.0),
        ];
        let stats = write_batches(&h.location, vec![first, second]);
        assert_eq!(
            (
                stats.stored,
                stats.duplicates,
                stats.superseded,
                stats.rows_committed
            ),
            (3, 2, 1, 6),
            "{}: {stats:?}",
            h.location
        );
        let rows = stored_rows(&h.location);
        let expected: Vec<(String, i64, f64)> = vec![
            ("a".into(), 1, 1.0),
            ("a".into(), 2, 3.0),
            ("a".into(), 3, 4.0),
        ];
        assert_eq!(rows, expected, "{}", h.location);
        assert_eq!(rows.len() as u64, stats.stored, "stored = rows inserted");
    }
}

#[test]
fn a_batch_repeating_a_key_counts_each_row_in_order_on_every_backend() {
    for h in crate::store::test_backends::all() {
        // In the second batch: a@1 changed, repeated, changed back; a@2 new then repeated.
        let batch = vec![
            reading("a", 1, 5.0),
            reading("a", 2, 2.0),
            reading("a", 1, 5.0),
            reading("a", 1, 1.0),
            reading("a", 2, 2.0),
        ];
        let stats = write_batches(&h.location, vec![vec![reading("a", 1, 1.0)], batch]);
        assert_eq!(
            (stats.stored, stats.duplicates, stats.superseded),
            (2, 2, 2),
            "{}: {stats:?}",
            h.location
        );
        let expected: Vec<(String, i64, f64)> = vec![("a".into(), 1, 1.0), ("a".into(), 2, 2.0)];
        assert_eq!(stored_rows(&h.location), expected, "{}", h.location);
    }
}

#[tokio::test]
async fn readings_and_alarm_rows_of_any_month_are_stored_on_every_backend() {
    // 1969, 2025-10, 2025-11 and year 20000 (the DEFAULT partition on PostgreSQL).
    let stamps = [
        -86_400_000,
        1_759_406_400_000,
        1_762_000_000_000,
        569_000_000_000_000,
    ];
    for h in crate::store::test_backends::all() {
        let (writer, handle) = Writer::spawn(&h.location, WriterConfig::default()).unwrap();
        let readings = stamps
            .iter()
            .map(|&ts| reading("m", ts, ts as f64))
            .collect();
        handle.send(WriteMsg::Readings(readings)).await.unwrap();
        let row = AlarmEventRow {
            ts: 5,
            sensor: "m".into(),
            condition: "hh".into(),
            event: "raised".into(),
            state: "active".into(),
            value: None,
            priority: "high".into(),
            operator: String::new(),
            comment: String::new(),
            ..Default::default()
        };
        handle.send(WriteMsg::Alarm(row.clone())).await.unwrap();
        let stats = handle.flush().await.unwrap();
        assert_eq!((stats.stored, stats.alarm_events), (4, 1), "{}", h.location);
        drop(handle);
        writer.join().unwrap();
        let got: Vec<i64> = stored_rows(&h.location).into_iter().map(|r| r.1).collect();
        assert_eq!(got, stamps, "{}", h.location);
        let reader = crate::store::HistoryReader::open(&h.location).unwrap();
        assert_eq!(
            reader.journal_between(0, 10).unwrap(),
            vec![row],
            "{}",
            h.location
        );
    }
}

#[tokio::test]
async fn after_commit_answers_once_the_readings_are_visible_to_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    // A long latency: only the waiting AfterCommit makes it commit now.
    let config = WriterConfig {
        max_latency: Duration::from_secs(3600),
        ..Default::default()
    };
    let (writer, handle) = Writer::spawn(&path, config).unwrap();
    let (ack, acked) = oneshot::channel();
    handle
        .send(WriteMsg::Readings(vec![
            reading("a", 1, 1.0),
            reading("b", 1, 2.0),
        ]))
        .await
        .unwrap();
    handle.send(WriteMsg::AfterCommit(ack)).await.unwrap();
    acked.await.expect("answered after the commit");
    let visible: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(visible, 2);
    drop(handle);
    writer.join().unwrap();
}

#[tokio::test]
async fn an_unwritable_history_gives_up_at_shutdown_without_answering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let config = WriterConfig {
        shutdown_grace: Duration::ZERO,
        ..Default::default()
    };
    let (writer, handle) = Writer::spawn(&path, config).unwrap();
    // Every commit fails from now on.
    Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE readings")
        .unwrap();
    writer.give_up_after_grace();
    let (ack, acked) = oneshot::channel();
    handle
        .send(WriteMsg::Readings(vec![reading("a", 1, 1.0)]))
        .await
        .unwrap();
    handle.send(WriteMsg::AfterCommit(ack)).await.unwrap();
    assert!(acked.await.is_err(), "never acknowledged");
    assert!(handle.stats().commit_errors >= 1);
    drop(handle);
    match writer.join() {
        Err(StoreError::Unwritable { readings, .. }) => assert_eq!(readings, 1),
        other => panic!("expected Unwritable, got {other:?}"),
    }
}
