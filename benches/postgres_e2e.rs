//! End-to-end PostgreSQL history benchmarks (issue 15), each against a
//! baseline in the same run, on the machine's PostgreSQL (skipped with a
//! reason when it does not answer); each case in a schema of its own.
//!
//! 1. Ingest: 1 M readings (20 sensors) from one CSV. `floorwatch import
//!    --db postgres://…` (binary COPY → staging → upsert) against `psql
//!    \copy` of the same file into a table keyed the same way
//!    (PRIMARY KEY (sensor, ts)); and the writer thread (what `run` uses)
//!    fed the same readings in memory.
//! 2. Export: `floorwatch export readings --epoch` of those 1 M rows against
//!    `psql \copy (SELECT … ORDER BY ts, tag) TO STDOUT CSV`.
//! 3. Billing: `floorwatch invoice --all` for 1,000 meters × a month of
//!    15-minute readings (≈ 3 M rows) from PostgreSQL against the same from
//!    a SQLite file.
//!
//! Median of 3 wall times, peak RSS from /usr/bin/time.
//!
//! cargo bench --bench postgres_e2e

#[path = "support/billing_plant.rs"]
mod billing_plant;
#[path = "support/timed.rs"]
mod timed;

use floorwatch::model::Reading;
use floorwatch::store::postgres::scratch::Scratch;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{WriteMsg, Writer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SENSORS: usize = 20;
const ROWS: usize = 1_000_000;
/// 2026-01-01T00:00Z; one reading per sensor every 10 s.
const START_MS: i64 = 1_767_225_600_000;
const STEP_MS: i64 = 10_000;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data).unwrap();
    if let Err(e) = Scratch::create() {
        println!("skipped: PostgreSQL does not answer: {e}");
        return;
    }
    let csv = data.join("pg-ingest-1m.csv");
    if !csv.exists() {
        write_csv(&csv);
    }
    println!("| case | command | median wall (of 3) | rows/s | peak RSS |");
    println!("| --- | --- | ---: | ---: | ---: |");
    ingest(&csv);
    export(&csv);
    billing(&data);
}

fn reading(i: usize) -> (String, i64, f64) {
    let sensor = i % SENSORS;
    let step = (i / SENSORS) as i64;
    let value = (sensor * 100) as f64 + (step % 1000) as f64 / 8.0;
    (
        format!("line{sensor:02}.value"),
        START_MS + step * STEP_MS,
        value,
    )
}

fn write_csv(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "timestamp,sensor,value").unwrap();
    for i in 0..ROWS {
        let (sensor, ts, value) = reading(i);
        let ts = chrono::DateTime::from_timestamp_millis(ts).unwrap();
        writeln!(out, "{},{sensor},{value}", ts.format("%Y-%m-%dT%H:%M:%SZ")).unwrap();
    }
}

