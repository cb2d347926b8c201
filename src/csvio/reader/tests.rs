use super::*;
use crate::csvio::ColumnMap;
use crate::csvio::timestamp::DateFormat;
use crate::model::Quality;

struct Read {
    readings: Vec<Reading>,
    bad: Vec<BadRow>,
    stats: ReadStats,
}

fn read(text: &[u8], options: &CsvOptions) -> Result<Read, CsvError> {
    let mut reader = CsvReader::from_reader("t.csv".into(), Cursor::new(text.to_vec()), options)?;
    let mut readings = Vec::new();
    let mut bad = Vec::new();
    while let Some(outcome) = reader.next_row(&mut readings)? {
        if let RowOutcome::Skipped(row) = outcome {
            bad.push(row);
        }
    }
    Ok(Read {
        readings,
        bad,
        stats: reader.stats().clone(),
    })
}

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn triples(readings: &[Reading]) -> Vec<(String, i64, f64)> {
    readings
        .iter()
        .map(|r| (r.sensor.to_string(), r.ts, r.value))
        .collect()
}

#[test]
fn long_layout_with_units_and_quotes() {
    let text = b"timestamp,sensor,value,unit\n\
        2025-10-02T12:00:00Z,temp-001,36.2,\"\xC2\xB0C\"\n\
        \"2025-10-02T12:00:01Z\",\"vib, line 1\",5.5,mm/s\n";
    let r = read(text, &CsvOptions::default()).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![
            ("temp-001".into(), ms("2025-10-02T12:00:00Z"), 36.2),
            ("vib, line 1".into(), ms("2025-10-02T12:00:01Z"), 5.5),
        ]
    );
    assert!(r.bad.is_empty());
}

#[test]
fn long_layout_keeps_the_quality_column() {
    let text = b"timestamp,sensor,value,unit,quality\n\
        2025-10-02T12:00:00Z,a,1,V,good\n\
        2025-10-02T12:00:01Z,a,2,V,BAD\n\
        2025-10-02T12:00:02Z,a,3,V,stale\n\
        2025-10-02T12:00:03Z,a,4,V,\n\
        2025-10-02T12:00:04Z,a,5,V,dubious\n";
    let r = read(text, &CsvOptions::default()).unwrap();
    let got: Vec<(f64, Quality)> = r.readings.iter().map(|r| (r.value, r.quality)).collect();
    assert_eq!(
        got,
        vec![
            (1.0, Quality::Good),
            (2.0, Quality::Bad),
            (3.0, Quality::Stale),
            (4.0, Quality::Good),
        ]
    );
    assert_eq!(
        r.bad[0].to_string(),
        "t.csv:6:28: expected a quality (good, bad or stale) in column \"quality\", found \"dubious\""
    );
    assert_eq!(r.stats.bad.get(&Reason::BadQuality), Some(&1));
}

#[test]
fn long_layout_reports_units_of_new_sensors() {
    let text =
        "timestamp,sensor,value,unit\n2025-10-02T12:00:00Z,t,1,°C\n2025-10-02T12:00:01Z,t,2,°C\n";
    let mut reader = CsvReader::from_reader(
        "t".into(),
        Cursor::new(text.as_bytes().to_vec()),
        &CsvOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    while reader.next_row(&mut out).unwrap().is_some() {}
    let metas = reader.take_new_sensors();
    assert_eq!(metas.len(), 1);
    assert_eq!((metas[0].id.as_str(), metas[0].unit.as_str()), ("t", "°C"));
}

#[test]
fn wide_semicolon_decimal_comma_bom_and_missing_values() {
    let text = "\u{feff}timestamp;temp;power\r\n\
        2025-01-15 08:00;21,5;3,25\r\n\
        2025-01-15 08:15;;NaN\r\n\
        2025-01-15 08:30;?;-0,5\r\n";
    let options = CsvOptions {
        tz: chrono_tz::Europe::Berlin,
        ..Default::default()
    };
    let r = read(text.as_bytes(), &options).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![
            ("temp".into(), ms("2025-01-15T07:00:00Z"), 21.5),
            ("power".into(), ms("2025-01-15T07:00:00Z"), 3.25),
            ("power".into(), ms("2025-01-15T07:30:00Z"), -0.5),
        ]
    );
    assert_eq!(r.stats.missing, 3);
    assert_eq!(r.stats.empty_rows, 1);
    assert_eq!(r.stats.rows, 3);
}

