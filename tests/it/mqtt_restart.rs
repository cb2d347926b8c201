//! No loss across restarts, with a Mosquitto of the test's own (generated
//! config, ephemeral port, persistence in a temp dir): QoS 1 messages
//! published while the broker restarts, and while the console is stopped,
//! all land in the history exactly once.

use crate::common;
use crate::mqtt_support;

use floorwatch::app::Running;
use mqtt_support::*;

const TOPIC: &str = "line/seq";

fn config(url: &str) -> String {
    format!(
        r#"[[mqtt]]
name = "plant"
url = "{url}"
client_id = "fw-restart-console"

[[sensor]]
id = "line.seq"
mqtt = {{ broker = "plant", topic = "{TOPIC}", value = "/seq", time = "/ts", time_format = "ms" }}
"#
    )
}

const BASE_TS: i64 = 1_759_406_400_000;

/// Message `i`: value `i` at `BASE_TS + i` ms.
fn message(i: u64) -> String {
    format!(r#"{{"seq":{i},"ts":{}}}"#, BASE_TS + i as i64)
}

async fn publish_range(publisher: &Publisher, range: std::ops::Range<u64>) {
    for i in range {
        publisher.publish(TOPIC, message(i)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_messages_survive_broker_and_console_restarts_exactly_once() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut broker = OwnMosquitto::start(dir.path(), "");
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&config(&broker.url()));
    let mut publisher = Publisher::connect(broker.port, "fw-restart-publisher");

    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "plant").await;
    publish_range(&publisher, 0..300).await;
    publisher.wait_acked(300).await;

    // The broker goes down with messages in flight; more are published while
    // it is down (queued by the publisher) and after it is back.
    broker.stop();
    publish_range(&publisher, 300..600).await;
    broker.restart();
    publisher.wait_acked(600).await;
    wait_session_resumed(&running).await;
    wait_rows(&running, &db, 600).await;

    // The console stops; the broker keeps its persistent session's messages.
    running.shutdown().await.unwrap();
    publish_range(&publisher, 600..900).await;
    publisher.wait_acked(900).await;
    let running = Running::start(&config, &db).await.unwrap();
    wait_session_resumed(&running).await;
    wait_rows(&running, &db, 900).await;
    let outcome = running.shutdown().await.unwrap();

    let rows = stored(&db);
    let expected: Vec<(String, i64, f64)> = (0..900u64)
        .map(|i| ("line.seq".to_owned(), BASE_TS + i as i64, i as f64))
        .collect();
    assert_eq!(rows.len(), expected.len(), "rows: {}", rows.len());
    assert_eq!(rows, expected);
    assert!(outcome.engine.received >= 300, "{outcome:?}");
}

/// The console is connected again and the broker kept its session (so the
/// QoS 1 messages queued for it are delivered).
async fn wait_session_resumed(running: &Running) {
    let mut snapshots = running.snapshots.clone();
    wait_state(&mut snapshots, "a resumed session", |s| {
        s.sources.iter().any(|src| {
            src.name == "plant"
                && src.state.is_up()
                && src.detail.contains(&("session".into(), "resumed".into()))
        })
    })
    .await;
}
