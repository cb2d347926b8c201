use super::*;
use crate::model::{Quality, SensorId};
use crate::store::sqlite::commit::delete_older_than;
use rusqlite::Connection;

fn reading(sensor: &str, ts: i64, value: f64) -> Reading {
    Reading::good(sensor, ts, value)
}

#[tokio::test]
async fn commits_on_flush_and_upserts_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    handle
        .send(WriteMsg::Readings(vec![
            reading("a", 1, 1.0),
            reading("b", 1, 2.0),
        ]))
        .await
        .unwrap();
    handle
        .send(WriteMsg::Readings(vec![
            reading("a", 1, 1.5),
            reading("a", 2, 3.0),
        ]))
        .await
        .unwrap();
    let stats = handle.flush().await.unwrap();
    assert_eq!(stats.rows_committed, 4);
    drop(handle);
    writer.join().unwrap();

    let conn = Connection::open(&path).unwrap();
    let rows: Vec<(String, i64, f64)> = conn
        .prepare("SELECT s.tag, r.ts, r.value FROM readings r JOIN sensors s USING(sensor_id) ORDER BY s.tag, r.ts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("a".into(), 1, 1.5),
            ("a".into(), 2, 3.0),
            ("b".into(), 1, 2.0)
        ]
    );
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

#[tokio::test]
async fn outcomes_are_counted_and_add_up_to_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    let first = vec![
        reading("a", 1, 1.0),
        reading("a", 1, 1.0),
        reading("a", 2, 2.0),
    ];
    handle.send(WriteMsg::Readings(first)).await.unwrap();
    handle.flush().await.unwrap();
    // A re-delivery of a@1, a new value for a@2, a new time a@3.
    let second = vec![
        reading("a", 1, 1.0),
        reading("a", 2, 3.0),
        reading("a", 3, 4.0),
    ];
    handle.send(WriteMsg::Readings(second)).await.unwrap();
    let stats = handle.flush().await.unwrap();
    assert_eq!(
        (stats.stored, stats.duplicates, stats.superseded),
        (3, 2, 1),
        "{stats:?}"
    );
    assert_eq!(stats.rows_committed, 6);
    drop(handle);
    writer.join().unwrap();
    let conn = Connection::open(&path).unwrap();
    let rows: Vec<(i64, f64)> = conn
        .prepare("SELECT ts, value FROM readings ORDER BY ts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rows, vec![(1, 1.0), (2, 3.0), (3, 4.0)]);
    assert_eq!(rows.len() as u64, stats.stored, "stored = rows inserted");
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
