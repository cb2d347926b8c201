//! Interop with the machine's Mosquitto on 127.0.0.1:1883 through the real
//! binary (`floorwatch run --headless`): every payload format, a topic
//! pattern, a bad payload, SIGTERM commits everything. Skips with a reason
//! when Mosquitto is absent (fails when FLOORWATCH_REQUIRE_SERVICES=1).
//! Uses topics and client ids unique to this run and a clean session, so
//! nothing is left behind on the shared broker.

use crate::common;
use crate::mqtt_support;

use mqtt_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_payload_format_from_the_machine_mosquitto_lands_in_the_history() {
    if !common::machine_service("Mosquitto", "127.0.0.1:1883") {
        return;
    }
    let run = common::unique_run();
    let prefix = format!("floorwatch-test/{run}");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[ui]
status_every = "100ms"

[[mqtt]]
name = "machine"
url = "mqtt://127.0.0.1:1883"
client_id = "fw-test-{run}"
clean_session = true

[[sensor]]
id = "line1.temp"
mqtt = {{ broker = "machine", topic = "{prefix}/factory", id_path = "/sensor_id", match_id = "temp-001", time = "/timestamp" }}

[[sensor]]
id = "tank.level"
mqtt = {{ broker = "machine", topic = "{prefix}/adc/tank", raw = [4, 20], eng = [0, 10] }}

[[mqtt_pattern]]
broker = "machine"
topic = "{prefix}/plant/+/+"
id = "{{1}}.{{2}}"

[[mqtt_pattern]]
broker = "machine"
topic = "{prefix}/frames/+"
id = "{{1}}.{{field}}"
payload = "hex"
fields = [
  {{ name = "temp", offset = 0, type = "u16", scale = 0.01 }},
  {{ name = "level", offset = 6, type = "i16", scale = 0.001, offset_value = -10 }},
]

[[mqtt_pattern]]
broker = "machine"
topic = "{prefix}/batch"
id = "batch.{{id}}"
id_path = "/id"
value = "/v"
time = "/t"
time_format = "ms"
"#
    );
    let mut recorder = Recorder::start(&common::floorwatch_bin(), dir.path(), &config);
    recorder.wait_line("the subscriptions granted", |l| {
        l.contains("mqtt machine: subscribed to 5 of 5 topic filters")
    });

    let mut publisher = Publisher::connect(1883, &format!("fw-test-pub-{run}"));
    publisher.publish(&format!("{prefix}/factory"),
        r#"{"timestamp":"2025-10-02T12:00:00Z","sensor_id":"temp-001","sensor_type":"temperature","location":{"zone":"zone-a"},"value":36.2,"unit":"°C","alert_level":"warning","quality":1.0}"#).await;
    publisher
        .publish(
            &format!("{prefix}/factory"),
            r#"{"timestamp":"2025-10-02T12:00:00Z","sensor_id":"vib-001","value":5.5}"#,
        )
        .await;
    publisher.publish(&format!("{prefix}/adc/tank"), "12").await;
    publisher
        .publish(&format!("{prefix}/plant/line2/flow"), "3.5 m3/h")
        .await;
    publisher
        .publish(&format!("{prefix}/plant/line2/state"), "open")
        .await;
    publisher
        .publish(&format!("{prefix}/frames/pump7"), "50F70A3F73025EFC")
        .await;
    let batch: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"id":"s{}","v":{i},"t":{}}}"#,
                i % 4,
                1_759_406_400_000i64 + i
            )
        })
        .collect();
    publisher
        .publish(&format!("{prefix}/batch"), format!("[{}]", batch.join(",")))
        .await;
    publisher.wait_acked(7).await;

    // 1 + 1 + 1 + 2 + 200 rows; the bad "open" gives none.
    let expected_rows = 205;
    recorder.wait_count("stored", expected_rows);
    let (status, log) = recorder.terminate();
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains(&format!(
            "bad payload on topic {prefix}/plant/line2/state: expected a number"
        ))),
        "{}",
        log.join("\n")
    );

    let rows = stored(&dir.path().join("history.sqlite"));
    assert_eq!(rows.len() as u64, expected_rows, "{rows:?}");
    let value_of = |tag: &str| rows.iter().find(|r| r.0 == tag).map(|r| (r.1, r.2));
    assert_eq!(value_of("line1.temp"), Some((1_759_406_400_000, 36.2)));
    assert_eq!(value_of("tank.level").map(|v| v.1), Some(5.0));
    assert_eq!(value_of("line2.flow").map(|v| v.1), Some(3.5));
    assert_eq!(value_of("line2.state"), None);
    assert!((value_of("pump7.temp").unwrap().1 - 207.27).abs() < 1e-9);
    assert!((value_of("pump7.level").unwrap().1 - 14.316).abs() < 1e-9);
    for s in 0..4 {
        let tag = format!("batch.s{s}");
        let mine: Vec<_> = rows.iter().filter(|r| r.0 == tag).collect();
        assert_eq!(mine.len(), 50, "{tag}");
        assert!(
            mine.iter()
                .all(|r| r.2 as i64 % 4 == s && r.1 - 1_759_406_400_000 == r.2 as i64)
        );
    }
}
