//! Many writers on one PostgreSQL history at once (issue 15): three
//! recorders' writer threads and three `floorwatch import` processes (one of
//! them `--strict`, all or nothing) write the
//! same readings, in different orders, over months whose partitions none of
//! them has created yet, while a reader queries. Every reading is stored
//! once, no transaction fails (no deadlock, no partition race), every
//! writer's counts add up to what it was given, and the reader is never
//! blocked out.

use crate::common;
use floorwatch::model::Reading;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{HistoryReader, Location, WriteMsg, Writer};
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const SENSORS: usize = 20;
const STEPS: i64 = 1_500;
/// 2025-10-30T00:00Z; hourly steps then cross into four more months.
const START_MS: i64 = 1_761_782_400_000;
const HOUR_MS: i64 = 3_600_000;

fn tag(sensor: usize) -> String {
    format!("conc.s{sensor:02}")
}

fn value(sensor: usize, step: i64) -> f64 {
    sensor as f64 * 1_000.0 + step as f64 / 4.0
}

/// Writer `k`'s readings: sensors rotated by `k`, odd writers backwards in
/// time, in batches of 500.
fn batches_of_writer(k: usize) -> Vec<Vec<Reading>> {
    let mut all = Vec::new();
    for s in 0..SENSORS {
        let sensor = (s + k * 7) % SENSORS;
        let steps: Vec<i64> = match k % 2 {
            0 => (0..STEPS).collect(),
            _ => (0..STEPS).rev().collect(),
        };
        for step in steps {
            all.push(Reading::good(
                tag(sensor),
                START_MS + step * HOUR_MS,
                value(sensor, step),
            ));
        }
    }
    all.chunks(500).map(<[Reading]>::to_vec).collect()
}

fn write_csv(path: &std::path::Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "timestamp,sensor,value").unwrap();
    for sensor in (0..SENSORS).rev() {
        for step in 0..STEPS {
            let ts = chrono::DateTime::from_timestamp_millis(START_MS + step * HOUR_MS).unwrap();
            writeln!(
                out,
                "{},{},{}",
                ts.format("%Y-%m-%dT%H:%M:%SZ"),
                tag(sensor),
                value(sensor, step)
            )
            .unwrap();
        }
    }
}

fn import(url: &str, csv: &std::path::Path, extra: &[&str]) -> std::process::Child {
    Command::new(common::floorwatch_bin())
        .args(["import", "--db", url])
        .args(extra)
        .arg(csv)
        .env_remove("FLOORWATCH_DB")
        .env_remove("FLOORWATCH_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The "N new" of an import summary.
fn new_of(summary: &str) -> u64 {
    let (_, after) = summary.split_once(" readings for ").unwrap();
    let (_, counts) = after.split_once(": ").unwrap();
    counts.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn writers_importers_and_a_reader_at_once_store_every_reading_once() {
    let Some(pg) = common::postgres() else { return };
    let location = pg.location();
    floorwatch::store::migrate(&location).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("same-readings.csv");
    write_csv(&csv);

    let config = WriterConfig {
        batch_rows: 500,
        max_latency: Duration::from_millis(5),
        ..Default::default()
    };
    // One all-or-nothing (`--strict`): writers wait for it instead of deadlocking.
    let importers = [
        import(pg.url(), &csv, &[]),
        import(pg.url(), &csv, &[]),
        import(pg.url(), &csv, &["--strict"]),
    ];
    let writers: Vec<_> = (0..3)
        .map(|k| {
            let location = location.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                let (writer, handle) = Writer::spawn(location, config).unwrap();
                for batch in batches_of_writer(k) {
                    handle.blocking_send(WriteMsg::Readings(batch)).unwrap();
                }
                let stats = handle.blocking_flush().unwrap();
                drop(handle);
                writer.join().unwrap();
                stats
            })
        })
        .collect();
    let stop_reading = Arc::new(AtomicBool::new(false));
    let reads = reader_loop(location.clone(), stop_reading.clone());

    let mut stored = 0;
    for writer in writers {
        let stats = writer.join().unwrap();
        assert_eq!(
            stats.commit_errors, 0,
            "a writer's commit failed: {stats:?}"
        );
        assert_eq!(stats.rows_committed, SENSORS as u64 * STEPS as u64);
        assert_eq!(stats.superseded, 0, "{stats:?}");
        assert_eq!(stats.stored + stats.duplicates, stats.rows_committed);
        stored += stats.stored;
    }
    for importer in importers {
        let out = importer.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "import failed: {stderr}");
        stored += new_of(&String::from_utf8_lossy(&out.stdout));
    }
    stop_reading.store(true, Ordering::Relaxed);
    let total = SENSORS as u64 * STEPS as u64;
    // Each counted what it found; two writing one reading at the same moment
    // may both have found it missing (it is stored once all the same).
    assert!(stored >= total, "{stored} new rows over all writers");
    let reader = HistoryReader::open(&location).unwrap();
    assert_eq!(reader.total_readings().unwrap(), total);
    assert!(reads.join().unwrap() > 0, "the reader never got an answer");
}

/// Counts readings until `stop` is set; how many queries answered.
fn reader_loop(location: Location, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let reader = HistoryReader::open(&location).unwrap();
        let mut answers = 0;
        while !stop.load(Ordering::Relaxed) {
            reader.total_readings().unwrap();
            answers += 1;
        }
        answers
    })
}
