//! A readings export re-imports with `floorwatch import` to the same history:
//! every sensor, unit, timestamp (to the millisecond), value (to the bit) and
//! quality (bad and stale readings stay bad and stale).

use crate::export_support;

use export_support::*;
use floorwatch::model::{Quality, Reading};
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;

type Row = (String, String, i64, f64, i64);

fn history_rows(db: &Path) -> Vec<Row> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT s.tag, s.unit, r.ts, r.value, r.quality
             FROM readings r JOIN sensors s USING (sensor_id) ORDER BY s.tag, r.ts",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

fn import(file: &Path, db: &Path) {
    let out = Command::new(floorwatch_bin())
        .arg("import")
        .arg(file)
        .arg("--db")
        .arg(db)
        .env_remove("FLOORWATCH_CONFIG")
        .env("FLOORWATCH_CONFIG_DIR", file.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Values that stress the number format: many digits, tiny, huge, negative.
fn awkward_history(db: &Path) {
    let t0 = 1_774_740_000_000; // 2026-03-28T23:20Z, across the Paris DST change
    let mut readings = Vec::new();
    for i in 0..2_000i64 {
        let ts = t0 + i * 7_001;
        let x = i as f64;
        let mut temp = Reading::good("line1.temp", ts, 20.0 + (x * 0.1 + 0.2) / 3.0);
        if i % 5 == 1 {
            temp.quality = Quality::Bad;
        }
        readings.push(temp);
        let mut vibration = Reading::good("line1.vibration", ts + 500, -(x * 1e-7));
        if i % 7 == 2 {
            vibration.quality = Quality::Stale;
        }
        readings.push(vibration);
        if i % 3 == 0 {
            readings.push(Reading::good("meter-a.kwh", ts, 1.0e9 + x * 0.125));
        }
    }
    write_history(
        db,
        vec![
            meta("line1.temp", "°C"),
            meta("line1.vibration", "mm/s"),
            meta("meter-a.kwh", "kWh"),
        ],
        readings,
        vec![],
    );
}

#[test]
fn exported_readings_reimport_to_identical_rows_in_every_style() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.sqlite");
    awkward_history(&original);
    let expected = history_rows(&original);
    assert_eq!(expected.len(), 4_667);
    let with_quality = |rows: &[Row], code: i64| rows.iter().filter(|r| r.4 == code).count();
    assert_eq!(with_quality(&expected, Quality::Bad.code()), 400);
    assert_eq!(with_quality(&expected, Quality::Stale.code()), 286);

    let styles: &[&[&str]] = &[
        &["--tz", "Europe/Paris"],
        &["--epoch"],
        &["--tz", "America/Sao_Paulo", "--decimal-comma", "--bom"],
        &["--delimiter", "tab"],
    ];
    for (i, style) in styles.iter().enumerate() {
        let csv = dir.path().join(format!("export-{i}.csv"));
        let copy = dir.path().join(format!("copy-{i}.sqlite"));
        let mut args = vec![
            "readings",
            "--db",
            original.to_str().unwrap(),
            "-o",
            csv.to_str().unwrap(),
        ];
        args.extend_from_slice(style);
        export_ok(&args);
        import(&csv, &copy);
        let got = history_rows(&copy);
        assert_eq!(got.len(), expected.len(), "{style:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "{style:?}");
        }
        assert_eq!(with_quality(&got, Quality::Bad.code()), 400, "{style:?}");
        assert_eq!(with_quality(&got, Quality::Stale.code()), 286, "{style:?}");
    }
}
