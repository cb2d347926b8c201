//! `floorwatch export readings` end to end: a real history file written by
//! the store writer, the real binary, the CSV parsed back with the csv crate.

use crate::export_support;

use crate::common;
use export_support::*;
use floorwatch::model::{Quality, Reading};
use floorwatch::store::Location;

const T0: i64 = 1_790_000_000_000; // 2026-09-21T14:13:20Z

fn sample_history(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("h.sqlite");
    sample_history_in(&db.clone().into());
    db
}

/// The sample readings in `db` (a file or a database); `db` for `--db`.
fn sample_history_in(db: &Location) {
    let mut bad = Reading::good("line1.vibration", T0 + 2_000, 99.0);
    bad.quality = Quality::Bad;
    write_history(
        db,
        vec![
            meta("line1.temp", "°C"),
            meta("line1.vibration", "mm/s"),
            meta("main.power", "kW"),
        ],
        vec![
            Reading::good("line1.temp", T0, 21.5),
            Reading::good("line1.temp", T0 + 1_000, -3.25),
            Reading::good("line1.temp", T0 + 3_500, 22.0),
            Reading::good("line1.vibration", T0 + 1_000, 4.75),
            bad,
            Reading::good("main.power", T0, 100.0),
            Reading::good("main.power", T0 + 10_000, 101.0),
        ],
        vec![],
    );
}

#[test]
fn long_export_lists_every_reading_in_time_order_with_unit_and_quality() {
    for h in common::histories() {
        let dir = tempfile::tempdir().unwrap();
        sample_history_in(&h.location);
        let db = h.arg.as_str();
        let out = dir.path().join("out.csv");
        export_ok(&[
            "readings",
            "--db",
            db,
            "--tz",
            "America/Sao_Paulo",
            "--sensor",
            "line1.*",
            "-o",
            out.to_str().unwrap(),
        ]);
        let (header, rows) = parse_csv(&std::fs::read_to_string(&out).unwrap(), b',');
        assert_eq!(header, ["timestamp", "sensor", "value", "unit", "quality"]);
        let sp = chrono_tz::America::Sao_Paulo;
        let expected: Vec<Vec<String>> = [
            (T0, "line1.temp", "21.5", "°C", "good"),
            (T0 + 1_000, "line1.temp", "-3.25", "°C", "good"),
            (T0 + 1_000, "line1.vibration", "4.75", "mm/s", "good"),
            (T0 + 2_000, "line1.vibration", "99", "mm/s", "bad"),
            (T0 + 3_500, "line1.temp", "22", "°C", "good"),
        ]
        .iter()
        .map(|(ts, s, v, u, q)| {
            vec![
                rfc3339_in(sp, *ts),
                s.to_string(),
                v.to_string(),
                u.to_string(),
                q.to_string(),
            ]
        })
        .collect();
        assert_eq!(rows, expected);
        assert!(rows[0][0].ends_with("-03:00"), "{}", rows[0][0]);
        assert!(
            rows[4][0].contains(".5"),
            "milliseconds kept: {}",
            rows[4][0]
        );
    }
}

#[test]
fn wide_export_aligns_sensors_on_timestamps_and_leaves_gaps_empty() {
    for h in common::histories() {
        sample_history_in(&h.location);
        let db = h.arg.as_str();
        let text = export_ok(&["readings", "--wide", "--epoch", "--db", db, "-o", "-"]);
        let (header, rows) = parse_csv(&text, b',');
        assert_eq!(
            header,
            [
                "timestamp_epoch_ms",
                "line1.temp_°C",
                "line1.vibration_mm/s",
                "main.power_kW"
            ]
        );
        let t = |d: i64| (T0 + d).to_string();
        // The bad vibration reading at +2s leaves its cell empty.
        let expected = vec![
            vec![t(0), "21.5".into(), "".into(), "100".into()],
            vec![t(1_000), "-3.25".into(), "4.75".into(), "".into()],
            vec![t(2_000), "".into(), "".into(), "".into()],
            vec![t(3_500), "22".into(), "".into(), "".into()],
            vec![t(10_000), "".into(), "".into(), "101".into()],
        ];
        assert_eq!(rows, expected);
    }
}