#[test]
fn tab_delimited_epoch_millis() {
    let text = b"ts\ta\tb\n1759406400000\t1\t2\n1759406401000\t3\tnull\n";
    let r = read(text, &CsvOptions::default()).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![
            ("a".into(), 1_759_406_400_000, 1.0),
            ("b".into(), 1_759_406_400_000, 2.0),
            ("a".into(), 1_759_406_401_000, 3.0),
        ]
    );
    assert_eq!(r.stats.missing, 1);
}

#[test]
fn split_date_time_proves_day_first_from_the_data() {
    let text = b"Date;Time;Voltage\n01/12/2006;17:24:00;234.840\n16/12/2006;17:25:00;233.630\n";
    let options = CsvOptions {
        tz: chrono_tz::Europe::Paris,
        ..Default::default()
    };
    let r = read(text, &options).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![
            ("Voltage".into(), ms("2006-12-01T16:24:00Z"), 234.84),
            ("Voltage".into(), ms("2006-12-16T16:25:00Z"), 233.63),
        ]
    );
}

#[test]
fn ambiguous_slash_dates_need_an_explicit_order() {
    let text = b"date,v\n01/02/2024 10:00,1\n03/04/2024 10:00,2\n";
    let err = read(text, &CsvOptions::default()).err().unwrap();
    assert!(
        err.to_string()
            .contains("could be day/month or month/day: pass --date-format dmy or mdy"),
        "{err}"
    );
    let mdy = CsvOptions {
        date_format: DateFormat::Order(DateOrder::MonthFirst),
        ..Default::default()
    };
    let r = read(text, &mdy).unwrap();
    assert_eq!(r.readings[0].ts, ms("2024-01-02T10:00:00Z"));
    assert_eq!(r.readings[1].ts, ms("2024-03-04T10:00:00Z"));
}

#[test]
fn bad_number_names_file_line_column_and_value() {
    let text = b"Date;Time;Global_active_power;Voltage\n\
        16/12/2006;17:24:00;4.216;234.840\n\
        16/12/2006;17:25:00;5.360;23O.1\n\
        16/12/2006;17:26:00;5.374;233.290\n";
    let r = read(text, &CsvOptions::default()).unwrap();
    assert_eq!(r.bad.len(), 1);
    assert_eq!(
        r.bad[0].to_string(),
        "t.csv:3:27: expected a number in column \"Voltage\", found \"23O.1\""
    );
    // The bad row's good value is not stored either: rows are all or nothing.
    assert_eq!(r.readings.len(), 4);
    assert_eq!(r.stats.bad.get(&Reason::NotANumber), Some(&1));
}

#[test]
fn bad_timestamps_field_counts_and_empty_sensors_are_counted() {
    let text = b"timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        yesterday,a,2\n\
        2025-10-02T12:00:02Z,a\n\
        2025-10-02T12:00:03Z,,4\n\
        2025-10-02T12:00:04Z,a,5,6\n\
        2025-10-02T12:00:05Z,a,6\n";
    let r = read(text, &CsvOptions::default()).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![
            ("a".into(), ms("2025-10-02T12:00:00Z"), 1.0),
            ("a".into(), ms("2025-10-02T12:00:05Z"), 6.0),
        ]
    );
    let reasons: Vec<_> = r.bad.iter().map(|b| (b.line, b.col, b.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (3, 1, Reason::BadTimestamp),
            (4, 23, Reason::FieldCount),
            (5, 22, Reason::EmptySensor),
            (6, 26, Reason::FieldCount),
        ]
    );
    assert!(
        r.bad[0].message.contains("found \"yesterday\""),
        "{}",
        r.bad[0]
    );
}

#[test]
fn dst_gap_rows_are_skipped_with_the_zone_named() {
    let text = b"timestamp,v\n2025-03-30 01:30,1\n2025-03-30 02:30,2\n2025-03-30 03:30,3\n";
    let options = CsvOptions {
        tz: chrono_tz::Europe::Paris,
        ..Default::default()
    };
    let r = read(text, &options).unwrap();
    assert_eq!(r.readings.len(), 2);
    assert_eq!(r.bad[0].reason, Reason::DstGap);
    assert!(r.bad[0].message.contains("Europe/Paris"), "{}", r.bad[0]);
}

