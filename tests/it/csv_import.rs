//! `floorwatch import` end to end: the real binary, real files, a real SQLite
//! history; expected values are computed from the raw text independently.

use crate::common;
use crate::csv_support;

use chrono::NaiveDateTime;
use csv_support::{count, import, ms, position_of, text, value_at};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Output;

const UCI: &str = "household_power_consumption_2006-12.txt";
const UCI_COLUMNS: [(&str, &str, &str); 7] = [
    ("Global_active_power", "house.active_power", "kW"),
    ("Global_reactive_power", "house.reactive_power", "kVAR"),
    ("Voltage", "house.voltage", "V"),
    ("Global_intensity", "house.intensity", "A"),
    ("Sub_metering_1", "house.sub1", "Wh"),
    ("Sub_metering_2", "house.sub2", "Wh"),
    ("Sub_metering_3", "house.sub3", "Wh"),
];

fn uci_path() -> Option<PathBuf> {
    common::shared_data(UCI)
}

fn uci_map_args() -> Vec<String> {
    UCI_COLUMNS
        .iter()
        .flat_map(|(col, sensor, unit)| ["--map".to_string(), format!("{col}={sensor}:{unit}")])
        .collect()
}

/// The UCI file's rows as the raw text has them: (naive time, fields).
fn uci_rows(path: &Path) -> Vec<(NaiveDateTime, Vec<String>)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<String> = line.split(';').map(str::to_owned).collect();
            let when = NaiveDateTime::parse_from_str(
                &format!("{} {}", fields[0], fields[1]),
                "%d/%m/%Y %H:%M:%S",
            )
            .unwrap();
            (when, fields[2..].to_vec())
        })
        .collect()
}

