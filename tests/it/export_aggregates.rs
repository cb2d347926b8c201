//! `floorwatch export aggregates` checked against computations that share no
//! code with it: SQL window functions over the history file, hand-written DST
//! instants, and the raw text of the UCI household power file (imported with
//! `floorwatch import`).

use crate::common;
use crate::export_support;

use export_support::*;
use floorwatch::model::{Quality, Reading};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const HOUR: i64 = 3_600_000;

/// A deterministic irregular history: three sensors, gaps, negative values,
/// bad readings, and a cumulative meter.
fn irregular_history(db: &Path, start: i64, hours: i64) {
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut readings = Vec::new();
    for (tag, scale) in [("a.temp", 1.0), ("b.flow", -0.37), ("c.kwh", 0.0)] {
        let mut ts = start;
        let mut meter = 1_000.0;
        while ts < start + hours * HOUR {
            let value = if tag == "c.kwh" {
                meter += (next() % 1000) as f64 / 100.0;
                meter
            } else {
                (next() % 10_000) as f64 / 7.0 * scale
            };
            let mut r = Reading::good(tag, ts, value);
            if next() % 17 == 0 {
                r.quality = Quality::Bad;
                r.value = 1e9;
            }
            readings.push(r);
            // 1 s to ~20 min apart, with an occasional 3-hour hole.
            ts += if next() % 97 == 0 {
                3 * HOUR
            } else {
                1_000 + (next() % 1_200_000) as i64
            };
        }
    }
    write_history(
        db,
        vec![
            meta("a.temp", "°C"),
            meta("b.flow", "m³/h"),
            meta("c.kwh", "kWh"),
        ],
        readings,
        vec![],
    );
}

type SqlRow = (String, i64, i64, f64, f64, f64, f64, f64, f64);

