//! Issue 16 end to end through a Mosquitto of the test's own: GPS trackers
//! publish hex frames on one topic (`/messenger`); the pattern names each
//! sensor by the device id inside the frame (`{frame.device:X}.{field}`).
//! Two devices' telemetry frames become readings under their own ids; the
//! 12-byte ping frame on the same topic is rejected whole and counted.
//! The config is `tests/configs/valid/frames.toml`, as `check` accepts it.

use crate::common;
use crate::mqtt_support;

use floorwatch::app::Running;
use mqtt_support::*;
use std::path::Path;

/// Python-made frames (see `src/source/payload/frame/tests.rs`): device
/// 0x0A3F73 at 23.550520 S 46.633308 W, device 0x0B1C2D at 51.507351 N
/// 0.127758 W, and device 0x0A3F73's ping.
const FRAME_A: &str = "50F70A3F73025EFC2A100D01675A3802C7915C020B316AFB890001E2400E1C73C4";
const FRAME_B: &str = "50F70B1C2D025EFC2A3C040311F0970001F30E00000E74150600000007B43D73C4";
const PING: &str = "50F70A3F730150494E4773C4";

/// (field, device A's value, device B's value), computed by hand from the
/// values packed into the frames.
const EXPECTED: [(&str, f64, f64); 9] = [
    ("battery", 12.65, 3.7),
    ("fix", 1.0, 0.0),
    ("ignition", 1.0, 0.0),
    ("lat", -23.550520, 51.507351),
    ("lon", -46.633308, -0.127758),
    ("odometer", 123_456.0, 7.0),
    ("satellites", 9.0, 6.0),
    ("speed", 52.3, 0.0),
    ("temp", -5.0, 21.0),
];

fn config(url: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/valid/frames.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("mqtt://127.0.0.1:1883"));
    text.replace("mqtt://127.0.0.1:1883", url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_of_two_devices_get_their_ids_and_the_ping_is_rejected_whole() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&config(&broker.url()));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "trackers").await;
    let mut publisher = Publisher::connect(broker.port, "fw-frames-publisher");
    for frame in [FRAME_A, PING, FRAME_B] {
        publisher.publish("/messenger", frame).await;
    }
    publisher.wait_acked(3).await;

    wait_rows(&running, &db, 2 * EXPECTED.len() as u64).await;
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "the three messages counted", |s| {
        (s.sources.iter()).any(|src| src.name == "trackers" && src.messages >= 3)
    })
    .await;
    let status = state.sources.iter().find(|s| s.name == "trackers").unwrap();
    assert_eq!((status.messages, status.errors), (3, 1), "{status:?}");
    let (_, reason) = (status.detail.iter())
        .find(|(k, _)| k == "bad: /messenger")
        .unwrap_or_else(|| panic!("{:?}", status.detail));
    assert!(
        reason.starts_with("1× frame type 0x01 has no layout (layouts for 0x02)")
            && reason.contains(PING),
        "{reason}"
    );
    let outcome = running.shutdown().await.unwrap();
    assert_eq!(outcome.engine.received, 2 * EXPECTED.len() as u64);

    let rows = stored(&db);
    assert_eq!(
        rows.len(),
        2 * EXPECTED.len(),
        "nothing but the two frames: {rows:#?}"
    );
    let value_of = |tag: String| {
        let row = rows.iter().find(|r| r.0 == tag);
        row.unwrap_or_else(|| panic!("no row for {tag}: {rows:#?}"))
            .2
    };
    for (field, a, b) in EXPECTED {
        let got_a = value_of(format!("0A3F73.{field}"));
        let got_b = value_of(format!("0B1C2D.{field}"));
        assert!((got_a - a).abs() < 1e-9, "0A3F73.{field}: {got_a} vs {a}");
        assert!((got_b - b).abs() < 1e-9, "0B1C2D.{field}: {got_b} vs {b}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tags: Vec<String> = (conn
        .prepare("SELECT tag FROM sensors ORDER BY tag")
        .unwrap())
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    let mut expected_tags: Vec<String> = ["0A3F73", "0B1C2D"]
        .iter()
        .flat_map(|d| EXPECTED.iter().map(move |(f, ..)| format!("{d}.{f}")))
        .collect();
    expected_tags.push("truck7.lat".into());
    expected_tags.sort();
    assert_eq!(tags, expected_tags, "no sensor made of the ping");
}
