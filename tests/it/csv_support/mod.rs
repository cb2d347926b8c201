//! Helpers for the `floorwatch import` tests: running the real binary on a
//! history file and asking that file, through SQLite, what it holds.
#![allow(dead_code)]

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn floorwatch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"))
}

/// `floorwatch import --db DB ARGS...`, with no config file of the user's.
pub fn import(db: &Path, args: &[&str]) -> Output {
    Command::new(floorwatch_bin())
        .arg("import")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("FLOORWATCH_CONFIG")
        .env("FLOORWATCH_CONFIG_DIR", db.parent().unwrap())
        .output()
        .expect("running floorwatch import")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one integer `sql` selects from the history `db`.
pub fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

pub fn value_at(db: &Path, sensor: &str, ts: i64) -> Option<f64> {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT value FROM readings JOIN sensors USING(sensor_id) WHERE tag = ?1 AND ts = ?2",
            rusqlite::params![sensor, ts],
            |r| r.get(0),
        )
        .ok()
}

/// `file:LINE:COL` of the first occurrence of `needle` in `text`.
pub fn position_of(file: &Path, text: &str, needle: &str) -> String {
    let offset = text.find(needle).expect("needle in text");
    let line = text[..offset].matches('\n').count() + 1;
    let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{}:{line}:{col}", file.display())
}

pub fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}