#[test]
fn known_only_rejects_unknown_sensors() {
    let options = CsvOptions {
        known: Some(["a".to_string()].into_iter().collect()),
        ..Default::default()
    };
    let text = b"timestamp,sensor,value\n2025-10-02T12:00:00Z,a,1\n2025-10-02T12:00:01Z,b,2\n";
    let r = read(text, &options).unwrap();
    assert_eq!(r.readings.len(), 1);
    assert_eq!(r.bad[0].reason, Reason::UnknownSensor);
    let wide = b"timestamp,a,b\n2025-10-02T12:00:00Z,1,2\n";
    let err = read(wide, &options).err().unwrap().to_string();
    assert!(err.contains("unknown sensor \"b\""), "{err}");
}

#[test]
fn mapping_renames_and_selects_columns() {
    let options = CsvOptions {
        map: vec![ColumnMap {
            column: "Voltage".into(),
            sensor: "house.voltage".into(),
            unit: Some("V".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let text = b"timestamp,Voltage,junk\n2025-10-02T12:00:00Z,230.5,not-a-number\n";
    let r = read(text, &options).unwrap();
    assert_eq!(
        triples(&r.readings),
        vec![("house.voltage".into(), ms("2025-10-02T12:00:00Z"), 230.5)]
    );
}

#[test]
fn explicit_delimiter_and_decimal_override_sniffing() {
    let options = CsvOptions {
        delimiter: Some(b'|'),
        decimal: Some(DecimalMark::Comma),
        ..Default::default()
    };
    let r = read(b"timestamp|v\n2025-10-02T12:00:00Z|1,5\n", &options).unwrap();
    assert_eq!(r.readings[0].value, 1.5);
}

#[test]
fn empty_input_is_a_format_error() {
    for text in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
        let err = read(text, &CsvOptions::default()).err().unwrap();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("expected a header row"), "{err}");
    }
}

#[test]
fn gzip_is_detected_by_its_magic_bytes() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(b"timestamp,sensor,value\n2025-10-02T12:00:00Z,a,1.25\n")
        .unwrap();
    gz.finish().unwrap();
    let mut reader = CsvReader::open(&path, &CsvOptions::default()).unwrap();
    let mut out = Vec::new();
    while reader.next_row(&mut out).unwrap().is_some() {}
    assert_eq!(
        triples(&out),
        vec![("a".into(), ms("2025-10-02T12:00:00Z"), 1.25)]
    );
    assert!(reader.bytes_read() > 0);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = read(&bytes, &CsvOptions::default());
    }

    #[test]
    fn never_panics_on_csv_like_text(text in "[0-9a-z,;\t\"?./:TZ +\n-]{0,400}") {
        let _ = read(text.as_bytes(), &CsvOptions::default());
        let dmy = CsvOptions { date_format: DateFormat::Order(DateOrder::DayFirst), ..Default::default() };
        let _ = read(text.as_bytes(), &dmy);
    }

    #[test]
    fn written_values_read_back_exactly(values in proptest::collection::vec(-1e9f64..1e9, 1..50)) {
        let mut text = String::from("timestamp,sensor,value\n");
        for (i, v) in values.iter().enumerate() {
            text.push_str(&format!("{},s,{v}\n", 1_700_000_000_000i64 + i as i64 * 1000));
        }
        let r = read(text.as_bytes(), &CsvOptions::default()).unwrap();
        let got: Vec<f64> = r.readings.iter().map(|r| r.value).collect();
        proptest::prop_assert_eq!(got, values);
    }
}

