//! Issue 16, values, times and metadata, end to end through a Mosquitto of
//! the test's own into a real history file:
//! - a 4–20 mA input with a broken wire (0 mA) or over range (21.5 mA) is
//!   stored with bad quality (not −2.5 / 10.94 bar good), shown as
//!   `bad value`, and raises the `bad` alarm;
//! - a time without an offset is plant-local (Europe/Madrid), unless the
//!   pattern says `tz = "UTC"`; `time_format` takes a strftime pattern;
//! - pattern-level alarm limits raise on discovered sensors, their group and
//!   name come from the payload (shown in the detail view), and a
//!   `[[sensor]]` with a discovered id inherits what it does not set.

use crate::common;
use crate::mqtt_support;

use common::tui::{NOW, render, text, ui_state};
use floorwatch::app::Running;
use floorwatch::engine::LiveState;
use floorwatch::model::Quality;
use floorwatch::ui::keys::Action;
use mqtt_support::*;
use std::path::Path;

/// (tag, ts, value, quality) of every stored reading, ordered.
fn stored_with_quality(db: &Path) -> Vec<(String, i64, f64, Quality)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT s.tag, r.ts, r.value, r.quality FROM readings r JOIN sensors s USING (sensor_id)
             ORDER BY s.tag, r.ts",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            Quality::from_code(r.get(3)?),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The live state rendered as the console draws it (100x30).
fn screen(config: &floorwatch::config::Config, state: &LiveState) -> String {
    let mut live = state.clone();
    live.now_ms = NOW;
    text(&render(&ui_state(config, live, 100, 30)))
}

const NE43: &str = r#"
[[mqtt]]
name = "adc"
url = "URL"
client_id = "fw-values-ne43"

[[sensor]]
id = "tank.pressure"
unit = "bar"
mqtt = { broker = "adc", topic = "adc/tank", raw = [4, 20], eng = [0, 10] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_4_20_ma_loop_is_stored_bad_shown_bad_and_alarmed() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&NE43.replace("URL", &broker.url()));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "adc").await;
    let mut publisher = Publisher::connect(broker.port, "fw-values-ne43-pub");
    // 12 mA (5 bar), a broken wire (0 mA), over range (21.5 mA).
    for ma in ["12", "0.0", "21.5"] {
        publisher.publish("adc/tank", ma).await;
    }
    publisher.wait_acked(3).await;
    wait_rows(&running, &db, 3).await;
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "the bad alarm", |s| {
        s.alarms.iter().any(|a| a.key == "tank.pressure/bad")
    })
    .await;
    let tank = state.sensor("tank.pressure").unwrap();
    assert_eq!(tank.quality, Quality::Bad);
    assert!(screen(&config, &state).contains("bad value"));
    running.shutdown().await.unwrap();

    let rows = stored_with_quality(&db);
    let got: Vec<(f64, Quality)> = rows.iter().map(|r| (r.2, r.3)).collect();
    // 0 + (x − 4) × 10 / 16: 12 → 5, 0 → −2.5, 21.5 → 10.9375.
    assert_eq!(
        got,
        [
            (5.0, Quality::Good),
            (-2.5, Quality::Bad),
            (10.9375, Quality::Bad)
        ],
        "{rows:?}"
    );
}

const FACTORY: &str = r#"
[plant]
timezone = "Europe/Madrid"

[[mqtt]]
name = "factory"
url = "URL"
client_id = "fw-values-factory"

[[mqtt_pattern]]                       # the factory monitor's thresholds
broker = "factory"
topic = "factory/temperature"
id = "{id}"
id_path = "/sensor_id"
time = "/timestamp"
name_path = "/location/machine_id"
group_path = "/location/zone"
unit = "°C"
range = [0, 60]
alarm = { hh = 40, h = 35 }

[[mqtt_pattern]]
broker = "factory"
topic = "factory/vibration"
id = "{id}"
id_path = "/sensor_id"
time = "/timestamp"
time_format = "%d/%m/%Y %H:%M:%S"
tz = "UTC"
group = "vibration"
unit = "mm/s"
alarm = { hh = 7, h = 5 }

