//! `floorwatch import` of files that are not what they should be: a damaged
//! gzip, binary data, NUL bytes and bad UTF-8 where a sensor id should be,
//! an unterminated quote, control bytes in a header. Each is exit 2 with the
//! file (and line:col or byte) named, or a counted bad row with its
//! position; what was stored before is kept; no control byte of the input
//! reaches the terminal.

use crate::csv_support;

use csv_support::{count, import, position_of, text};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A file written into a new temp dir beside a fresh history file.
struct Case {
    dir: tempfile::TempDir,
    db: PathBuf,
    file: PathBuf,
}

impl Case {
    fn new(name: &str, contents: impl AsRef<[u8]>) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite");
        let file = dir.path().join(name);
        std::fs::write(&file, contents).unwrap();
        Case { dir, db, file }
    }

    /// `floorwatch import [FLAGS...] FILE`.
    fn import(&self, flags: &[&str]) -> Output {
        let mut args = flags.to_vec();
        args.push(self.file.to_str().unwrap());
        import(&self.db, &args)
    }

    fn count(&self, sql: &str) -> i64 {
        count(&self.db, sql)
    }
}

/// Exit 2 with exactly `stderr`.
fn assert_bad_input(out: &Output, stderr: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), stderr);
}

/// A long CSV: sensor "s", one reading a second, value = row number.
fn long_csv(rows: i64) -> String {
    let mut csv = String::from("timestamp,sensor,value\n");
    for i in 0..rows {
        csv.push_str(&format!("{},s,{i}\n", 1_700_000_000_000 + i * 1000));
    }
    csv
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Neither stream holds a control byte other than line feeds.
fn assert_nothing_raw_echoed(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let raw = stream
            .iter()
            .position(|&b| (b < 0x20 && b != b'\n') || b == 0x7F);
        assert_eq!(raw, None, "control byte echoed in:\n{}", text(stream));
    }
}

/// The number after `before` in `text`.
fn number_after(text: &str, before: &str) -> u64 {
    let start = text
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} in {text}"))
        + before.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// A first file that imports, so "nothing already stored is lost" can be checked.
fn good_file(dir: &Path) -> std::path::PathBuf {
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "timestamp,sensor,value\n2025-10-02T12:00:00Z,kept,1\n",
    )
    .unwrap();
    good
}