#[test]
fn sensor_ids_with_control_characters_or_bad_utf8_are_bad_rows_naming_no_sensor() {
    let text = b"timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        2025-10-02T12:00:01Z,a\0b,2\n\
        2025-10-02T12:00:02Z,\xFFx,3\n\
        2025-10-02T12:00:03Z,c,4\n";
    let mut reader = CsvReader::from_reader(
        "t.csv".into(),
        Cursor::new(text.to_vec()),
        &CsvOptions::default(),
    )
    .unwrap();
    let (mut readings, mut bad) = (Vec::new(), Vec::new());
    while let Some(outcome) = reader.next_row(&mut readings).unwrap() {
        if let RowOutcome::Skipped(row) = outcome {
            bad.push(row.to_string());
        }
    }
    assert_eq!(
        bad,
        [
            "t.csv:3:22: expected a sensor id of printable text in column \"sensor\", found \"a\\0b\" (control character U+0000 at character 2)",
            "t.csv:4:22: expected a sensor id of printable text in column \"sensor\", found \"\\xFFx\" (byte 0xFF at character 1 is not UTF-8 text)",
        ]
    );
    let ids: Vec<String> = reader
        .take_new_sensors()
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(readings.len(), 2);
    assert_eq!(reader.stats().bad.get(&Reason::BadSensorId), Some(&2));
}

/// The readings before the error, and the error.
fn read_until_error(text: &str) -> (Vec<Reading>, CsvError) {
    let mut reader = CsvReader::from_reader(
        "t.csv".into(),
        Cursor::new(text.as_bytes().to_vec()),
        &CsvOptions::default(),
    )
    .unwrap();
    let mut readings = Vec::new();
    loop {
        match reader.next_row(&mut readings) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error in {text:?}"),
            Err(e) => return (readings, e),
        }
    }
}

#[test]
fn an_unterminated_quote_stops_reading_where_it_opened() {
    let to_the_end = "timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        2025-10-02T12:00:01Z,\"b,2\n\
        2025-10-02T12:00:02Z,a,3\n";
    let (readings, e) = read_until_error(to_the_end);
    assert_eq!(readings.len(), 1);
    assert_eq!(
        e.to_string(),
        "t.csv:3:22: unterminated quote: the quoted field that starts here runs on over line breaks to line 4, the end of the file, taking the rows in between with it; close the quote (a quote inside a quoted field is written \"\")"
    );
    assert!(e.is_bad_input());
    // A later quote closes it: the field count comes out right, but the
    // sensor id holds the swallowed rows.
    let closed_later = "timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        \"2025-10-02T12:00:01Z\",\"b,2\n\
        2025-10-02T12:00:02Z,a,3\n\
        2025-10-02T12:00:03Z,\"c\",4\n\
        2025-10-02T12:00:04Z,a,5\n";
    let (readings, e) = read_until_error(closed_later);
    assert_eq!(readings.len(), 1);
    // Column 24 on the text: the quotes of the field before are not counted (22).
    assert!(
        e.to_string()
            .starts_with("t.csv:3:22: unterminated quote: the quoted field that starts here runs on over line breaks to line 5, taking"),
        "{e}"
    );
    let header = "timestamp,\"sensor,value\n2025-10-02T12:00:00Z,a,1\n";
    let (_, e) = CsvReader::from_reader(
        "t.csv".into(),
        Cursor::new(header.as_bytes().to_vec()),
        &CsvOptions::default(),
    )
    .err()
    .map(|e| ((), e))
    .unwrap();
    assert!(
        e.to_string().starts_with("t.csv:1:11: unterminated quote"),
        "{e}"
    );
}

#[test]
fn a_quote_left_open_in_a_note_column_does_not_hide_the_rows_it_swallows() {
    // The note's quote closes at the next row's note: the field count and
    // the columns read come out right, but the note holds two whole rows.
    let text = "timestamp,sensor,value,note\n\
        2025-10-02T12:00:00Z,a,1,\"oops\n\
        2025-10-02T12:00:01Z,a,2,fine\n\
        2025-10-02T12:00:02Z,a,3,\"x\"\n\
        2025-10-02T12:00:03Z,a,4,\n";
    let (readings, e) = read_until_error(text);
    assert_eq!(readings.len(), 0);
    assert!(
        e.to_string().starts_with(
            "t.csv:2:26: unterminated quote: the quoted field that starts here runs on over line breaks to line 4, taking"
        ),
        "{e}"
    );
}

#[test]
fn a_quoted_note_over_two_lines_in_a_column_not_read_is_fine() {
    let text = "timestamp,sensor,value,note\n\
        2025-10-02T12:00:00Z,a,1,\"pump restarted,\nsee log\"\n\
        2025-10-02T12:00:01Z,a,2,\n";
    let r = read(text.as_bytes(), &CsvOptions::default()).unwrap();
    assert_eq!(r.readings.len(), 2);
    assert!(r.bad.is_empty());
}

