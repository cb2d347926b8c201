//! None invented, none lost, through a Mosquitto of the test's own: a burst
//! of readings stamped on arrival keeps every reading; a re-sent reading is
//! counted as a duplicate and a corrected one as superseded; an oversized
//! message is counted, acknowledged and does not stall what follows.

use crate::common;
use crate::mqtt_support;

use floorwatch::app::Running;
use mqtt_support::*;

fn config(url: &str, client_id: &str, extra: &str) -> String {
    format!(
        r#"[[mqtt]]
name = "plant"
url = "{url}"
client_id = "{client_id}"
{extra}

[[sensor]]
id = "line.count"
mqtt = {{ broker = "plant", topic = "line/count" }}

[[sensor]]
id = "line.seq"
mqtt = {{ broker = "plant", topic = "line/seq", value = "/seq", time = "/ts", time_format = "ms" }}
"#
    )
}

/// Readings of `sensor` in the history file.
fn rows_of(db: &std::path::Path, sensor: &str) -> Vec<(i64, f64)> {
    stored(db)
        .into_iter()
        .filter(|(tag, _, _)| tag == sensor)
        .map(|(_, ts, value)| (ts, value))
        .collect()
}

/// A Mosquitto of the test's own and a console subscribed to it.
struct Plant {
    _dir: tempfile::TempDir,
    broker: OwnMosquitto,
    db: std::path::PathBuf,
    config: floorwatch::config::Config,
}

impl Plant {
    async fn start(name: &str, extra: &str) -> (Plant, Running) {
        let dir = tempfile::tempdir().unwrap();
        let broker = OwnMosquitto::start(dir.path(), "");
        let db = dir.path().join("history.sqlite");
        let config = parse_config(&config(&broker.url(), &format!("fw-{name}-console"), extra));
        let running = Running::start(&config, &db).await.unwrap();
        wait_subscribed(&running, "plant").await;
        let plant = Plant {
            _dir: dir,
            broker,
            db,
            config,
        };
        (plant, running)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_stamped_on_arrival_keeps_every_reading_in_order() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    const N: u64 = 1_000;
    let (plant, running) = Plant::start("burst", "").await;
    let (broker, db) = (&plant.broker, &plant.db);
    let mut publisher = Publisher::connect(broker.port, "fw-burst-publisher");
    // Back to back: many arrive within one millisecond.
    for i in 0..N {
        publisher.publish("line/count", i.to_string()).await;
    }
    publisher.wait_acked(N).await;
    wait_rows(&running, db, N).await;
    let outcome = running.shutdown().await.unwrap();

    let rows = rows_of(db, "line.count");
    assert_eq!(rows.len() as u64, N, "one row per message");
    let values: Vec<f64> = rows.iter().map(|(_, v)| *v).collect();
    let sent: Vec<f64> = (0..N).map(|i| i as f64).collect();
    assert_eq!(values, sent, "in arrival order, none overwritten");
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "times increase");
    let store = outcome.store;
    assert_eq!(
        (store.stored, store.duplicates, store.superseded),
        (N, 0, 0),
        "{store:?}"
    );
    assert_eq!(outcome.engine.received, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_and_corrected_readings_are_counted_apart_from_stored() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    const TS: i64 = 1_759_406_400_000;
    let (plant, running) = Plant::start("dup", "").await;
    let (broker, db) = (&plant.broker, &plant.db);
    let mut publisher = Publisher::connect(broker.port, "fw-dup-publisher");
    let message = |seq: u64, ts: i64| format!(r#"{{"seq":{seq},"ts":{ts}}}"#);
    publisher.publish("line/seq", message(1, TS)).await;
    publisher.publish("line/seq", message(1, TS)).await; // the device re-sent it
    publisher.publish("line/seq", message(2, TS + 1)).await;
    publisher.publish("line/seq", message(3, TS + 1)).await; // a correction
    publisher.wait_acked(4).await;
    let mut stats = running.store.watch_stats();
    // (The borrow wait_for returns is dropped at once: it blocks the writer.)
    let counted = tokio::time::timeout(TIMEOUT, stats.wait_for(|s| s.rows_committed == 4))
        .await
        .is_ok_and(|r| r.is_ok());
    assert!(counted, "{:?}", running.store.stats());
    let outcome = running.shutdown().await.unwrap();

    let store = outcome.store;
    assert_eq!(
        (store.stored, store.duplicates, store.superseded),
        (2, 1, 1),
        "{store:?}"
    );
    assert_eq!(outcome.engine.received, 4);
    assert_eq!(
        rows_of(db, "line.seq"),
        vec![(TS, 1.0), (TS + 1, 3.0)],
        "stored = rows in the file; the later value wins"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_counted_acknowledged_and_does_not_stall_the_broker() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    const GOOD: u64 = 200;
    const BIG: usize = 5 << 20;
    let (plant, running) = Plant::start("big", "max_packet_size = 1048576").await;
    let (broker, db, config) = (&plant.broker, &plant.db, &plant.config);
    let mut publisher = Publisher::connect_with_limit(broker.port, "fw-big-publisher", BIG + 1024);
    publisher.publish("line/count", vec![b'7'; BIG]).await;
    for i in 0..GOOD {
        publisher.publish("line/count", i.to_string()).await;
    }
    publisher.wait_acked(GOOD + 1).await;
    wait_rows(&running, db, GOOD).await;
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "the oversized message counted", |s| {
        s.sources
            .iter()
            .any(|src| src.name == "plant" && src.errors == 1)
    })
    .await;
    let plant = state.sources.iter().find(|s| s.name == "plant").unwrap();
    let bad = plant
        .detail
        .iter()
        .find(|(k, _)| k == "bad: line/count")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        bad.contains(&format!(
            "payload of {BIG} bytes is larger than max_packet_size = 1048576"
        )),
        "{:?}",
        plant.detail
    );
    running.shutdown().await.unwrap();
    assert_eq!(rows_of(db, "line.count").len() as u64, GOOD);

    // It was acknowledged: a restarted console is not sent it again.
    let running = Running::start(config, db).await.unwrap();
    wait_subscribed(&running, "plant").await;
    publisher.publish("line/count", "1000").await;
    publisher.wait_acked(GOOD + 2).await;
    wait_rows(&running, db, GOOD + 1).await;
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "the new message counted", |s| {
        s.sources
            .iter()
            .any(|src| src.name == "plant" && src.messages >= 1)
    })
    .await;
    let plant = state.sources.iter().find(|s| s.name == "plant").unwrap();
    assert_eq!((plant.messages, plant.errors), (1, 0), "{:?}", plant.detail);
    running.shutdown().await.unwrap();
}
