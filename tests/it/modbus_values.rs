//! Issue 16 on Modbus, end to end (simulator over Modbus TCP on loopback →
//! engine → history file): a 4–20 mA transmitter read as µA with
//! `raw_valid` stores a broken loop as bad and raises `bad`; template-level
//! alarm limits, unit, group and range reach every device's sensor, and a
//! `[[sensor]]` bound to a template field inherits them.

use crate::modbus_support;
use crate::mqtt_support::{parse_config, wait_rows, wait_state};

use floorwatch::app::Running;
use floorwatch::config::Table;
use floorwatch::model::Quality;
use modbus_support::frozen_simulator;

const CONFIG: &str = r#"
[[modbus_template]]
name = "transmitter"
field = [
  { key = "pressure", name = "Pressure", unit = "bar", address = 0, type = "u16", scale = 0.000625, offset = -2.5, raw_valid = [3800, 20500], group = "tanks", range = [0, 10], alarm = { h = 8 } },
]

[[modbus]]
name = "tx1"
url = "tcp://ADDR"
unit = 9
poll = "100ms"
template = "transmitter"

[[modbus]]
name = "tx2"
url = "tcp://ADDR"
unit = 10
poll = "100ms"
template = "transmitter"

[[sensor]]
id = "tank2.pressure"
modbus = { device = "tx2", field = "pressure" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_loop_is_bad_and_template_limits_reach_bound_sensors() {
    let (sim, server) = frozen_simulator().await;
    // tx1: 0 µA, a broken wire (would be −2.5 bar); tx2: 19000 µA = 9.375 bar.
    sim.set_registers(9, Table::Holding, 0, &[0]);
    sim.set_registers(10, Table::Holding, 0, &[19_000]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&CONFIG.replace("ADDR", &server.addr.to_string()));
    let running = Running::start(&config, &db).await.unwrap();
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "the bad and h alarms", |s| {
        let keys: Vec<&str> = s.alarms.iter().map(|a| a.key.as_str()).collect();
        keys.contains(&"tx1.pressure/bad") && keys.contains(&"tank2.pressure/h")
    })
    .await;
    let tx1 = state.sensor("tx1.pressure").unwrap();
    assert_eq!(tx1.quality, Quality::Bad);
    assert_eq!(tx1.last.unwrap().value, -2.5);
    let bound = &state.sensor("tank2.pressure").unwrap().meta;
    assert_eq!(
        (
            bound.name.as_str(),
            bound.unit.as_str(),
            bound.group.as_str(),
            bound.range
        ),
        ("tx2 Pressure", "bar", "tanks", Some((0.0, 10.0)))
    );
    assert!(
        state.sensor("tx2.pressure").is_none(),
        "the bound field makes no second sensor"
    );
    wait_rows(&running, &db, 2).await;
    running.shutdown().await.unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let first = |tag: &str| -> (f64, i64) {
        conn.query_row(
            "SELECT r.value, r.quality FROM readings r JOIN sensors s USING (sensor_id)
             WHERE s.tag = ?1 ORDER BY r.ts LIMIT 1",
            [tag],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(first("tx1.pressure"), (-2.5, Quality::Bad.code()));
    let (value, quality) = first("tank2.pressure");
    assert!(
        (value - 9.375).abs() < 1e-9 && quality == Quality::Good.code(),
        "{value}"
    );
}
