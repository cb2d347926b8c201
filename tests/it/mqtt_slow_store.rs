//! A store that cannot commit (another process holds the history file's
//! write lock) throttles ingestion back to the broker: the console
//! acknowledges nothing it has not committed, the broker keeps every message,
//! nothing is dropped, and every message lands once the store recovers.

use crate::common;
use crate::mqtt_support;

use floorwatch::app::Running;
use mqtt_support::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::time::Duration;

const N: u64 = 40_000;
const BASE_TS: i64 = 1_759_406_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_store_throttles_the_broker_and_loses_nothing() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "sys_interval 1\n");
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&format!(
        r#"[[mqtt]]
name = "plant"
url = "{}"
client_id = "fw-slow-store-console"

[[sensor]]
id = "line.seq"
mqtt = {{ broker = "plant", topic = "line/seq", value = "/seq", time = "/ts", time_format = "ms" }}
"#,
        broker.url()
    ));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "plant").await;
    let mut broker_store = sys_topic(broker.port, "$SYS/broker/store/messages/count").await;

    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let mut publisher = Publisher::connect(broker.port, "fw-slow-store-publisher");
    for i in 0..N {
        let payload = format!(r#"{{"seq":{i},"ts":{}}}"#, BASE_TS + i as i64);
        publisher.publish("line/seq", payload).await;
    }
    publisher.wait_acked(N).await;

    // The whole stream waits at the broker: a message is acknowledged only
    // once committed, and nothing can be committed while the file is locked.
    // (The count also holds the broker's own retained $SYS messages.)
    let held = tokio::time::timeout(TIMEOUT, async {
        loop {
            let count = broker_store.recv().await.expect("$SYS subscriber stopped");
            if count >= N {
                return count;
            }
        }
    })
    .await
    .expect("the broker never held every message");
    assert_eq!(count_rows(&db), 0, "nothing can be committed while locked");
    assert!(held >= N, "{held}");

    lock.execute_batch("COMMIT").unwrap();
    drop(lock);
    wait_rows(&running, &db, N).await;
    let outcome = running.shutdown().await.unwrap();
    assert_eq!(outcome.store.rows_committed, N, "{outcome:?}");

    let rows = stored(&db);
    assert_eq!(rows.len() as u64, N);
    for (i, (tag, ts, value)) in rows.iter().enumerate() {
        assert_eq!(
            (tag.as_str(), *ts, *value),
            ("line.seq", BASE_TS + i as i64, i as f64)
        );
    }
}

/// The numbers Mosquitto publishes on a `$SYS` topic.
async fn sys_topic(port: u16, topic: &str) -> tokio::sync::mpsc::Receiver<u64> {
    let mut options = MqttOptions::new("fw-slow-store-sys", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    client.subscribe(topic, QoS::AtMostOnce).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let _client = client;
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event
                && let Some(n) = std::str::from_utf8(&p.payload)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                && tx.send(n).await.is_err()
            {
                break;
            }
        }
    });
    rx
}
