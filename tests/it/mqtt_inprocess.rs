//! End to end with an in-process rumqttd broker on an ephemeral port: runs
//! on any machine. Publish → MQTT source → engine → rows in the history file.

use crate::mqtt_support;

use floorwatch::app::Running;
use floorwatch::sim::mqtt::InProcessBroker;
use mqtt_support::*;

fn config(port: u16) -> String {
    format!(
        r#"[[mqtt]]
name = "plant"
url = "mqtt://127.0.0.1:{port}"
client_id = "fw-inprocess-test"

[[sensor]]
id = "line1.temp"
unit = "°C"
mqtt = {{ broker = "plant", topic = "factory/line1/temp", value = "/value", time = "/timestamp" }}

[[mqtt_pattern]]
broker = "plant"
topic = "plant/+/+/value"
id = "{{1}}.{{2}}"
group = "plant"

[[mqtt_pattern]]
broker = "plant"
topic = "devices/+/frame"
id = "{{1}}.{{field}}"
payload = "hex"
fields = [
  {{ name = "temp", offset = 0, type = "u16", scale = 0.01, unit = "°C" }},
  {{ name = "level", offset = 6, type = "i16", scale = 0.001, offset_value = -10 }},
]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_become_rows_and_discovered_sensors() {
    let broker = InProcessBroker::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&config(broker.port));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "plant").await;
    let mut publisher = Publisher::connect(broker.port, "fw-inprocess-publisher");
    let mut snapshots = running.snapshots.clone();

    // The factory monitor's JSON, 50 readings a second apart.
    const N: i64 = 50;
    let base = 1_759_406_400_000i64; // 2025-10-02T12:00:00Z
    let mut published = 0;
    let mut last_json = String::new();
    for i in 0..N {
        let ts = chrono::DateTime::from_timestamp_millis(base + i * 1000)
            .unwrap()
            .to_rfc3339();
        let payload = format!(
            r#"{{"timestamp":"{ts}","sensor_id":"temp-001","sensor_type":"temperature","location":{{"zone":"zone-a"}},"value":{},"unit":"°C","alert_level":"warning","quality":1.0}}"#,
            30.0 + i as f64 / 10.0
        );
        last_json.clone_from(&payload);
        publisher.publish("factory/line1/temp", payload).await;
    }
    publisher
        .publish("plant/line2/pressure/value", "4.2 bar")
        .await;
    publisher
        .publish("devices/pump7/frame", "50F70A3F73025EFC")
        .await;
    publisher.publish("plant/line2/flow/value", "lots").await;
    published += N as u64 + 3;
    publisher.wait_acked(published).await;

    // The JSON readings, the plain number, two frame fields.
    wait_rows(&running, &db, N as u64 + 1 + 2).await;
    let state = wait_state(&mut snapshots, "the bad payload to be counted", |s| {
        s.sources
            .iter()
            .any(|src| src.name == "plant" && src.errors >= 1)
    })
    .await;
    let status = state.sources.iter().find(|s| s.name == "plant").unwrap();
    assert_eq!(status.errors, 1);
    let bad = status
        .detail
        .iter()
        .find(|(k, _)| k == "bad: plant/line2/flow/value")
        .unwrap_or_else(|| panic!("{:?}", status.detail));
    assert!(bad.1.contains("\"lots\""), "{}", bad.1);
    assert!(state.sensor("pump7.temp").is_some());
    // The detail view's "received" block: the last publish behind each sensor.
    let state = wait_state(&mut snapshots, "the raw payloads", |s| {
        ["line1.temp", "pump7.level"]
            .iter()
            .all(|id| s.sensor(id).is_some_and(|x| x.raw.is_some()))
    })
    .await;
    let raw = |id: &str| {
        state
            .sensor(id)
            .and_then(|s| s.raw.as_ref())
            .map(|r| r.describe())
            .unwrap_or_default()
    };
    assert_eq!(
        raw("line1.temp")[0],
        format!("topic factory/line1/temp ({} bytes)", last_json.len())
    );
    assert_eq!(raw("line1.temp")[1], last_json);
    assert_eq!(
        raw("pump7.level"),
        ["topic devices/pump7/frame (16 bytes)", "50F70A3F73025EFC"]
    );
    running.shutdown().await.unwrap();

    let rows = stored(&db);
    let temps: Vec<_> = rows.iter().filter(|r| r.0 == "line1.temp").collect();
    assert_eq!(temps.len(), N as usize);
    for (i, (_, ts, value)) in temps.iter().enumerate() {
        assert_eq!(*ts, base + i as i64 * 1000);
        assert!((value - (30.0 + i as f64 / 10.0)).abs() < 1e-9);
    }
    let value_of = |tag: &str| {
        rows.iter()
            .find(|r| r.0 == tag)
            .unwrap_or_else(|| panic!("no row for {tag}: {rows:?}"))
            .2
    };
    assert_eq!(value_of("line2.pressure"), 4.2);
    // 0x50F7 = 20727 → 207.27; 0x5EFC = 24316 → 24.316 - 10.
    assert!((value_of("pump7.temp") - 207.27).abs() < 1e-9);
    assert!((value_of("pump7.level") - 14.316).abs() < 1e-9);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let units: Vec<(String, String, String)> = conn
        .prepare("SELECT tag, unit, grp FROM sensors WHERE tag IN ('line2.pressure', 'pump7.temp') ORDER BY tag")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        units,
        [
            ("line2.pressure".into(), "bar".into(), "plant".into()),
            ("pump7.temp".into(), "°C".into(), "".into())
        ]
    );
}
