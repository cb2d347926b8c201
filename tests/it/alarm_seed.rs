//! Rate-of-change and consumption alarms across a console restart, through
//! the running console (writer + engine) and a real SQLite history file: the
//! evaluator is seeded from the history at start, so a rate or a consumption
//! period that spans the restart is judged correctly, and nothing already in
//! the journal is raised (or journaled) twice.

use crate::common;

use common::until;
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::model::{Reading, now_ms};
use floorwatch::source::SourceEvent;
use std::path::Path;

const CONFIG: &str = r#"
[plant]
name = "Restart plant"

[[sensor]]
id = "tank.level"
unit = "m"
alarm = { roc = "5.0/min" }

[[sensor]]
id = "pump.temp"
unit = "°C"
alarm = { roc = "5.0/min" }

[[sensor]]
id = "tenant-a.kwh"
unit = "kWh"
alarm = { consumption = { period = "1h" } }
"#;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn config() -> Config {
    Config::parse(Path::new("restart.toml"), CONFIG).expect("test config is valid")
}

/// Sends readings and waits until the engine has handed them to the writer.
async fn send(running: &Running, readings: Vec<Reading>) {
    let (ack, acked) = tokio::sync::oneshot::channel();
    running
        .events
        .send(SourceEvent::Readings {
            readings,
            ack: Some(ack),
        })
        .await
        .expect("engine is running");
    acked.await.expect("engine acknowledges");
}

fn has(state: &LiveState, key: &str) -> bool {
    state.alarms.iter().any(|a| a.key == key)
}

/// (sensor/condition, event, value) of every journal row, in order.
fn journal(db: &Path) -> Vec<(String, String, Option<f64>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT sensor, condition, event, value FROM alarm_events ORDER BY event_id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            format!("{}/{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            r.get(2)?,
            r.get(3)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn row(key: &str, event: &str, value: f64) -> (String, String, Option<f64>) {
    (key.to_owned(), event.to_owned(), Some(value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_and_consumption_alarms_spanning_a_restart_are_raised_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let config = config();
    // Whole hours in the past, so every reading is history by the restart.
    let t0 = (now_ms() - 10 * HOUR).div_euclid(HOUR) * HOUR;
    let meter = |at: i64, kwh: f64| Reading::good("tenant-a.kwh", t0 + at, kwh);

    // First run: the level rises 2 m/min (under the limit); the pump's
    // temperature rises 10 °C/min (raised); the meter uses 100 kWh an hour for
    // three hours, then 300 kWh in hour 4, which is not over until hour 5 starts.
    let running = Running::start(&config, &db).await.unwrap();
    send(
        &running,
        vec![
            Reading::good("tank.level", t0, 10.0),
            Reading::good("tank.level", t0 + MINUTE, 12.0),
            Reading::good("pump.temp", t0, 20.0),
            Reading::good("pump.temp", t0 + MINUTE, 30.0),
            meter(30 * MINUTE, 1_000.0),
            meter(HOUR + 30 * MINUTE, 1_100.0),
            meter(2 * HOUR + 30 * MINUTE, 1_200.0),
            meter(3 * HOUR + 30 * MINUTE, 1_300.0),
            meter(4 * HOUR + 30 * MINUTE, 1_500.0),
            meter(4 * HOUR + 50 * MINUTE, 1_600.0),
        ],
    )
    .await;
    let state = until(&running, "the pump's rate alarm", |s| {
        has(s, "pump.temp/roc")
    })
    .await;
    assert_eq!(state.alarms.len(), 1, "{:#?}", state.alarms);
    running.shutdown().await.unwrap();
    assert_eq!(journal(&db), [row("pump.temp/roc", "raised", 30.0)]);

    // Second run, on the same file.
    let running = Running::start(&config, &db).await.unwrap();
    let state = until(&running, "the restored pump alarm", |s| {
        has(s, "pump.temp/roc")
    })
    .await;
    assert_eq!(state.alarms.len(), 1, "{:#?}", state.alarms);
    send(
        &running,
        vec![
            // +8 m in the minute since the last stored level: over 5/min.
            Reading::good("tank.level", t0 + 2 * MINUTE, 20.0),
            // Still rising 10 °C/min: the restored alarm stays, not raised again.
            Reading::good("pump.temp", t0 + 2 * MINUTE, 40.0),
            // Hour 5 begins: hour 4 closes at 1600 − 1300 = 300 kWh > 1.5 × 100.
            meter(5 * HOUR + 10 * MINUTE, 1_610.0),
        ],
    )
    .await;
    let state = until(&running, "the level and consumption alarms", |s| {
        has(s, "tank.level/roc") && has(s, "tenant-a.kwh/consumption")
    })
    .await;
    let pump = state
        .alarms
        .iter()
        .find(|a| a.key == "pump.temp/roc")
        .unwrap();
    assert_eq!(
        pump.raised_ms,
        state.alarms.iter().map(|a| a.raised_ms).min().unwrap()
    );
    running.shutdown().await.unwrap();
    assert_eq!(
        journal(&db),
        [
            row("pump.temp/roc", "raised", 30.0),
            row("tank.level/roc", "raised", 20.0),
            row("tenant-a.kwh/consumption", "raised", 300.0),
        ]
    );
}
