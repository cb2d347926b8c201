//! Store ingest: readings/s into a history file through the writer thread,
//! against baselines measured in the same run on the same rows and schema:
//! raw rusqlite fed what the writer commits (the same 50,000-row batches,
//! each sorted by (sensor, ts), one transaction each, the same
//! `INSERT … ON CONFLICT DO NOTHING`, `synchronous = FULL`), raw rusqlite the
//! simplest way (one transaction, arrival order), and the `sqlite3` CLI
//! (`.import` of the same rows as CSV: one transaction, prepared).
//!
//!     cargo bench --bench store_ingest

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use floorwatch::model::Reading;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{WriteMsg, Writer};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const SENSORS: usize = 100;
const PER_SENSOR: usize = 2_000;
const ROWS: usize = SENSORS * PER_SENSOR;
const BATCH: usize = 1_000;

/// Rows in arrival order: every sensor once per second.
fn rows() -> Vec<Reading> {
    let mut out = Vec::with_capacity(ROWS);
    for t in 0..PER_SENSOR {
        for s in 0..SENSORS {
            let ts = 1_700_000_000_000 + t as i64 * 1_000;
            out.push(Reading::good(
                format!("sensor-{s:03}"),
                ts,
                (s * t) as f64 * 0.01,
            ));
        }
    }
    out
}

fn through_writer(path: &Path, rows: &[Reading]) {
    let (writer, handle) = Writer::spawn(path, WriterConfig::default()).unwrap();
    for chunk in rows.chunks(BATCH) {
        handle
            .blocking_send(WriteMsg::Readings(chunk.to_vec()))
            .unwrap();
    }
    handle.blocking_flush().unwrap();
    drop(handle);
    writer.join().unwrap();
}

/// The raw baseline: the same schema (created by floorwatch), sensors
/// pre-registered, one transaction, one prepared statement.
fn raw_rusqlite(path: &Path, rows: &[Reading]) {
    let mut conn = floorwatch::store::sqlite::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut sensor = tx
            .prepare("INSERT INTO sensors(tag, created_ms) VALUES (?1, 0)")
            .unwrap();
        for s in 0..SENSORS {
            sensor.execute([format!("sensor-{s:03}")]).unwrap();
        }
        let mut insert = tx
            .prepare("INSERT INTO readings(sensor_id, ts, value, quality) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for (i, r) in rows.iter().enumerate() {
            let sensor_id = (i % SENSORS) as i64 + 1;
            insert
                .execute(rusqlite::params![sensor_id, r.ts, r.value, 0])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// The like-for-like baseline: what the writer's commits do, without its
/// channel, thread, sensor-id lookup and stored/duplicate counting.
fn raw_rusqlite_writer_batches(path: &Path, rows: &[Reading]) {
    let mut conn = floorwatch::store::sqlite::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    // One transaction, as the writer registers new sensors inside its batch
    // (100 autocommits would be 100 fsyncs).
    let tx = conn.transaction().unwrap();
    for s in 0..SENSORS {
        tx.execute(
            "INSERT INTO sensors(tag, created_ms) VALUES (?1, 0)",
            [format!("sensor-{s:03}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let batch_rows = WriterConfig::default().batch_rows;
    for (n, chunk) in rows.chunks(batch_rows).enumerate() {
        let first = n * batch_rows;
        let mut keyed: Vec<(i64, i64, f64)> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| (((first + i) % SENSORS) as i64 + 1, r.ts, r.value))
            .collect();
        keyed.sort_by_key(|&(id, ts, _)| (id, ts));
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO readings(sensor_id, ts, value, quality) VALUES (?1, ?2, ?3, 0)
                     ON CONFLICT(sensor_id, ts) DO NOTHING",
                )
                .unwrap();
            for (id, ts, value) in keyed {
                insert.execute(rusqlite::params![id, ts, value]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

fn sqlite3_available() -> bool {
    std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench(c: &mut Criterion) {
    let data = rows();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        for (i, r) in data.iter().enumerate() {
            writeln!(f, "{},{},{},0", (i % SENSORS) + 1, r.ts, r.value).unwrap();
        }
    }
    let mut group = c.benchmark_group("store_ingest");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        dir.path().join(format!("h{n}.sqlite"))
    };
    group.bench_function(BenchmarkId::new("writer_thread", ROWS), |b| {
        b.iter_custom(|iters| timed(iters, &mut fresh, |p| through_writer(p, &data)))
    });
    group.bench_function(BenchmarkId::new("raw_rusqlite_writer_batches", ROWS), |b| {
        b.iter_custom(|iters| timed(iters, &mut fresh, |p| raw_rusqlite_writer_batches(p, &data)))
    });
    group.bench_function(BenchmarkId::new("raw_rusqlite_prepared", ROWS), |b| {
        b.iter_custom(|iters| timed(iters, &mut fresh, |p| raw_rusqlite(p, &data)))
    });
    if sqlite3_available() {
        group.bench_function(BenchmarkId::new("sqlite3_cli_import", ROWS), |b| {
            b.iter_custom(|iters| {
                timed(iters, &mut fresh, |p| {
                    // Same schema; sensors registered; then one .import transaction.
                    let mut conn = floorwatch::store::sqlite::open(p).unwrap();
                    let tx = conn.transaction().unwrap();
                    for s in 0..SENSORS {
                        tx.execute(
                            "INSERT INTO sensors(tag, created_ms) VALUES (?1, 0)",
                            [format!("sensor-{s:03}")],
                        )
                        .unwrap();
                    }
                    tx.commit().unwrap();
                    drop(conn);
                    let status = std::process::Command::new("sqlite3")
                        .arg(p)
                        .arg(".mode csv")
                        .arg(format!(".import {} readings", csv.display()))
                        .status()
                        .unwrap();
                    assert!(status.success());
                })
            })
        });
    } else {
        eprintln!("sqlite3 CLI not found: its baseline is skipped");
    }
    group.finish();
}

/// Runs `f` on a fresh file per iteration and sums only the time inside `f`.
fn timed(
    iters: u64,
    fresh: &mut impl FnMut() -> std::path::PathBuf,
    f: impl Fn(&Path),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let path = fresh();
        let start = Instant::now();
        f(&path);
        total += start.elapsed();
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("sqlite-wal"));
        let _ = std::fs::remove_file(path.with_extension("sqlite-shm"));
    }
    total
}

criterion_group!(benches, bench);
criterion_main!(benches);