fn floorwatch() -> String {
    env!("CARGO_BIN_EXE_floorwatch").to_owned()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs `make_run` three times, each on a fresh schema prepared by
/// `prepare`; the median and its peak RSS.
fn median_of_3(
    prepare: impl Fn(&Scratch),
    make_run: impl Fn(&Scratch) -> (String, Vec<String>),
) -> (Duration, u64) {
    let mut samples: Vec<(Duration, u64)> = (0..3)
        .map(|_| {
            let scratch = Scratch::create().unwrap();
            prepare(&scratch);
            let (program, args) = make_run(&scratch);
            timed::run(&program, &args)
        })
        .collect();
    samples.sort();
    samples[1]
}

fn row(case: &str, label: &str, (wall, rss_kb): (Duration, u64), rows: usize) {
    println!(
        "| {case} | {label} | {:.2} s | {:.0} | {:.1} MB |",
        wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64(),
        rss_kb as f64 / 1024.0
    );
}

fn psql(url: &str, command: &str) -> (String, Vec<String>) {
    ("psql".into(), args(&["-q", "-X", url, "-c", command]))
}

fn ingest(csv: &Path) {
    let csv_arg = csv.to_str().unwrap().to_owned();
    let ours = median_of_3(
        |s| {
            floorwatch::store::migrate(&s.location()).unwrap();
        },
        |s| {
            let mut a = args(&["import", "--db", s.url()]);
            a.push(csv_arg.clone());
            (floorwatch(), a)
        },
    );
    row(
        "ingest 1 M",
        "`floorwatch import --db postgres://…`",
        ours,
        ROWS,
    );
    let baseline = median_of_3(
        |s| {
            let (p, a) = psql(
                s.url(),
                "CREATE TABLE base (ts timestamptz NOT NULL, sensor text NOT NULL, \
                 value double precision NOT NULL, PRIMARY KEY (sensor, ts))",
            );
            assert!(Command::new(p).args(a).status().unwrap().success());
        },
        |s| psql(s.url(), &format!("\\copy base FROM '{csv_arg}' CSV HEADER")),
    );
    row(
        "ingest 1 M",
        "baseline: `psql \\copy` into (sensor, ts) keyed table",
        baseline,
        ROWS,
    );
    println!(
        "| ingest 1 M | ratio (baseline time / floorwatch time) | {:.2}× | | |",
        baseline.0.as_secs_f64() / ours.0.as_secs_f64()
    );
    writer_ingest();
}

/// The writer thread on its own: what `run --headless` does after decoding.
fn writer_ingest() {
    let mut samples: Vec<Duration> = (0..3)
        .map(|_| {
            let scratch = Scratch::create().unwrap();
            let location = scratch.location();
            floorwatch::store::migrate(&location).unwrap();
            let batches: Vec<Vec<Reading>> = (0..ROWS)
                .collect::<Vec<_>>()
                .chunks(5_000)
                .map(|c| {
                    c.iter()
                        .map(|&i| {
                            let (sensor, ts, value) = reading(i);
                            Reading::good(sensor, ts, value)
                        })
                        .collect()
                })
                .collect();
            let start = Instant::now();
            let (writer, handle) = Writer::spawn(location, WriterConfig::default()).unwrap();
            for batch in batches {
                handle.blocking_send(WriteMsg::Readings(batch)).unwrap();
            }
            let stats = handle.blocking_flush().unwrap();
            drop(handle);
            writer.join().unwrap();
            assert_eq!(stats.stored, ROWS as u64);
            start.elapsed()
        })
        .collect();
    samples.sort();
    row(
        "ingest 1 M",
        "floorwatch writer thread (in process, commits of ≤ 50,000)",
        (samples[1], 0),
        ROWS,
    );
}

fn export(csv: &Path) {
    let scratch = Scratch::create().unwrap();
    let status = Command::new(floorwatch())
        .args(["import", "--db", scratch.url()])
        .arg(csv)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let url = scratch.url().to_owned();
    let ours = timed_median(|| {
        (
            floorwatch(),
            args(&["export", "readings", "--epoch", "--db", &url]),
        )
    });
    row(
        "export 1 M",
        "`floorwatch export readings --epoch`",
        ours,
        ROWS,
    );
    let baseline = timed_median(|| {
        psql(
            &url,
            "\\copy (SELECT s.tag, r.ts, r.value, r.quality FROM readings r \
             JOIN sensors s USING (sensor_id) ORDER BY r.ts, s.tag) TO STDOUT CSV",
        )
    });
    row(
        "export 1 M",
        "baseline: `psql \\copy (SELECT … ORDER BY ts, tag) TO STDOUT CSV`",
        baseline,
        ROWS,
    );
    println!(
        "| export 1 M | ratio (baseline time / floorwatch time) | {:.2}× | | |",
        baseline.0.as_secs_f64() / ours.0.as_secs_f64()
    );
}

fn timed_median(make_run: impl Fn() -> (String, Vec<String>)) -> (Duration, u64) {
    let mut samples: Vec<(Duration, u64)> = (0..3)
        .map(|_| {
            let (program, args) = make_run();
            timed::run(&program, &args)
        })
        .collect();
    samples.sort();
    samples[1]
}

fn billing(data: &Path) {
    let sqlite = data.join("billing-1000.sqlite");
    if !sqlite.exists() {
        billing_plant::generate(sqlite.clone().into());
    }
    let config = data.join("billing-1000.toml");
    std::fs::write(&config, billing_plant::config_text(billing_plant::METERS)).unwrap();
    let scratch = Scratch::create().unwrap();
    billing_plant::generate(scratch.location());
    let out: PathBuf = data.join("billing-out-pg");
    let invoice = |db: &str| {
        let out = out.to_str().unwrap();
        let config = config.to_str().unwrap();
        (
            floorwatch(),
            args(&[
                "invoice", "--all", "--period", "2026-10", "--config", config, "--db", db, "-o",
                out,
            ]),
        )
    };
    let rows = billing_plant::METERS * billing_plant::READINGS_PER_METER as usize;
    let pg = timed_median(|| invoice(scratch.url()));
    row("invoice --all, 1,000 meters", "from PostgreSQL", pg, rows);
    let file = timed_median(|| invoice(sqlite.to_str().unwrap()));
    row(
        "invoice --all, 1,000 meters",
        "from SQLite (baseline)",
        file,
        rows,
    );
    println!(
        "| invoice --all | ratio (PostgreSQL time / SQLite time) | {:.2}× | | |",
        pg.0.as_secs_f64() / file.0.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&out);
}
