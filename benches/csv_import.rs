//! CSV import throughput: `floorwatch::csvio::import` (reader + sorted bulk
//! insert) against the `sqlite3` CLI's `.import` of the same file into an
//! equivalent table with the same primary-key index, in the same run.
//!
//!     cargo bench --bench csv_import -- --warm-up-time 1 --measurement-time 3
//!
//! The 5-million-row run with peak RSS is `benches/csv_import_e2e.sh`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use floorwatch::csvio::import::{ImportOptions, import_file};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SENSORS: usize = 50;
const TIMESTAMPS: usize = 4_000;
const ROWS: usize = SENSORS * TIMESTAMPS;

/// A long CSV as loggers write it: every sensor once per second, RFC 3339 UTC.
fn write_long_csv(path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "timestamp,sensor,value").unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap();
    for t in 0..TIMESTAMPS {
        let ts = (start + chrono::Duration::seconds(t as i64)).format("%Y-%m-%dT%H:%M:%SZ");
        for s in 0..SENSORS {
            writeln!(f, "{ts},sensor-{s:03},{:.3}", (t * 7 + s * 13) % 1000).unwrap();
        }
    }
}

fn uci() -> Option<PathBuf> {
    // FLOORWATCH_SHARED_DATA, else shared/data beside the repo or a parent (worktrees).
    let name = "household_power_consumption_2006-12.txt";
    match std::env::var_os("FLOORWATCH_SHARED_DATA") {
        Some(dir) => Some(PathBuf::from(dir).join(name)),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/data").join(name))
            .find(|p| p.exists()),
    }
    .filter(|p| p.exists())
}

fn sqlite3_available() -> bool {
    Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `sqlite3 DB` with `script` on stdin; panics on failure.
fn sqlite3(db: &Path, script: &str) {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        // `PRAGMA journal_mode = WAL` answers "wal" on stdout.
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn timed(iters: u64, fresh: &mut impl FnMut() -> PathBuf, run: impl Fn(&Path)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let db = fresh();
        let started = Instant::now();
        run(&db);
        total += started.elapsed();
        let _ = std::fs::remove_file(&db);
        let _ = std::fs::remove_file(db.with_extension("sqlite-wal"));
        let _ = std::fs::remove_file(db.with_extension("sqlite-shm"));
    }
    total
}

fn floorwatch_import(db: &Path, file: &Path) {
    let store = floorwatch::store::bulk::open(db).unwrap();
    import_file(&store, file, &ImportOptions::default(), &mut |_| {
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.csv");
    write_long_csv(&long);
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        dir.path().join(format!("h{n}.sqlite"))
    };
    let mut group = c.benchmark_group("csv_import_long");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("floorwatch", ROWS), |b| {
        b.iter_custom(|iters| timed(iters, &mut fresh, |db| floorwatch_import(db, &long)))
    });
    if sqlite3_available() {
        let script = format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;\n\
             CREATE TABLE readings(timestamp TEXT NOT NULL, sensor TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (sensor, timestamp)) WITHOUT ROWID;\n\
             .import --csv --skip 1 {} readings\n",
            long.display()
        );
        group.bench_function(BenchmarkId::new("sqlite3_cli_import", ROWS), |b| {
            b.iter_custom(|iters| timed(iters, &mut fresh, |db| sqlite3(db, &script)))
        });
    }
    group.finish();

    let Some(uci) = uci() else {
        eprintln!("skipped: the UCI file is not in shared/data beside the repo or a parent");
        return;
    };
    let rows = std::fs::read_to_string(&uci).unwrap().lines().count() as u64 - 1;
    let mut group = c.benchmark_group("csv_import_uci");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("floorwatch", rows), |b| {
        b.iter_custom(|iters| timed(iters, &mut fresh, |db| floorwatch_import(db, &uci)))
    });
    if sqlite3_available() {
        // The same rows, wide as in the file, keyed by date and time.
        let script = format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;\n\
             CREATE TABLE power(Date TEXT, Time TEXT, Global_active_power REAL, Global_reactive_power REAL, Voltage REAL, Global_intensity REAL, Sub_metering_1 REAL, Sub_metering_2 REAL, Sub_metering_3 REAL, PRIMARY KEY (Date, Time)) WITHOUT ROWID;\n\
             .separator ;\n.import --skip 1 {} power\n",
            uci.display()
        );
        group.bench_function(BenchmarkId::new("sqlite3_cli_import", rows), |b| {
            b.iter_custom(|iters| timed(iters, &mut fresh, |db| sqlite3(db, &script)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
