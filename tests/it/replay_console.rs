//! A replay started from the console, end to end in a real terminal (tmux):
//! the `r` picker, a file that cannot be replayed, then the detail view and
//! the export key inside the replay read the replay's own store, and back on
//! the live plant they read the live history again.

use crate::common;

use common::tmux::Tmux;
use common::{floorwatch_bin, machine_tool};
use floorwatch::model::{Reading, now_ms};
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{WriteMsg, Writer};
use std::path::{Path, PathBuf};

const CONFIG: &str = r#"
[plant]
name = "Replay test plant"
timezone = "UTC"

[[sensor]]
id = "line1.temp"
name = "Line 1 temperature"
unit = "°C"
alarm = { h = 30 }
"#;

/// The live history: 11 readings of 5.25 over the last 10 minutes, and an
/// old `hh` alarm (raised and cleared) in its journal.
fn live_history(db: &Path) {
    let now = now_ms();
    let (writer, handle) = Writer::spawn(db, WriterConfig::default()).unwrap();
    let readings = (0..11)
        .map(|i| Reading::good("line1.temp", now - 600_000 + i * 60_000, 5.25))
        .collect();
    handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
    drop(handle);
    writer.join().unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO alarm_events(ts, sensor, condition, event, state, value, priority, operator)
         VALUES (?1, 'line1.temp', 'hh', 'raised', 'unack', 6.5, 'critical', ''),
                (?2, 'line1.temp', 'hh', 'cleared', 'normal', 5.25, 'critical', '')",
        [now - 300_000, now - 240_000],
    )
    .unwrap();
}

/// Two minutes of 21.75 … 31.75 °C, every 6 s, on 2 October 2025.
fn replay_file(dir: &Path) -> PathBuf {
    let path = dir.join("replay_day.csv");
    let mut text = String::from("timestamp,sensor,value\n");
    for i in 0..21 {
        text.push_str(&format!(
            "2025-10-02T10:{:02}:{:02}Z,line1.temp,{}\n",
            i * 6 / 60,
            i * 6 % 60,
            21.75 + i as f64 * 0.5
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The values of a `readings-line1.temp-…` export not in `seen`.
fn new_export(dir: &Path, seen: &mut Vec<PathBuf>) -> Vec<f64> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("exports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !seen.contains(p))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files.remove(0);
    assert!(
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("readings-line1.temp-"),
        "{file:?}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    seen.push(file);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,sensor,value,unit,quality"));
    lines
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn detail_and_export_in_a_replay_show_the_replayed_data_not_the_live_history() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let db = dir.path().join("history.sqlite");
    live_history(&db);
    replay_file(dir.path());
    std::fs::write(
        dir.path().join("bad.csv"),
        "timestamp,sensor,value\n2025-10-02T10:00:00Z,line1.temp,23O.1\n",
    )
    .unwrap();
    // Run from the temporary directory: the picker lists only its two files.
    let command = format!(
        "cd {} && {} run --config {} --db {}",
        dir.path().display(),
        floorwatch_bin().display(),
        config.display(),
        db.display()
    );
    let term = Tmux::start(&command, 160, 40, dir.path());
    term.wait_for("Line 1 temperature");

    // A file with no good row: a toast says where and why; the live plant stays.
    term.keys(&["r"]);
    term.wait_for("replay_day.csv");
    term.keys(&["Home", "Enter"]);
    let screen = term.wait_for("has no readings to replay");
    assert!(
        screen.contains("bad.csv:2:33: expected a number in column \"value\", found \"23O.1\""),
        "{screen}"
    );
    assert!(!screen.contains("REPLAY"), "{screen}");

    // The good file plays to its end (two minutes at ×60).
    term.keys(&["r"]);
    term.wait_for("replay_day.csv");
    term.keys(&["End", "Enter"]);
    term.wait("the replay to finish", |s| {
        s.contains("REPLAY") && s.contains("finished")
    });

    // Its detail view: the replayed readings and the replay's own alarm.
    term.keys(&["Enter"]);
    let screen = term.wait("replayed history in the detail view", |s| {
        s.contains("max") && s.contains("31.75 °C") && s.contains("points")
    });
    assert!(screen.contains("21.75 °C"), "min:\n{screen}");
    assert!(screen.contains("10-02 10:01 H raised 30.25"), "{screen}");
    assert!(
        !screen.contains("5.25"),
        "live values in the replay:\n{screen}"
    );
    assert!(
        !screen.contains("HH raised"),
        "live journal in the replay:\n{screen}"
    );

    let mut seen = Vec::new();
    term.keys(&["e"]);
    term.wait_for("exported 21 rows");
    let values = new_export(dir.path(), &mut seen);
    let expected: Vec<f64> = (0..21).map(|i| 21.75 + i as f64 * 0.5).collect();
    assert_eq!(values, expected);

    // Back to the live plant: the same keys read the live history again.
    term.keys(&["Escape"]);
    term.wait_for("Space pause");
    term.keys(&["Escape"]);
    term.wait_gone("REPLAY");
    term.keys(&["Enter"]);
    let screen = term.wait("live history in the detail view", |s| {
        s.contains("max") && s.contains("5.25 °C") && s.contains("HH raised 6.50")
    });
    assert!(!screen.contains("31.75"), "{screen}");
    term.keys(&["e"]);
    term.wait_for("exported 11 rows");
    assert_eq!(new_export(dir.path(), &mut seen), vec![5.25; 11]);

    term.keys(&["q"]);
    term.assert_exited_cleanly();
    let live_rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live_rows, 11, "the replay wrote into the live history");
}