/// The same aggregates as SQL over the history file, for UTC-aligned buckets.
fn sql_aggregates(db: &Path, len: i64) -> Vec<SqlRow> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "WITH g AS (
               SELECT s.tag, r.ts, r.value, (r.ts / ?1) * ?1 AS b
               FROM readings r JOIN sensors s USING (sensor_id) WHERE r.quality = 0
             ), f AS (
               SELECT tag, b, value,
                 first_value(value) OVER win AS fv, last_value(value) OVER win AS lv
               FROM g WINDOW win AS (PARTITION BY tag, b ORDER BY ts
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
             ), w AS (
               SELECT tag, b, count(*) AS n, min(value) AS mn, max(value) AS mx,
                 avg(value) AS av, max(fv) AS fv, max(lv) AS lv
               FROM f GROUP BY tag, b
             )
             SELECT tag, b, n, mn, mx, av, fv, lv,
               lv - coalesce(lag(lv) OVER (PARTITION BY tag ORDER BY b), fv)
             FROM w ORDER BY tag, b",
        )
        .unwrap();
    stmt.query_map([len], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

fn num(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("not a number: {cell:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn aggregates_match_an_independent_sql_computation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    irregular_history(&db, 1_780_000_000_000, 72);
    for (every, len) in [("15m", 15 * 60_000), ("1h", HOUR), ("6h", 6 * HOUR)] {
        let text = export_ok(&[
            "aggregates",
            "--every",
            every,
            "--epoch",
            "--tz",
            "UTC",
            "--cumulative",
            "c.*",
            "--db",
            db.to_str().unwrap(),
        ]);
        let (header, rows) = parse_csv(&text, b',');
        assert_eq!(
            header,
            [
                "sensor",
                "unit",
                "start_epoch_ms",
                "end_epoch_ms",
                "count",
                "min",
                "max",
                "mean",
                "first",
                "last",
                "delta"
            ]
        );
        let sql = sql_aggregates(&db, len);
        assert!(sql.len() > 30, "enough buckets to mean something");
        assert_eq!(rows.len(), sql.len(), "--every {every}");
        for (row, s) in rows.iter().zip(&sql) {
            let ctx = format!("--every {every}: {row:?} vs {s:?}");
            assert_eq!(row[0], s.0, "{ctx}");
            assert_eq!(num(&row[2]) as i64, s.1, "{ctx}");
            assert_eq!(num(&row[3]) as i64, s.1 + len, "{ctx}");
            assert_eq!(num(&row[4]) as i64, s.2, "{ctx}");
            assert_eq!((num(&row[5]), num(&row[6])), (s.3, s.4), "{ctx}");
            assert!(close(num(&row[7]), s.5), "mean {ctx}");
            assert_eq!((num(&row[8]), num(&row[9])), (s.6, s.7), "{ctx}");
            if row[0] == "c.kwh" {
                assert!(close(num(&row[10]), s.8), "delta {ctx}");
            } else {
                assert_eq!(row[10], "", "no delta for a non-meter: {ctx}");
            }
        }
    }
}

#[test]
fn daily_and_hourly_buckets_follow_paris_time_across_both_dst_changes() {
    // Paris 2026 changes at 01:00Z on 29 March (+01→+02) and 25 October (+02→+01):
    // hand-written here, independent of chrono-tz.
    const SPRING: i64 = 1_774_746_000_000;
    const AUTUMN: i64 = 1_792_890_000_000;
    let offset = |ts: i64| {
        if (SPRING..AUTUMN).contains(&ts) {
            2 * HOUR
        } else {
            HOUR
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let mut readings = Vec::new();
    for change in [SPRING, AUTUMN] {
        let mut ts = change - 60 * HOUR;
        while ts < change + 60 * HOUR {
            readings.push(Reading::good("p", ts, (ts / 600_000 % 1000) as f64));
            ts += 600_000;
        }
    }
    write_history(&db, vec![meta("p", "kW")], readings.clone(), vec![]);

    let text = export_ok(&[
        "aggregates",
        "--every",
        "1d",
        "--tz",
        "Europe/Paris",
        "--db",
        db.to_str().unwrap(),
    ]);
    let (_, rows) = parse_csv(&text, b',');
    // Independent grouping by local date with the hand-written offsets.
    let mut by_day: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &readings {
        let local = chrono::DateTime::from_timestamp_millis(r.ts + offset(r.ts)).unwrap();
        by_day
            .entry(local.format("%Y-%m-%d").to_string())
            .or_default()
            .push(r.value);
    }
    assert_eq!(rows.len(), by_day.len());
    for (row, (day, values)) in rows.iter().zip(&by_day) {
        assert_eq!(&row[2][..10], day, "{row:?}");
        assert_eq!(num(&row[4]) as usize, values.len(), "{row:?}");
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert_eq!((num(&row[5]), num(&row[6])), (min, max), "{row:?}");
        assert!(close(num(&row[7]), mean), "{row:?}");
        assert_eq!(num(&row[8]), values[0]);
        assert_eq!(num(&row[9]), *values.last().unwrap());
    }
    let day = |d: &str| rows.iter().find(|r| r[2].starts_with(d)).unwrap();
    assert_eq!(day("2026-03-29")[2], "2026-03-29T00:00:00+01:00");
    assert_eq!(day("2026-03-29")[3], "2026-03-30T00:00:00+02:00");
    assert_eq!(day("2026-03-29")[4], (23 * 6).to_string());
    assert_eq!(day("2026-10-25")[2], "2026-10-25T00:00:00+02:00");
    assert_eq!(day("2026-10-25")[3], "2026-10-26T00:00:00+01:00");
    assert_eq!(day("2026-10-25")[4], (25 * 6).to_string());

    let text = export_ok(&[
        "aggregates",
        "--every",
        "1h",
        "--tz",
        "Europe/Paris",
        "--from",
        "2026-10-25",
        "--to",
        "2026-10-26",
        "--db",
        db.to_str().unwrap(),
    ]);
    let (_, rows) = parse_csv(&text, b',');
    let starts: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(starts.len(), 25, "{starts:?}");
    assert_eq!(starts[2], "2026-10-25T02:00:00+02:00");
    assert_eq!(starts[3], "2026-10-25T02:00:00+01:00");
    assert!(
        rows.iter().all(|r| r[4] == "6"),
        "six 10-minute readings per hour"
    );
}

fn uci_file() -> Option<PathBuf> {
    common::shared_data("household_power_consumption_2006-12.txt")
}

/// One UCI row: local date text, UTC ms, active power, voltage, sub-metering 3.
struct UciRow {
    date: String,
    ts: i64,
    power: f64,
    voltage: f64,
    sub3: f64,
}

/// A deliberately plain parser of the raw text: `DD/MM/YYYY;HH:MM:SS;...`,
/// rows with `?` skipped. December in Paris is +01:00.
fn parse_uci(text: &str) -> Vec<UciRow> {
    text.lines()
        .skip(1)
        .filter(|l| !l.contains('?'))
        .map(|line| {
            let f: Vec<&str> = line.split(';').collect();
            let d: Vec<i64> = f[0].split('/').map(|x| x.parse().unwrap()).collect();
            let t: Vec<i64> = f[1].split(':').map(|x| x.parse().unwrap()).collect();
            let days = days_from_civil(d[2], d[1], d[0]);
            let local_s = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
            UciRow {
                date: format!("{:04}-{:02}-{:02}", d[2], d[1], d[0]),
                ts: (local_s - 3600) * 1000,
                power: f[2].parse().unwrap(),
                voltage: f[4].parse().unwrap(),
                sub3: f[8].parse().unwrap(),
            }
        })
        .collect()
}

/// Days since 1970-01-01 (H. Hinnant's algorithm), to avoid using chrono here.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn uci_daily_aggregates_match_values_computed_from_the_raw_text() {
    let Some(path) = uci_file() else { return };
    let rows = parse_uci(&std::fs::read_to_string(&path).unwrap());
    assert!(rows.len() > 15_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    // Power and voltage through `floorwatch import` (column mapping and the
    // file's timezone only); a cumulative energy register built from
    // Sub_metering_3 through the store writer.
    let out = std::process::Command::new(floorwatch_bin())
        .args(["import", "--tz", "Europe/Paris", "--db"])
        .arg(&db)
        .args(["--map", "Global_active_power=uci.power:kW"])
        .args(["--map", "Voltage=uci.voltage:V"])
        .arg(&path)
        .env_remove("FLOORWATCH_CONFIG")
        .env("FLOORWATCH_CONFIG_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut readings = Vec::new();
    let mut energy = 0.0;
    for r in &rows {
        energy += r.sub3;
        readings.push(Reading::good("uci.sub3_energy", r.ts, energy));
    }
    write_history(&db, vec![meta("uci.sub3_energy", "Wh")], readings, vec![]);
    let text = export_ok(&[
        "aggregates",
        "--every",
        "1d",
        "--tz",
        "Europe/Paris",
        "--cumulative",
        "uci.sub3_energy",
        "--db",
        db.to_str().unwrap(),
    ]);
    let (_, exported) = parse_csv(&text, b',');

    let mut days: BTreeMap<&str, Vec<&UciRow>> = BTreeMap::new();
    for r in &rows {
        days.entry(r.date.as_str()).or_default().push(r);
    }
    assert_eq!(days.len(), 12, "16 to 27 December");
    let first_day = *days.keys().next().unwrap();
    for (sensor, field) in [
        ("uci.power", (|r: &UciRow| r.power) as fn(&UciRow) -> f64),
        ("uci.voltage", |r: &UciRow| r.voltage),
    ] {
        let mine: Vec<&Vec<String>> = exported.iter().filter(|r| r[0] == sensor).collect();
        assert_eq!(mine.len(), days.len(), "{sensor}");
        for (row, (date, day)) in mine.iter().zip(&days) {
            let values: Vec<f64> = day.iter().map(|r| field(r)).collect();
            assert_eq!(&row[2], &format!("{date}T00:00:00+01:00"));
            assert_eq!(num(&row[4]) as usize, values.len(), "{sensor} {date}");
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert_eq!((num(&row[5]), num(&row[6])), (min, max), "{sensor} {date}");
            assert!(
                close(num(&row[7]), mean),
                "{sensor} {date}: {} vs {mean}",
                row[7]
            );
            assert_eq!(num(&row[8]), values[0]);
            assert_eq!(num(&row[9]), *values.last().unwrap());
            assert_eq!(row[10], "");
        }
    }
    // Energy per day = the day's sub-metering minutes (the first day has no
    // earlier reading, so its first minute is the baseline).
    let energy_rows: Vec<&Vec<String>> = exported
        .iter()
        .filter(|r| r[0] == "uci.sub3_energy")
        .collect();
    for (row, (date, day)) in energy_rows.iter().zip(&days) {
        let mut expected: f64 = day.iter().map(|r| r.sub3).sum();
        if *date == first_day {
            expected -= day[0].sub3;
        }
        assert_eq!(num(&row[10]), expected, "energy on {date}");
    }
}