#[test]
fn time_range_is_from_inclusive_to_exclusive() {
    for h in common::histories() {
        sample_history_in(&h.location);
        let db = h.arg.as_str();
        let from = rfc3339_in(chrono_tz::UTC, T0 + 1_000);
        let to = rfc3339_in(chrono_tz::UTC, T0 + 3_500);
        let text = export_ok(&[
            "readings", "--epoch", "--db", db, "--from", &from, "--to", &to,
        ]);
        let (_, rows) = parse_csv(&text, b',');
        let times: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        let (a, b) = ((T0 + 1_000).to_string(), (T0 + 2_000).to_string());
        assert_eq!(times, [a.as_str(), a.as_str(), b.as_str()]);
    }
}

#[test]
fn spreadsheet_options_semicolon_decimal_comma_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_history(dir.path());
    let text = export_ok(&[
        "readings",
        "--db",
        db.to_str().unwrap(),
        "--sensor",
        "line1.temp",
        "--decimal-comma",
        "--bom",
        "--epoch",
    ]);
    let body = text.strip_prefix('\u{feff}').expect("UTF-8 BOM first");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "timestamp_epoch_ms;sensor;value;unit;quality");
    assert_eq!(lines[1], format!("{T0};line1.temp;21,5;°C;good"));
    assert_eq!(lines[2], format!("{};line1.temp;-3,25;°C;good", T0 + 1_000));
}

#[test]
fn formula_injection_in_ids_and_units_is_neutralised_numbers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let evil = [
        "=HYPERLINK(\"http://x\")",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\tTAB",
        "\rCR",
    ];
    write_history(
        &db,
        evil.iter().map(|id| meta(id, "=1+1")).collect(),
        evil.iter()
            .enumerate()
            .map(|(i, id)| Reading::good(*id, T0 + i as i64, -1.5 - i as f64))
            .collect(),
        vec![],
    );
    let text = export_ok(&["readings", "--db", db.to_str().unwrap(), "--epoch"]);
    let (_, rows) = parse_csv(&text, b',');
    assert_eq!(rows.len(), evil.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[1], format!("'{}", evil[i]), "sensor cell");
        assert_eq!(row[3], "'=1+1", "unit cell");
        // The negative value is still a plain number.
        assert_eq!(row[2].parse::<f64>().unwrap(), -1.5 - i as f64);
    }
    let wide = export_ok(&["readings", "--wide", "--db", db.to_str().unwrap()]);
    let (header, _) = parse_csv(&wide, b',');
    for cell in &header[1..] {
        assert!(cell.starts_with('\''), "wide header {cell:?} escaped");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message_and_leave_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_history(dir.path());
    let db = db.to_str().unwrap();
    let out = dir.path().join("keep.csv");
    std::fs::write(&out, "previous report\n").unwrap();
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["readings", "--db", db, "--from", "yesterday"],
            "--from \"yesterday\"",
        ),
        (
            &["readings", "--db", db, "--tz", "Mars/Olympus"],
            "unknown timezone",
        ),
        (
            &[
                "readings",
                "--db",
                db,
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-01",
            ],
            "is not before",
        ),
        (
            &["readings", "--db", db, "--sensor", "nope.*", "-o", out],
            "no sensor",
        ),
        (
            &["readings", "--db", db, "--delimiter", "ab"],
            "--delimiter",
        ),
        (
            &[
                "readings",
                "--db",
                db,
                "--decimal-comma",
                "--delimiter",
                ",",
            ],
            "--decimal-comma",
        ),
        (&["readings", "--db", "/nonexistent/h.sqlite"], "not found"),
        (&["aggregates", "--db", db, "--every", "7m"], "divide a day"),
        (
            &["alarms", "--db", db, "--priority", "urgent"],
            "critical, high",
        ),
        (&["readings", "--db", db, "--bogus"], "--bogus"),
    ];
    for (args, message) in cases {
        let o = export(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.csv")).unwrap(),
        "previous report\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn piped_export_is_quiet_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_history(dir.path());
    let out = dir.path().join("o.csv");
    let o = export(&[
        "readings",
        "--db",
        db.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::read_to_string(out).unwrap().lines().count() == 8);
}
