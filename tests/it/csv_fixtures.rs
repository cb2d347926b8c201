//! The committed CSV fixtures: reproducible from their seeded generator, and
//! showing what the README says they show (checked on the raw text and after
//! a real import).

use crate::csv_support;

#[path = "../../examples/gen_fixtures.rs"]
#[allow(dead_code)]
mod gen_fixtures;

use csv_support::{ms, text};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Imports, asserting success; the summary on stdout.
fn import(db: &Path, args: &[&str]) -> String {
    let out = csv_support::import(db, args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// (ts, value) of one sensor, in time order.
fn series(db: &Path, sensor: &str) -> Vec<(i64, f64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT ts, value FROM readings JOIN sensors USING(sensor_id) WHERE tag = ?1 ORDER BY ts",
        )
        .unwrap();
    stmt.query_map([sensor], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn committed_fixtures_match_their_generator() {
    for (name, text) in gen_fixtures::all() {
        let committed = std::fs::read_to_string(fixture(name)).unwrap();
        assert!(
            committed == text,
            "fixtures/{name} differs from `cargo run --example gen_fixtures`: regenerate and commit it"
        );
    }
    let total: u64 = gen_fixtures::all()
        .iter()
        .map(|(_, t)| t.len() as u64)
        .sum();
    assert!(total < 3_000_000, "fixtures grew to {total} bytes");
}

/// First time `sensor` goes above `limit` in the raw long-format text.
fn first_above(text: &str, sensor: &str, limit: f64) -> Option<String> {
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split(',').collect();
        (f[1] == sensor && f[2].parse::<f64>().unwrap() > limit).then(|| f[0].to_owned())
    })
}

#[test]
fn factory_day_has_its_excursions_and_imports_whole() {
    let path = fixture("factory_day.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let warn = first_above(&text, "line1.temp", 35.0).unwrap();
    let crit = first_above(&text, "line1.temp", 40.0).unwrap();
    let vib_warn = first_above(&text, "line1.vibration", 5.0).unwrap();
    let vib_crit = first_above(&text, "line1.vibration", 7.0).unwrap();
    assert!(
        warn.as_str() > "2025-10-02T09:50" && warn.as_str() < "2025-10-02T10:15",
        "{warn}"
    );
    assert!(
        crit.as_str() > "2025-10-02T13:50" && crit.as_str() < "2025-10-02T14:15",
        "{crit}"
    );
    assert!(
        vib_warn.as_str() > "2025-10-02T11:15" && vib_warn.as_str() < "2025-10-02T11:35",
        "{vib_warn}"
    );
    assert!(
        vib_crit.as_str() > "2025-10-02T15:15" && vib_crit.as_str() < "2025-10-02T15:35",
        "{vib_crit}"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let summary = import(&db, &[path.to_str().unwrap()]);
    assert!(
        summary.contains(
            "8640 rows read, 8640 readings for 3 sensors: 8640 new, 0 already stored, 0 updated; 0 missing values skipped, 0 bad rows"
        ),
        "{summary}"
    );
    let temp = series(&db, "line1.temp");
    assert_eq!(temp.len(), 2880);
    let stored_crit = temp.iter().find(|(_, v)| *v > 40.0).unwrap().0;
    assert_eq!(stored_crit, ms(&crit));
}

#[test]
fn tenant_month_has_rollover_reset_gap_and_spike() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let summary = import(&db, &[fixture("tenant_meters_month.csv").to_str().unwrap()]);
    assert!(
        summary.contains("29616 rows read, 29616 readings for 10 sensors: 29616 new"),
        "{summary}"
    );
    let step = 15 * 60 * 1000;
    // Rollover: tenant-c's register drops from near 1,000,000 to near 0 once.
    let c = series(&db, "tenant-c.kwh");
    let drops: Vec<_> = c.windows(2).filter(|w| w[1].1 < w[0].1).collect();
    assert_eq!(drops.len(), 1);
    assert!(
        drops[0][0].1 > 999_900.0 && drops[0][1].1 < 100.0,
        "{drops:?}"
    );
    // Reset: tenant-g reads exactly 0 at 2025-10-20 14:00 plant time.
    let g = series(&db, "tenant-g.kwh");
    let reset = g
        .iter()
        .find(|(ts, _)| *ts == ms("2025-10-20T14:00:00-03:00"))
        .unwrap();
    assert_eq!(reset.1, 0.0);
    assert_eq!(g.windows(2).filter(|w| w[1].1 < w[0].1).count(), 1);
    // Gap: tenant-e has one hole of 36 h; every other step is 15 min.
    let e = series(&db, "tenant-e.kwh");
    let holes: Vec<_> = e.windows(2).filter(|w| w[1].0 - w[0].0 != step).collect();
    assert_eq!(holes.len(), 1);
    assert_eq!(holes[0][0].0, ms("2025-10-08T05:45:00-03:00"));
    assert_eq!(holes[0][1].0, ms("2025-10-09T18:00:00-03:00"));
    // Spike: tenant-i's consumption on 27 Oct > 1.5× the mean of the three days before.
    let i = series(&db, "tenant-i.kwh");
    let reading_at = |day: u32| {
        i.iter()
            .find(|(ts, _)| *ts == ms(&format!("2025-10-{day:02}T00:00:00-03:00")))
            .unwrap()
            .1
    };
    let day = |d: u32| reading_at(d + 1) - reading_at(d);
    let before = (day(24) + day(25) + day(26)) / 3.0;
    assert!(day(27) > 1.5 * before, "{} vs {before}", day(27));
    // ... and only that day: no other day of any meter without events is a spike.
    for d in 4..=29 {
        if d != 27 {
            let mean = (day(d - 3) + day(d - 2) + day(d - 1)) / 3.0;
            assert!(day(d) <= 1.5 * mean, "unexpected spike on day {d}");
        }
    }
}

#[test]
fn semicolon_decimal_comma_file_reads_exactly() {
    let path = fixture("semicolon_decimal_comma.csv");
    let raw = std::fs::read_to_string(&path).unwrap();
    let first: Vec<&str> = raw.lines().nth(1).unwrap().split(';').collect();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let summary = import(&db, &["--tz", "Europe/Lisbon", path.to_str().unwrap()]);
    assert!(
        summary.contains("48 rows read, 142 readings for 3 sensors: 142 new, 0 already stored, 0 updated; 2 missing values skipped"),
        "{summary}"
    );
    let temp = series(&db, "Temperatura");
    // 13/01/2025 00:00 in Lisbon (WET, UTC+0) is midnight UTC.
    assert_eq!(temp[0].0, ms("2025-01-13T00:00:00Z"));
    assert_eq!(
        temp[0].1,
        first[2].replace(',', ".").parse::<f64>().unwrap()
    );
    assert_eq!(temp.len(), 48);
    assert_eq!(series(&db, "Umidade").len(), 46);
}

#[test]
fn bad_rows_fixture_shows_each_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let summary = import(&db, &[fixture("bad_rows.csv").to_str().unwrap()]);
    assert!(
        summary.contains("16 rows read, 8 readings for 1 sensor: 8 new, 0 already stored, 0 updated; 2 missing values skipped (2 rows without any value), 6 bad rows skipped (1 not a number, 2 bad timestamp, 2 wrong number of fields, 1 empty sensor id)"),
        "{summary}"
    );
}
