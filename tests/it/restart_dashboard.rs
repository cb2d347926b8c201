//! A restarted console shows what the history holds (last values and the
//! sparkline window) instead of empty tiles, and never as live: each restored
//! sensor is stale until its next reading arrives.

use crate::common;

use common::until;
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::model::{Quality, Reading, SensorMeta, now_ms};
use floorwatch::source::SourceEvent;
use floorwatch::store::Location;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{WriteMsg, Writer};
use std::path::Path;

const CONFIG: &str = r#"
[plant]
name = "Restart plant"
[history]
live_window = "10m"
[[sensor]]
id = "line1.temp"
name = "Line 1 temperature"
unit = "°C"
"#;

fn meta(id: &str, name: &str) -> SensorMeta {
    SensorMeta {
        id: id.into(),
        name: name.into(),
        unit: "bar".into(),
        ..Default::default()
    }
}

/// The history a first run left: line1.temp every 30 s over the last 5 min, a
/// pump discovered from a topic 2 min ago, and a sensor last heard of yesterday.
fn write_history(db: &Location, now: i64) {
    let (writer, store) = Writer::spawn(db, WriterConfig::default()).unwrap();
    let mut readings: Vec<Reading> = (0..10)
        .map(|i| Reading::good("line1.temp", now - 300_000 + i * 30_000, 20.0 + i as f64))
        .collect();
    readings.push(Reading::good("pump7.pressure", now - 120_000, 4.2));
    readings.push(Reading::good("retired.flow", now - 86_400_000, 9.0));
    for m in [
        meta("pump7.pressure", "Pump 7 pressure"),
        meta("retired.flow", "Retired flow"),
    ] {
        store.blocking_send(WriteMsg::Sensor(m)).unwrap();
    }
    store.blocking_send(WriteMsg::Readings(readings)).unwrap();
    drop(store);
    writer.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_values_show_stale_until_fresh_readings_arrive_on_every_backend() {
    for h in common::histories() {
        let db = h.location.clone();
        let now = now_ms();
        let history = db.clone();
        tokio::task::spawn_blocking(move || write_history(&history, now))
            .await
            .unwrap();
        let config = Config::parse(Path::new("restart.toml"), CONFIG).unwrap();
        let running = Running::start(&config, &db).await.unwrap();

        let state = running.snapshots.borrow().clone();
        let temp = state.sensor("line1.temp").expect("configured sensor");
        assert_eq!(
            temp.last.map(|p| (p.ts, p.value)),
            Some((now - 30_000, 29.0))
        );
        assert_eq!(
            temp.quality,
            Quality::Stale,
            "a value from before the restart is not live"
        );
        let sparkline: Vec<f64> = temp.recent.iter().map(|p| p.value).collect();
        assert_eq!(sparkline, (20..30).map(f64::from).collect::<Vec<_>>());
        let pump = state
            .sensor("pump7.pressure")
            .expect("recently discovered sensor");
        assert_eq!(pump.meta.name, "Pump 7 pressure");
        assert_eq!(
            (pump.last.map(|p| p.value), pump.quality),
            (Some(4.2), Quality::Stale)
        );
        assert!(
            state.sensor("retired.flow").is_none(),
            "a sensor silent for longer than the live window is not brought back"
        );

        running
            .events
            .send(SourceEvent::readings(vec![Reading::good(
                "line1.temp",
                now_ms(),
                31.5,
            )]))
            .await
            .unwrap();
        let state = until(&running, "the fresh reading", |s| {
            s.sensor("line1.temp")
                .is_some_and(|t| t.quality == Quality::Good)
        })
        .await;
        let temp = state.sensor("line1.temp").unwrap();
        assert_eq!(temp.last.map(|p| p.value), Some(31.5));
        assert_eq!(temp.recent.len(), 11, "the restored window continues");
        running.shutdown().await.unwrap();
    }
}