[[sensor]]                             # a discovered id with a name of its own
id = "vib-002"
name = "Press 2 vibration"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_limits_raise_on_discovered_sensors_with_payload_group_and_local_times() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&FACTORY.replace("URL", &broker.url()));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "factory").await;
    let mut publisher = Publisher::connect(broker.port, "fw-values-factory-pub");
    let temperature = |id: &str, value: f64, machine: &str, zone: &str| {
        format!(
            r#"{{"timestamp":"2025-10-01 00:00:00","sensor_id":"{id}","sensor_type":"temperature","location":{{"zone":"{zone}","machine_id":"{machine}"}},"value":{value},"unit":"°C","quality":1.0}}"#
        )
    };
    let messages = [
        (
            "factory/temperature",
            temperature("temp-001", 36.2, "press-7", "zone-a"),
        ),
        (
            "factory/temperature",
            temperature("temp-002", 41.0, "oven-2", "zone-b"),
        ),
        (
            "factory/temperature",
            temperature("temp-003", 20.0, "dryer-1", "zone-a"),
        ),
        (
            "factory/vibration",
            r#"{"timestamp":"01/10/2025 00:00:00","sensor_id":"vib-002","value":7.5}"#.into(),
        ),
    ];
    for (topic, payload) in &messages {
        publisher.publish(topic, payload.as_str()).await;
    }
    publisher.wait_acked(messages.len() as u64).await;
    wait_rows(&running, &db, messages.len() as u64).await;
    let mut snapshots = running.snapshots.clone();
    let wanted = [
        "temp-001/h",
        "temp-002/h",
        "temp-002/hh",
        "vib-002/h",
        "vib-002/hh",
    ];
    let state = wait_state(&mut snapshots, "the pattern alarms", |s| {
        wanted.iter().all(|k| s.alarms.iter().any(|a| a.key == *k))
    })
    .await;
    let mut alarms: Vec<&str> = state.alarms.iter().map(|a| a.key.as_str()).collect();
    alarms.sort_unstable();
    // 36.2 > h 35; 41 > h 35 and hh 40; 7.5 > h 5 and hh 7 (vib-002 has no
    // limits of its own); 20.0 raises nothing.
    assert_eq!(alarms, wanted);

    let meta = |id: &str| state.sensor(id).unwrap().meta.clone();
    let press = meta("temp-001");
    assert_eq!(
        (
            press.name.as_str(),
            press.group.as_str(),
            press.unit.as_str(),
            press.range
        ),
        ("press-7", "zone-a", "°C", Some((0.0, 60.0)))
    );
    assert_eq!(meta("temp-002").group, "zone-b");
    let vib = meta("vib-002");
    assert_eq!(
        (vib.name.as_str(), vib.group.as_str(), vib.unit.as_str()),
        ("Press 2 vibration", "vibration", "mm/s"),
        "the [[sensor]] keeps its name and inherits the rest"
    );

    // The detail view of the press shows the group from its payload.
    let mut live = (*state).clone();
    live.now_ms = NOW;
    let mut ui = ui_state(&config, live, 100, 30);
    ui.apply(Action::Filter);
    for c in "press-7".chars() {
        ui.on_event(&key(crossterm::event::KeyCode::Char(c)));
    }
    ui.on_event(&key(crossterm::event::KeyCode::Enter));
    ui.apply(Action::Detail);
    let detail = text(&render(&ui));
    assert!(detail.contains("press-7"), "{detail}");
    let group_line = detail.lines().find(|l| l.contains("group")).unwrap_or("");
    assert!(group_line.contains("zone-a"), "{detail}");
    running.shutdown().await.unwrap();

    // Midnight of 2025-10-01 in Madrid (UTC+2) is 2025-09-30T22:00:00Z; the
    // vibration pattern's tz = "UTC" reads its midnight as 00:00Z.
    let madrid_midnight = 1_759_269_600_000;
    let utc_midnight = 1_759_276_800_000;
    let rows = stored(&db);
    let ts: Vec<(&str, i64)> = rows.iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(
        ts,
        [
            ("temp-001", madrid_midnight),
            ("temp-002", madrid_midnight),
            ("temp-003", madrid_midnight),
            ("vib-002", utc_midnight),
        ]
    );
}

fn key(code: crossterm::event::KeyCode) -> crossterm::event::Event {
    crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::NONE,
    ))
}
