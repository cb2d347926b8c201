//! Helpers for the export tests: history files written through the real store
//! writer, and running `floorwatch export`.
#![allow(dead_code)]

use floorwatch::model::{Reading, SensorId, SensorMeta};
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{AlarmEventRow, WriteMsg, Writer};
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn floorwatch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"))
}

pub fn meta(id: &str, unit: &str) -> SensorMeta {
    SensorMeta {
        id: SensorId::new(id),
        name: id.to_owned(),
        unit: unit.to_owned(),
        group: String::new(),
        range: None,
    }
}

/// Writes sensors, readings and alarm rows into a new history file.
pub fn write_history(
    path: impl Into<floorwatch::store::Location>,
    sensors: Vec<SensorMeta>,
    readings: Vec<Reading>,
    alarms: Vec<AlarmEventRow>,
) {
    let (writer, handle) = Writer::spawn(path, WriterConfig::default()).unwrap();
    for s in sensors {
        handle.blocking_send(WriteMsg::Sensor(s)).unwrap();
    }
    for chunk in readings.chunks(50_000) {
        handle
            .blocking_send(WriteMsg::Readings(chunk.to_vec()))
            .unwrap();
    }
    for a in alarms {
        handle.blocking_send(WriteMsg::Alarm(a)).unwrap();
    }
    handle.blocking_flush().unwrap();
    drop(handle);
    writer.join().unwrap();
}

/// Runs `floorwatch export <args>` with no config from the environment.
pub fn export(args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    Command::new(floorwatch_bin())
        .arg("export")
        .args(args)
        .env_remove("FLOORWATCH_CONFIG")
        .env_remove("FLOORWATCH_DB")
        .env("FLOORWATCH_CONFIG_DIR", empty.path())
        .env("FLOORWATCH_DATA_DIR", empty.path())
        .output()
        .unwrap()
}

/// Runs an export that must succeed; returns stdout.
pub fn export_ok(args: &[&str]) -> String {
    let out = export(args);
    assert!(
        out.status.success(),
        "floorwatch export {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Parses CSV text into header + records (comma-separated).
pub fn parse_csv(text: &str, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

pub fn rfc3339_in(tz: chrono_tz::Tz, ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .unwrap()
        .with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}
