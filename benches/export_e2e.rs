//! End-to-end export benchmark: the release `floorwatch export readings` on a
//! history file of N million readings, against `sqlite3 -csv` selecting the
//! same rows from the same file, in the same run. Reports wall time (median
//! of 3), rows/s and each process's peak RSS (from wait4), for 1M and 5M rows
//! so flat memory shows.
//!
//! cargo bench --bench export_e2e            (history files cached in target/bench-data)
//! EXPORT_BENCH_ROWS=5000000 cargo bench --bench export_e2e   (one size only)

use floorwatch::model::{Reading, SensorId, SensorMeta};
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{WriteMsg, Writer};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SENSORS: usize = 20;

fn main() {
    // `export_e2e --generate FILE ROWS`: the history is written by a child
    // process, so this process stays small (a spawned child's peak RSS
    // starts from its parent's).
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--generate") {
        generate(Path::new(&args[2]), args[3].parse().expect("row count"));
        return;
    }
    let sizes: Vec<usize> = match std::env::var("EXPORT_BENCH_ROWS") {
        Ok(n) => vec![n.parse().expect("EXPORT_BENCH_ROWS is a number")],
        Err(_) => vec![1_000_000, 5_000_000],
    };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"));
    let has_sqlite3 = Command::new("sqlite3").arg("--version").output().is_ok();
    // Peak RSS of floorwatch's exports per size: must stay flat.
    let mut floorwatch_rss: Vec<(usize, u64)> = Vec::new();
    println!("| rows | command | median wall | rows/s | peak RSS | output |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: |");
    for rows in sizes {
        let db = data.join(format!("export-{rows}.sqlite"));
        if !db.exists() {
            let status = Command::new(&args[0])
                .arg("--generate")
                .arg(&db)
                .arg(rows.to_string())
                .status()
                .expect("running the generator");
            assert!(status.success(), "generating {} failed", db.display());
        }
        let out = data.join("export-out.csv");
        let db_s = db.to_str().unwrap();
        let out_s = out.to_str().unwrap();
        let fw = |extra: &[&str]| {
            let mut args = vec!["export", "readings", "--db", db_s, "-o", out_s];
            args.extend_from_slice(extra);
            (
                bin.to_str().unwrap().to_owned(),
                args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        let mut runs: Vec<(String, (String, Vec<String>))> = vec![
            (
                "floorwatch export readings --epoch".into(),
                fw(&["--epoch"]),
            ),
            (
                "floorwatch export readings (ISO 8601, --tz Europe/Paris)".into(),
                fw(&["--tz", "Europe/Paris"]),
            ),
            (
                "floorwatch export readings --wide --epoch".into(),
                fw(&["--wide", "--epoch"]),
            ),
        ];
        if has_sqlite3 {
            let sql = "SELECT s.tag, r.ts, r.value, r.quality FROM readings r JOIN sensors s USING (sensor_id);";
            runs.push((
                "sqlite3 -csv (same rows, storage order)".into(),
                (
                    "sqlite3".into(),
                    vec!["-csv".into(), db_s.into(), sql.into()],
                ),
            ));
            runs.push((
                "sqlite3 -csv wide pivot (one column per sensor, time order)".into(),
                (
                    "sqlite3".into(),
                    vec!["-csv".into(), db_s.into(), wide_pivot_sql()],
                ),
            ));
        } else {
            println!("(sqlite3 not installed: no baseline)");
        }
        for (label, (program, args)) in runs {
            let mut samples: Vec<(Duration, u64, u64)> =
                (0..3).map(|_| run(&program, &args, &out)).collect();
            samples.sort();
            let (wall, rss_kb, bytes) = samples[1];
            if program != "sqlite3" {
                floorwatch_rss.push((rows, rss_kb));
            }
            println!(
                "| {rows} | {label} | {:.2} s | {:.2} M | {:.1} MB | {:.0} MB |",
                wall.as_secs_f64(),
                rows as f64 / wall.as_secs_f64() / 1e6,
                rss_kb as f64 / 1024.0,
                bytes as f64 / 1e6
            );
        }
        let _ = std::fs::remove_file(&out);
    }
    assert_flat(&floorwatch_rss);
}

/// The baseline for `--wide`: the plain-SQL pivot (a row per timestamp, a
/// column per sensor), in time order as `--wide` writes it.
fn wide_pivot_sql() -> String {
    let columns: Vec<String> = (1..=SENSORS)
        .map(|id| format!("MAX(CASE WHEN sensor_id = {id} THEN value END)"))
        .collect();
    format!(
        "SELECT ts, {} FROM readings GROUP BY ts ORDER BY ts;",
        columns.join(", ")
    )
}

/// The largest export may use at most 1.5× (+ 4 MiB) the smallest one's peak RSS.
fn assert_flat(rss: &[(usize, u64)]) {
    let smallest = rss.iter().map(|r| r.0).min().unwrap_or(0);
    let base = rss
        .iter()
        .filter(|r| r.0 == smallest)
        .map(|r| r.1)
        .max()
        .unwrap_or(0);
    for (rows, kb) in rss {
        assert!(
            *kb <= base * 3 / 2 + 4096,
            "peak RSS grew with size: {kb} KiB at {rows} rows vs {base} KiB at {smallest}"
        );
    }
    println!(
        "peak RSS flat: at most {} KiB",
        rss.iter().map(|r| r.1).max().unwrap_or(0)
    );
}

/// Runs one command with stdout into `out`; returns wall time, peak RSS (KiB), output size.
#[allow(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its rusage"
)]
fn run(program: &str, args: &[String], out: &Path) -> (Duration, u64, u64) {
    let file = std::fs::File::create(out).unwrap();
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::from(file))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (status, rss_kb) = wait_with_rusage(child.id());
    let wall = start.elapsed();
    assert!(status.success(), "{program} {args:?} failed: {status}");
    (wall, rss_kb, std::fs::metadata(out).unwrap().len())
}