#[test]
fn wide_headers_name_sensors_only_when_they_are_printable_text() {
    let err = read(
        b"timestamp,temp,\xFFpress\n2025-10-02T12:00:00Z,1,2\n",
        &CsvOptions::default(),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "t.csv:1:16: header \"\\xFFpress\" of column 3 cannot name a sensor: byte 0xFF at character 1 is not UTF-8 text; fix the header, or read the other columns with --map COL=SENSOR"
    );
}

/// `csv` gzipped, with `damage` applied to the compressed bytes, read to an error.
fn read_damaged_gzip(csv: &str, damage: impl Fn(&mut Vec<u8>)) -> CsvError {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let mut bytes = gz.finish().unwrap();
    damage(&mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv.gz");
    std::fs::write(&path, &bytes).unwrap();
    let mut reader = match CsvReader::open(&path, &CsvOptions::default()) {
        Ok(reader) => reader,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    loop {
        if let Err(e) = reader.next_row(&mut out) {
            return e;
        }
    }
}

#[test]
fn gzip_faults_say_corrupt_or_cut_off_and_where() {
    let mut csv = String::from("timestamp,sensor,value\n");
    for i in 0..200_000i64 {
        csv.push_str(&format!("{},s,{i}\n", 1_700_000_000_000 + i * 1000));
    }
    let len = std::cell::Cell::new(0);
    let cut = read_damaged_gzip(&csv, |b| {
        b.truncate(b.len() - 100);
        len.set(b.len() as u64);
    });
    let CsvError::Gzip {
        offset,
        line,
        fault,
        ..
    } = &cut
    else {
        panic!("{cut}")
    };
    assert_eq!(*fault, crate::csvio::GzipFault::CutOff);
    assert_eq!(*offset, len.get());
    assert!(line.is_some_and(|l| l > 190_000), "{cut}");
    assert!(cut.is_bad_input() && !cut.taints_what_was_read());

    // Past what the first sample decompresses from.
    let at = std::cell::Cell::new(0);
    let corrupt = read_damaged_gzip(&csv, |b| {
        at.set(b.len() / 2);
        b[at.get()..at.get() + 100].fill(0xAA);
        len.set(b.len() as u64);
    });
    let CsvError::Gzip { offset, fault, .. } = &corrupt else {
        panic!("{corrupt}")
    };
    assert!(
        matches!(fault, crate::csvio::GzipFault::Corrupt(_)),
        "{corrupt}"
    );
    assert!((at.get() as u64..=len.get()).contains(offset), "{corrupt}");
    assert!(corrupt.is_bad_input() && corrupt.taints_what_was_read());
}

/// `head`, then `row` again and again, without end.
struct Endless {
    head: Cursor<Vec<u8>>,
    row: &'static [u8],
    at: usize,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        for b in buf.iter_mut() {
            *b = self.row[self.at];
            self.at = (self.at + 1) % self.row.len();
        }
        Ok(buf.len())
    }
}

#[test]
fn a_quote_left_open_stops_at_the_record_limit_not_at_the_end_of_the_file() {
    let head = "timestamp,sensor,value\n\
        2025-10-02T12:00:00Z,a,1\n\
        2025-10-02T12:00:01Z,\"b,2\n";
    let endless = Endless {
        head: Cursor::new(head.as_bytes().to_vec()),
        row: b"2025-10-02T12:00:02Z,a,3\n",
        at: 0,
    };
    let options = CsvOptions {
        max_record_bytes: 1 << 20,
        ..Default::default()
    };
    let mut reader = CsvReader::from_reader("t.csv".into(), endless, &options).unwrap();
    let mut readings = Vec::new();
    let e = loop {
        if let Err(e) = reader.next_row(&mut readings) {
            break e;
        }
    };
    assert!(
        e.to_string().starts_with(
            "t.csv:3: unterminated quote? the record that starts on this line runs on for more than 1 MiB, to line "
        ),
        "{e}"
    );
    assert!(e.is_bad_input());
    assert_eq!(readings.len(), 1);
}