#[test]
fn a_damaged_gzip_exits_2_naming_the_file_and_byte_and_stores_nothing_of_it() {
    let rows = 20_000;
    let mut damaged = gzip(long_csv(rows).as_bytes());
    let at = damaged.len() / 2;
    for b in &mut damaged[at..at + 16] {
        *b ^= 0x55;
    }
    let case = Case::new("damaged.csv.gz", &damaged);
    let good = good_file(case.dir.path());

    let out = case.import(&[good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let prefix = format!("floorwatch: {}: corrupt gzip data (", case.file.display());
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(
        stderr.ends_with(
            " (nothing from this file was stored: text decompressed from damaged data cannot be trusted)\n"
        ),
        "{stderr}"
    );
    // Found at or after the damage, within the file; the CSV line within the text.
    let offset = number_after(&stderr, " at byte ");
    assert!(
        (at as u64..=damaged.len() as u64).contains(&offset),
        "{offset} not in {at}..={}",
        damaged.len()
    );
    let line = number_after(&stderr, "of the compressed file, reading line ");
    assert!((1..=rows as u64 + 2).contains(&line), "{line}");
    assert_nothing_raw_echoed(&out);
    // The good file stays; nothing of the damaged one, not even its sensor.
    assert_eq!(case.count("SELECT count(*) FROM readings"), 1);
    assert_eq!(case.count("SELECT count(*) FROM sensors"), 1);
}

#[test]
fn a_gzip_with_a_damaged_header_exits_2_before_reading_a_row() {
    let mut damaged = gzip(long_csv(10).as_bytes());
    // Compression method 8 (deflate) is the only one gzip defines.
    damaged[2] = 7;
    let case = Case::new("header.csv.gz", &damaged);
    let out = case.import(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let prefix = format!(
        "floorwatch: {}: corrupt gzip data (invalid gzip header) at byte ",
        case.file.display()
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(stderr.ends_with(" of the compressed file\n"), "{stderr}");
    assert_eq!(case.count("SELECT count(*) FROM readings"), 0);
}

/// The control bytes a text file has no use for, counted independently.
fn control_bytes(window: &[u8]) -> (usize, usize) {
    let is_control = |b: u8| b < 0x20 && !b"\t\n\x0b\x0c\r".contains(&b) || b == 0x7F;
    let n = window.iter().filter(|&&b| is_control(b)).count();
    let first = window.iter().position(|&b| is_control(b)).unwrap();
    (n, first)
}

#[test]
fn a_binary_file_is_not_a_csv_file_exit_2_with_no_byte_of_it_echoed() {
    // Pseudo-random bytes, gzipped; then the floorwatch executable itself.
    let mut random = Vec::with_capacity(8192);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..8192 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        random.push((x >> 24) as u8);
    }
    let case = Case::new("noise.csv.gz", gzip(&random));
    let (db, gz) = (&case.db, &case.file);
    let exe = csv_support::floorwatch_bin();
    let exe_bytes = std::fs::read(&exe).unwrap();
    for (file, text_start) in [
        (exe.as_path(), &exe_bytes[..4096]),
        (gz.as_path(), &random[..4096]),
    ] {
        let out = import(db, &[file.to_str().unwrap()]);
        let (n, first) = control_bytes(text_start);
        assert_bad_input(
            &out,
            &format!(
                "floorwatch: {}: not a CSV file: binary data ({n} of its first 4096 bytes are control characters, the first 0x{:02X} at byte {first}); expected text with a header row like timestamp,sensor,value\n",
                file.display(),
                text_start[first]
            ),
        );
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        assert_nothing_raw_echoed(&out);
    }
    assert_eq!(case.count("SELECT count(*) FROM readings"), 0);
    assert_eq!(case.count("SELECT count(*) FROM sensors"), 0);
}

#[test]
fn nul_control_or_invalid_utf8_sensor_ids_are_bad_rows_and_create_no_sensor() {
    let case = Case::new(
        "ids.csv",
        b"timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,temp-001,1\n\
        2025-10-02T12:00:01Z,te\0mp,2\n\
        2025-10-02T12:00:02Z,\xC3(x,3\n\
        2025-10-02T12:00:03Z,\x1b[2Jwipe,4\n\
        2025-10-02T12:00:04Z,temp-002,5\n",
    );
    let out = case.import(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let name = case.file.display();
    let expected = [
        format!(
            "{name}:3:22: expected a sensor id of printable text in column \"sensor\", found \"te\\0mp\" (control character U+0000 at character 3)"
        ),
        format!(
            "{name}:4:22: expected a sensor id of printable text in column \"sensor\", found \"\\xC3(x\" (byte 0xC3 at character 1 is not UTF-8 text)"
        ),
        format!(
            "{name}:5:22: expected a sensor id of printable text in column \"sensor\", found \"\\u{{1b}}[2Jwipe\" (control character U+001B at character 1)"
        ),
    ];
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");
    assert!(
        text(&out.stdout).contains(
            "5 rows read, 2 readings for 2 sensors: 2 new, 0 already stored, 0 updated; 0 missing values skipped, 3 bad rows skipped (3 sensor id not printable text)"
        ),
        "{}",
        text(&out.stdout)
    );
    assert_nothing_raw_echoed(&out);
    let tags: String = rusqlite::Connection::open(&case.db)
        .unwrap()
        .query_row(
            "SELECT group_concat(tag, ',') FROM (SELECT tag FROM sensors ORDER BY tag)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tags, "temp-001,temp-002");
    assert_eq!(case.count("SELECT count(*) FROM readings"), 2);
}

#[test]
fn a_wide_header_that_cannot_name_a_sensor_is_bad_input_at_its_column() {
    let csv = "timestamp,temp,pre\0ss\n2025-10-02T12:00:00Z,1,2\n";
    let case = Case::new("wide.csv", csv);
    assert_bad_input(
        &case.import(&[]),
        &format!(
            "floorwatch: {}: header \"pre\\0ss\" of column 3 cannot name a sensor: control character U+0000 at character 4; fix the header, or read the other columns with --map COL=SENSOR\n",
            position_of(&case.file, csv, "pre")
        ),
    );
    assert_eq!(case.count("SELECT count(*) FROM sensors"), 0);
    // Mapping the good column reads it.
    let out = case.import(&["--map", "temp=line.temp"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(case.count("SELECT count(*) FROM readings"), 1);
    assert_eq!(case.count("SELECT count(*) FROM sensors"), 1);
}

#[test]
fn an_unterminated_quote_is_named_where_it_opened_and_the_rows_before_it_are_kept() {
    let csv = "timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        2025-10-02T12:00:01Z,a,2\n\
        2025-10-02T12:00:02Z,\"b,3\n\
        2025-10-02T12:00:03Z,a,4\n\
        2025-10-02T12:00:04Z,a,5\n";
    let case = Case::new("quote.csv", csv);
    assert_bad_input(
        &case.import(&[]),
        &format!(
            "floorwatch: {}: unterminated quote: the quoted field that starts here runs on over line breaks to line 6, the end of the file, taking the rows in between with it; close the quote (a quote inside a quoted field is written \"\") (the 2 rows before it were imported: 2 new, 0 already stored, 0 updated)\n",
            position_of(&case.file, csv, "\"b,3")
        ),
    );
    assert_eq!(case.count("SELECT count(*) FROM readings"), 2);
    assert_eq!(
        case.count("SELECT count(*) FROM readings WHERE value > 2"),
        0
    );

    // --strict: nothing from the file.
    let strict_db = case.dir.path().join("strict.sqlite");
    let out = import(&strict_db, &["--strict", case.file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).ends_with(" (--strict: nothing from this file was stored)\n"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&strict_db, "SELECT count(*) FROM readings"), 0);
}

#[test]
fn control_bytes_of_a_header_are_escaped_in_bad_row_messages() {
    let case = Case::new("esc.csv", "\x1b]0;pwned\x07when,v\nyesterday,1\n");
    let out = case.import(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:2:1: expected a timestamp in column \"\\u{{1b}}]0;pwned\\u{{7}}when\" (RFC 3339, YYYY-MM-DD HH:MM[:SS], DD/MM/YYYY or MM/DD/YYYY with --date-format, epoch s/ms), found \"yesterday\"\n",
            case.file.display()
        )
    );
    assert_nothing_raw_echoed(&out);
}