fn wait_with_rusage(pid: u32) -> (std::process::ExitStatus, u64) {
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; both out-pointers are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid as i32, "wait4 failed");
    (
        std::process::ExitStatus::from_raw(status),
        usage.ru_maxrss as u64,
    )
}

/// `rows` readings over `SENSORS` sensors, 1 s apart, values with a few decimals.
fn generate(db: &Path, rows: usize) {
    eprintln!("generating {} ({rows} readings)...", db.display());
    let (writer, handle) = Writer::spawn(db, WriterConfig::default()).unwrap();
    for s in 0..SENSORS {
        handle
            .blocking_send(WriteMsg::Sensor(SensorMeta {
                id: SensorId::new(format!("line{}.sensor{s}", s % 4)),
                name: format!("sensor {s}"),
                unit: ["°C", "mm/s", "kW", "kWh"][s % 4].into(),
                group: String::new(),
                range: None,
            }))
            .unwrap();
    }
    let per_sensor = rows / SENSORS;
    let t0 = 1_780_000_000_000i64;
    let chunk = 50_000;
    for s in 0..SENSORS {
        let id = SensorId::new(format!("line{}.sensor{s}", s % 4));
        let mut i = 0;
        while i < per_sensor {
            let batch: Vec<Reading> = (i..(i + chunk).min(per_sensor))
                .map(|k| Reading {
                    sensor: id.clone(),
                    ts: t0 + k as i64 * 1000,
                    value: ((k * 37 + s * 11) % 10_000) as f64 * 0.01 - 20.0,
                    quality: Default::default(),
                })
                .collect();
            handle.blocking_send(WriteMsg::Readings(batch)).unwrap();
            i += chunk;
        }
    }
    handle.blocking_flush().unwrap();
    drop(handle);
    writer.join().unwrap();
}
