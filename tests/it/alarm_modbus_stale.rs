//! A Modbus device that stops answering: the sensor's stale alarm is raised,
//! not before `stale` of silence, through the real Modbus poller, engine and
//! history file. How soon after (within stale + one housekeeping tick) is
//! asserted on a paused clock in `engine::tests`, not on this machine's
//! wall clock.

use crate::modbus_support;

use floorwatch::alarm::AlarmState;
use floorwatch::alarm::journal::{self, JournalFilter};
use floorwatch::app::Running;
use floorwatch::config::{Config, Table};
use floorwatch::store::HistoryReader;
use std::path::Path;
use std::time::Duration;

const STALE_MS: i64 = 1_000;
const POLL_MS: i64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_device_raises_stale_after_stale_of_silence() {
    let (sim, server) = modbus_support::frozen_simulator().await;
    sim.set_registers(1, Table::Holding, 0, &[1234]);
    let text = format!(
        "[[modbus]]\nname = \"dev\"\nurl = \"tcp://{}\"\nunit = 1\npoll = \"{POLL_MS}ms\"\ntimeout = \"200ms\"\n\
         [[sensor]]\nid = \"dev.v\"\nmodbus = {{ device = \"dev\", table = \"holding\", address = 0, type = \"u16\" }}\n\
         alarm = {{ stale = \"{STALE_MS}ms\" }}\n",
        server.addr
    );
    let config = Config::parse(Path::new("stale.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let running = Running::start(&config, &db).await.unwrap();
    let mut rx = running.snapshots.clone();
    let wait = |d: u64| Duration::from_secs(d);
    tokio::time::timeout(
        wait(15),
        rx.wait_for(|s| {
            s.sensor("dev.v")
                .and_then(|x| x.last)
                .is_some_and(|p| p.value == 1234.0)
        }),
    )
    .await
    .expect("the device is polled")
    .unwrap();
    server.stop().await;
    let snap = tokio::time::timeout(
        wait(15),
        rx.wait_for(|s| {
            s.alarms
                .iter()
                .any(|a| a.key == "dev.v/stale" && a.state == AlarmState::Unacknowledged)
        }),
    )
    .await
    .expect("stale alarm raised")
    .unwrap()
    .clone();
    let stale = snap.alarms.iter().find(|a| a.key == "dev.v/stale").unwrap();
    assert!(stale.message.contains("no reading"), "{}", stale.message);
    running.shutdown().await.unwrap();

    // The last stored reading and the raise, both on the wall clock.
    let reader = HistoryReader::open(&db).unwrap();
    let last = reader
        .range("dev.v", i64::MIN, i64::MAX)
        .unwrap()
        .last()
        .map(|r| r.ts)
        .expect("readings stored");
    let raised = journal::query(
        &db,
        &JournalFilter {
            sensor: Some("dev.v".into()),
            ..Default::default()
        },
    )
    .unwrap()
    .into_iter()
    .find(|r| r.condition == "stale" && r.event == "raised")
    .expect("stale raise journaled");
    let after = raised.ts - last;
    assert!(
        after > STALE_MS,
        "raised {after} ms after the last reading: not before stale"
    );
}
