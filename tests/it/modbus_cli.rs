//! `floorwatch simulate modbus` and the headless recorder polling it, through
//! the real binaries over loopback TCP; and the demo's Modbus sensors.

use crate::common;
use common::process::Process;

use std::path::Path;
use std::process::Command;

fn value_of(db: &Path, sensor: &str) -> (i64, f64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*), max(r.value) FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id \
         WHERE s.tag = ?1 AND r.quality = 0",
        [sensor],
        |r| Ok((r.get(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN))),
    )
    .unwrap()
}

#[test]
fn the_recorder_polls_the_simulator_and_stores_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let simulator = Process::start(&[
        "simulate",
        "modbus",
        "--listen",
        "127.0.0.1:0",
        "--period",
        "100ms",
    ]);
    let line = simulator.line_with("listening on");
    let addr = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();

    let printed = Command::new(common::floorwatch_bin())
        .args(["simulate", "modbus", "--print-config", "--listen", &addr])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let config = format!(
        "[ui]\nstatus_every = \"100ms\"\n{}",
        String::from_utf8(printed.stdout)
            .unwrap()
            .replace("poll = \"1s\"", "poll = \"100ms\"")
    );
    let config_path = dir.path().join("sim.toml");
    std::fs::write(&config_path, config).unwrap();
    let db = dir.path().join("history.sqlite");
    let recorder = Process::start(&[
        "run",
        "--headless",
        "--config",
        config_path.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    recorder.line_with("sources=2/2 up");
    // 72 fields per cycle: wait for a few cycles' worth to be stored.
    loop {
        let line = recorder.line_with("stored=");
        let stored: u64 = line
            .split("stored=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        if stored >= 72 * 3 {
            break;
        }
    }
    assert!(recorder.terminate().success());

    let (n, kwh) = value_of(&db, "meter.kwh");
    assert!(n >= 3, "{n} kWh readings");
    assert!((12_000.0..13_000.0).contains(&kwh), "kWh {kwh}");
    let (_, volts) = value_of(&db, "meter.v_l1");
    assert!((220.0..240.0).contains(&volts), "V {volts}");
    let (_, running) = value_of(&db, "plc.running");
    assert_eq!(running, 1.0);

    simulator.signal_term();
    let summary = simulator.line_with("simulator stopped");
    // `function codes: {1: n, 2: n, 3: n, 4: n}` — reads only.
    let codes = summary
        .split("function codes: {")
        .nth(1)
        .unwrap()
        .trim_end_matches("})");
    for pair in codes.split(", ") {
        let code: u8 = pair.split(':').next().unwrap().trim().parse().unwrap();
        assert!((1..=4).contains(&code), "function code {code} in {summary}");
    }
}

#[test]
fn simulate_rejects_a_bad_exception_rule_with_exit_2() {
    let out = Command::new(common::floorwatch_bin())
        .args(["simulate", "modbus", "--exception", "input:10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TABLE:FROM[-TO]=CODE"), "{stderr}");
}

#[test]
fn the_demo_reads_its_meter_and_plc_through_modbus() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.sqlite");
    let demo = Process::start(&["demo", "--headless", "--db", db.to_str().unwrap()]);
    demo.line_with("Modbus link connected");
    // Status lines come every 2 s in the demo; two after connecting carry polled values.
    demo.line_with("stored=");
    demo.line_with("stored=");
    assert!(demo.terminate().success());
    let (n, power) = value_of(&db, "main.power");
    assert!(
        n >= 1 && (10.0..60.0).contains(&power),
        "{n} readings, {power} kW"
    );
    let (n, temp) = value_of(&db, "oven.zone1");
    assert!(
        n >= 1 && (20.0..50.0).contains(&temp),
        "{n} readings, {temp} °C"
    );
    let (n, _) = value_of(&db, "main-meter.v_l1");
    assert!(n >= 1, "template sensors are polled too");
}
