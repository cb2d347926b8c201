//! Billing benchmarks.
//!
//! 1. criterion: one meter's consumption for a month from raw history (2,977
//!    15-minute readings through time-of-use bands and 15-minute demand),
//!    against a raw rusqlite scan of the same rows (baseline, same run).
//! 2. end to end: the release `floorwatch invoice --all` on a history file of
//!    1,000 meters × a month of 15-minute readings (≈ 3 million rows), median of
//!    3 wall times and peak RSS (`/usr/bin/time`), for 100 and 1,000 customers so flat
//!    memory shows; baseline `sqlite3` computing every meter's max − min over
//!    the same rows.
//!
//! cargo bench --bench billing -- --warm-up-time 1 --measurement-time 3
//! (the history file is cached in target/bench-data/billing-1000.sqlite)

#[path = "support/billing_plant.rs"]
mod billing_plant;
#[path = "support/timed.rs"]
mod timed;

use billing_plant::{FROM_MS, METERS, READINGS_PER_METER, STEP_MS, config_text, generate};
use criterion::Criterion;
use floorwatch::billing::consumption::{MeterSpec, read_consumption};
use floorwatch::billing::usage::UsageAccumulator;
use floorwatch::billing::{Billing, Period};
use floorwatch::config::Config;
use floorwatch::store::HistoryReader;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("billing-1000.sqlite");
    if !db.exists() {
        generate(db.clone().into());
    }
    let configs: Vec<(usize, PathBuf)> = [100, METERS]
        .into_iter()
        .map(|n| {
            let path = data.join(format!("billing-{n}.toml"));
            std::fs::write(&path, config_text(n)).unwrap();
            (n, path)
        })
        .collect();
    one_meter(&db, &configs[1].1);
    end_to_end(&db, &configs, &data);
}

fn one_meter(db: &Path, config_path: &Path) {
    let config = Config::load(config_path).unwrap();
    let billing = Billing::new(&config);
    let customer = billing.customer("c0500").unwrap();
    let meters = billing.meters_of(customer);
    let meter = &meters[0];
    let period = Period::parse_month(config.timezone(), "2026-10", 1).unwrap();
    let reader = HistoryReader::open(db).unwrap();
    let spec: &MeterSpec = &meter.spec;
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    c.bench_function(
        "billing/one meter consumption (2,977 rows, TOU + demand)",
        |b| {
            b.iter(|| {
                let mut usage = UsageAccumulator::new(meter.book);
                let readout = read_consumption(&reader, spec, &period, &mut usage).unwrap();
                let (priced, _) = usage.finish(&period);
                (readout.kwh, meter.book.price(&priced).total)
            })
        },
    );
    c.bench_function("billing/baseline: rusqlite scan of the same rows", |b| {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
                 WHERE s.tag = ?1 AND r.ts >= ?2 AND r.ts <= ?3 ORDER BY r.ts",
            )
            .unwrap();
        b.iter(|| {
            let mut rows = stmt.query((&spec.sensor, period.from, period.to)).unwrap();
            let (mut first, mut last) = (None, 0.0);
            while let Some(row) = rows.next().unwrap() {
                let v: f64 = row.get(1).unwrap();
                first.get_or_insert(v);
                last = v;
            }
            last - first.unwrap_or(0.0)
        })
    });
    c.bench_function(
        "billing/one meter invoice (consumption + alert + pricing)",
        |b| {
            let choice = floorwatch::billing::PeriodChoice::parse_month("2026-10").unwrap();
            b.iter(|| {
                billing
                    .invoice(&reader, customer, None, &choice)
                    .unwrap()
                    .total
            })
        },
    );
    c.final_summary();
}

fn end_to_end(db: &Path, configs: &[(usize, PathBuf)], data: &Path) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"));
    let out_dir = data.join("billing-out");
    println!("\n| meters (= customers) | command | median wall (of 3) | peak RSS |");
    println!("| ---: | --- | ---: | ---: |");
    for (n, config) in configs {
        let args: Vec<String> = ["invoice", "--all", "--period", "2026-10", "--config"]
            .iter()
            .map(|s| s.to_string())
            .chain([config.to_str().unwrap().to_owned()])
            .chain(["--db".into(), db.to_str().unwrap().to_owned()])
            .chain(["-o".into(), out_dir.to_str().unwrap().to_owned()])
            .collect();
        report(
            *n,
            "floorwatch invoice --all (text)",
            bin.to_str().unwrap(),
            &args,
        );
    }
    if Command::new("sqlite3").arg("--version").output().is_ok() {
        let sql = format!(
            "SELECT sensor_id, max(value) - min(value) FROM readings WHERE ts >= {FROM_MS} AND ts <= {} GROUP BY sensor_id;",
            FROM_MS + (READINGS_PER_METER - 1) * STEP_MS
        );
        let args = vec![db.to_str().unwrap().to_owned(), sql];
        report(
            METERS,
            "baseline: sqlite3 max − min per meter",
            "sqlite3",
            &args,
        );
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

fn report(n: usize, label: &str, program: &str, args: &[String]) {
    let mut samples: Vec<(Duration, u64)> = (0..3).map(|_| timed::run(program, args)).collect();
    samples.sort();
    let (wall, rss_kb) = samples[1];
    println!(
        "| {n} | {label} | {:.2} s | {:.1} MB |",
        wall.as_secs_f64(),
        rss_kb as f64 / 1024.0
    );
}