#[test]
fn imports_the_uci_file_with_only_the_column_mapping() {
    let Some(path) = uci_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let mut args = uci_map_args();
    args.push(path.to_string_lossy().into_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = import(&db, &args);
    assert_uci_imported(&db, &path, &out);
}

/// An `[[import]]` profile for the UCI file, found by its `files` glob.
fn uci_profile() -> String {
    let mut toml = String::from(
        "[plant]\ntimezone = \"UTC\"\n\n[[import]]\nname = \"uci\"\nfiles = \"household_power_*.txt\"\n\n[import.columns]\n",
    );
    for (col, sensor, unit) in UCI_COLUMNS {
        let name = if col == "Voltage" {
            ", name = \"Mains voltage\""
        } else {
            ""
        };
        toml.push_str(&format!(
            "{col} = {{ sensor = \"{sensor}\", unit = \"{unit}\"{name} }}\n"
        ));
    }
    toml
}

#[test]
fn imports_the_uci_file_with_only_a_config_import_profile() {
    let Some(path) = uci_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let config = dir.path().join("floorwatch.toml");
    std::fs::write(&config, uci_profile()).unwrap();
    // No --map and no --profile: the file name matches `files`.
    let out = import(
        &db,
        &["--config", config.to_str().unwrap(), path.to_str().unwrap()],
    );
    assert_uci_imported(&db, &path, &out);
    let name: String = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT name FROM sensors WHERE tag = 'house.voltage'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Mains voltage");
}

#[test]
fn a_bad_import_mapping_is_named_by_config_line_and_column_and_exits_2() {
    let Some(path) = uci_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let config = dir.path().join("floorwatch.toml");
    // A column the file does not have: found when the header is read.
    let typo = uci_profile().replace("Voltage = ", "Voltag = ");
    std::fs::write(&config, &typo).unwrap();
    let out = import(
        &db,
        &["--config", config.to_str().unwrap(), path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let want = format!(
        "{}: mapped column \"Voltag\" is not in the header: it has \"Date\", \"Time\", \"Global_active_power\"",
        position_of(&config, &typo, "Voltag")
    );
    assert!(stderr.contains(&want), "wanted {want:?} in:\n{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 0);

    // A key the mapping does not know: the config does not load.
    let bad_key = uci_profile().replace("Voltage = { sensor", "Voltage = { sensr");
    std::fs::write(&config, &bad_key).unwrap();
    let out = import(
        &db,
        &["--config", config.to_str().unwrap(), path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let at = position_of(&config, &bad_key, "sensr");
    assert!(
        stderr.contains(&format!(
            "{at}: unknown field `sensr`, expected one of `sensor`, `unit`, `name`"
        )),
        "wanted {at} in:\n{stderr}"
    );
}

const GERMAN: &str = "Tag;Uhrzeit;Leistung;Spannung\n\
    16/12/2006;17:24:00;4,216;234,840\n\
    16/12/2006;17:25:00;5,360;233,630\n";

const GERMAN_PROFILE: &str = r#"
[[import]]
name = "de"
delimiter = ";"
decimal = "comma"
date_format = "dmy"
timezone = "Europe/Berlin"
date_column = "Tag"
time_column = "Uhrzeit"

[import.columns]
Leistung = { sensor = "p", unit = "kW" }
"#;

#[test]
fn a_profile_chosen_by_name_sets_every_reading_option_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("floorwatch.toml");
    std::fs::write(&config, GERMAN_PROFILE).unwrap();
    let file = dir.path().join("messung.csv");
    std::fs::write(&file, GERMAN).unwrap();
    let (cfg, csv) = (config.to_str().unwrap(), file.to_str().unwrap());

    let db = dir.path().join("profile.sqlite");
    let out = import(&db, &["--config", cfg, "--profile", "de", csv]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 17:24 in Berlin (CET) is 16:24Z; only the mapped column is read.
    assert_eq!(value_at(&db, "p", ms("2006-12-16T16:24:00Z")), Some(4.216));
    assert_eq!(value_at(&db, "p", ms("2006-12-16T16:25:00Z")), Some(5.36));
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sensors WHERE tag = 'p' AND unit = 'kW'"
        ),
        1
    );

    // Flags win key by key: --map replaces the columns, --tz the zone; the rest stays.
    let db = dir.path().join("flags.sqlite");
    let out = import(
        &db,
        &[
            "--config",
            cfg,
            "--profile",
            "de",
            "--map",
            "Spannung=u:V",
            "--tz",
            "UTC",
            csv,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(value_at(&db, "u", ms("2006-12-16T17:24:00Z")), Some(234.84));
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM sensors WHERE tag = 'p'"),
        0
    );

    // Without the profile the file is not understood the same way (no split-time names).
    let out = import(&db, &["--config", cfg, "--profile", "fr", csv]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--profile \"fr\": no [[import]] of that name")
            && text(&out.stderr).contains("(defined: de)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn time_columns_can_be_named_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let file = dir.path().join("odd.csv");
    std::fs::write(
        &file,
        "a,stamp,b
1,2025-10-02T12:00:00Z,2
",
    )
    .unwrap();
    let out = import(&db, &[file.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        count(&db, "SELECT count(*) FROM readings"),
        0,
        "column a is not a time"
    );
    let out = import(&db, &["--time-col", "stamp", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(value_at(&db, "a", ms("2025-10-02T12:00:00Z")), Some(1.0));
    assert_eq!(value_at(&db, "b", ms("2025-10-02T12:00:00Z")), Some(2.0));
    let out = import(&db, &["--time-col", "when", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("time column \"when\" is not in the header: it has \"a\", \"stamp\", \"b\""),
        "{}",
        text(&out.stderr)
    );
}

/// The summary, the stored values and the units against the raw text.
fn assert_uci_imported(db: &Path, path: &Path, out: &Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = uci_rows(path);
    let numeric: usize = rows
        .iter()
        .map(|(_, f)| f.iter().filter(|v| v.parse::<f64>().is_ok()).count())
        .sum();
    let missing: usize = rows
        .iter()
        .map(|(_, f)| f.iter().filter(|v| v.parse::<f64>().is_err()).count())
        .sum();
    let question_rows = rows
        .iter()
        .filter(|(_, f)| f.iter().all(|v| v == "?" || v.is_empty()))
        .count();
    assert_eq!(rows.len(), 15_921);
    assert_eq!(question_rows, 2);
    let summary = text(&out.stdout);
    assert!(
        summary.contains(&format!(
            "{} rows read, {numeric} readings for 7 sensors: {numeric} new, 0 already stored, 0 updated; {missing} missing values skipped ({question_rows} rows without any value), 0 bad rows",
            rows.len()
        )),
        "{summary}"
    );
    assert_eq!(count(db, "SELECT count(*) FROM readings") as usize, numeric);
    // Missing values are never stored as zero: the `?` minutes have no readings.
    let (gap, _) = rows
        .iter()
        .find(|(_, f)| f[0] == "?")
        .expect("the file has ? rows");
    let gap_ms = gap.and_utc().timestamp_millis();
    assert_eq!(
        count(
            db,
            &format!("SELECT count(*) FROM readings WHERE ts = {gap_ms}")
        ),
        0
    );
    // Spot checks against the raw text: first, one before the gap, last.
    let gap_index = rows.iter().position(|(_, f)| f[0] == "?").unwrap();
    for index in [0, gap_index - 1, rows.len() - 1] {
        let (when, fields) = &rows[index];
        let ts = when.and_utc().timestamp_millis();
        for ((_, sensor, _), raw) in UCI_COLUMNS.iter().zip(fields) {
            assert_eq!(
                value_at(db, sensor, ts),
                Some(raw.parse::<f64>().unwrap()),
                "{sensor} at row {index} ({when})"
            );
        }
    }
    let units: String = Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT group_concat(unit, ',') FROM (SELECT unit FROM sensors ORDER BY tag)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(units, "kW,A,kVAR,Wh,Wh,Wh,V");
}

#[test]
fn uci_times_are_local_to_the_given_zone() {
    let Some(path) = uci_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let out = import(
        &db,
        &[
            "--map",
            "Voltage=v",
            "--tz",
            "Europe/Paris",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 16/12/2006 17:24:00 in Paris (CET, UTC+1) is 16:24Z; raw voltage 234.840.
    let ts = chrono::DateTime::parse_from_rfc3339("2006-12-16T16:24:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(value_at(&db, "v", ts), Some(234.84));
    assert_eq!(count(&db, "SELECT count(*) FROM sensors"), 1);
}

/// The summary's new / already stored / updated, each checked against
/// the history's row count and values.
#[test]
fn importing_again_says_how_many_readings_were_new_already_stored_or_updated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let file = dir.path().join("long.csv");
    let rows = "timestamp,sensor,value,unit\n\
         2025-10-02T12:00:00Z,temp-001,36.2,°C\n\
         2025-10-02T12:00:00Z,vib-001,5.5,mm/s\n\
         2025-10-02T12:01:00Z,temp-001,36.4,°C\n";
    std::fs::write(&file, rows).unwrap();
    let readings = "SELECT count(*) FROM readings";
    let summaries: Vec<String> = (0..2)
        .map(|_| {
            let out = import(&db, &[file.to_str().unwrap()]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout)
        })
        .collect();
    assert!(
        summaries[0]
            .contains("3 rows read, 3 readings for 2 sensors: 3 new, 0 already stored, 0 updated;"),
        "{}",
        summaries[0]
    );
    assert!(
        summaries[1]
            .contains("3 rows read, 3 readings for 2 sensors: 0 new, 3 already stored, 0 updated;"),
        "{}",
        summaries[1]
    );
    assert_eq!(count(&db, readings), 3);
    assert_eq!(count(&db, "SELECT count(*) FROM sensors"), 2);

    // One value changed, one reading added: the file's value replaces the stored one.
    let changed = rows.replace("36.4", "36.9") + "2025-10-02T12:02:00Z,temp-001,36.5,°C\n";
    std::fs::write(&file, changed).unwrap();
    let out = import(&db, &[file.to_str().unwrap()]);
    assert!(
        text(&out.stdout)
            .contains("4 rows read, 4 readings for 2 sensors: 1 new, 2 already stored, 1 updated;"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(count(&db, readings), 4);
    assert_eq!(
        value_at(&db, "temp-001", ms("2025-10-02T12:01:00Z")),
        Some(36.9)
    );
    assert_eq!(
        value_at(&db, "temp-001", ms("2025-10-02T12:00:00Z")),
        Some(36.2)
    );
}

#[test]
fn a_reading_repeated_in_one_file_is_stored_once_with_the_later_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let file = dir.path().join("dup.csv");
    std::fs::write(
        &file,
        "timestamp,sensor,value\n\
         2025-10-02T12:00:00Z,a,1\n\
         2025-10-02T12:00:01Z,a,2\n\
         2025-10-02T12:00:00Z,a,3\n",
    )
    .unwrap();
    let out = import(&db, &[file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 2);
    let ts = chrono::DateTime::parse_from_rfc3339("2025-10-02T12:00:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(value_at(&db, "a", ts), Some(3.0));
}

const BAD_ROWS: &str = "Date;Time;Global_active_power;Voltage\n\
    16/12/2006;17:24:00;4.216;234.840\n\
    16/12/2006;17:25:00;5.360;23O.1\n\
    16/12/2006;17:26:00;5.374;233.290\n\
    16/12/2006;17:27;xx;5.388\n\
    31/12/2006;25:00:00;1;2\n";

#[test]
fn bad_rows_are_skipped_counted_and_named_by_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, BAD_ROWS).unwrap();
    let out = import(&db, &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let name = file.display();
    assert!(
        stderr.contains(&format!(
            "{name}:3:27: expected a number in column \"Voltage\", found \"23O.1\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:5:18: expected a number in column \"Global_active_power\", found \"xx\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:6:1: expected a timestamp")),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("5 rows read, 4 readings for 2 sensors: 4 new, 0 already stored, 0 updated; 0 missing values skipped, 3 bad rows skipped (2 not a number, 1 bad timestamp)"),
        "{stdout}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 4);
}

#[test]
fn strict_stops_at_the_first_bad_row_and_stores_nothing_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "timestamp,sensor,value\n2025-10-02T12:00:00Z,a,1\n").unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, BAD_ROWS).unwrap();
    let out = import(
        &db,
        &["--strict", good.to_str().unwrap(), bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3:27: expected a number in column \"Voltage\", found \"23O.1\" (--strict: nothing from this file was stored)",
            bad.display()
        )),
        "{stderr}"
    );
    // The first file is stored; nothing of the bad one, not even its sensors.
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM sensors"), 1);
}

#[test]
fn gzip_tab_and_decimal_comma_files_import() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let gz = dir.path().join("meters.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all("\u{feff}datahora\tm1\tm2\n02/10/2025 13:00\t1234,5\t?\n".as_bytes())
        .unwrap();
    enc.finish().unwrap();
    let out = import(
        &db,
        &[
            "--date-format",
            "dmy",
            "--tz",
            "America/Sao_Paulo",
            gz.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ts = chrono::DateTime::parse_from_rfc3339("2025-10-02T16:00:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(value_at(&db, "m1", ts), Some(1234.5));
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 1);
}

#[test]
fn known_only_rejects_sensors_not_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let first = dir.path().join("first.csv");
    std::fs::write(&first, "timestamp,sensor,value\n2025-10-02T12:00:00Z,a,1\n").unwrap();
    assert!(import(&db, &[first.to_str().unwrap()]).status.success());
    let second = dir.path().join("second.csv");
    std::fs::write(
        &second,
        "timestamp,sensor,value\n2025-10-02T12:01:00Z,a,2\n2025-10-02T12:01:00Z,b,3\n",
    )
    .unwrap();
    let out = import(&db, &["--known-only", second.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("unknown sensor \"b\" and --known-only is set"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM sensors WHERE tag = 'b'"),
        0
    );
}

#[test]
fn unreadable_headers_and_missing_files_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let ambiguous = dir.path().join("amb.csv");
    std::fs::write(&ambiguous, "date,v\n01/02/2024 10:00,1\n").unwrap();
    let out = import(&db, &[ambiguous.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!(
            "{}:2: dates like \"01/02/2024 10:00\" in column \"date\" could be day/month or month/day: pass --date-format dmy or mdy",
            ambiguous.display()
        )),
        "{}",
        text(&out.stderr)
    );
    let out = import(&db, &["--map", "Volts=v", ambiguous.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("mapped column \"Volts\" is not in the header"));
    let out = import(&db, &[dir.path().join("nope.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nope.csv"));
}

#[test]
fn a_cut_off_gzip_file_keeps_the_rows_before_the_cut_unless_strict() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,sensor,value\n");
    for i in 0..20_000i64 {
        csv.push_str(&format!("{},s,{i}\n", 1_700_000_000_000 + i * 1000));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    let file = dir.path().join("cut.csv.gz");
    std::fs::write(&file, &whole[..whole.len() - 200]).unwrap();

    let db = dir.path().join("h.sqlite");
    let out = import(&db, &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("{}: ", file.display())),
        "{}",
        text(&out.stderr)
    );
    // What was read before the cut is stored, each value as written.
    let stored = count(&db, "SELECT count(*) FROM readings");
    assert!(stored > 10_000 && stored < 20_000, "{stored}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM readings WHERE value <> (ts - 1700000000000) / 1000"
        ),
        0
    );

    let strict_db = dir.path().join("strict.sqlite");
    let out = import(&strict_db, &["--strict", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(count(&strict_db, "SELECT count(*) FROM readings"), 0);
}
