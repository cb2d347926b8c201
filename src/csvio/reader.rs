//! Streaming CSV → [`Reading`]s. One row at a time, constant memory; a bad
//! row is reported with its `file:line:col` and skipped, never guessed at.

use super::layout::{self, Columns, Shape, TimeColumns};
use super::timestamp::{self, DateFormat, DateOrder, TimeError, TimeParser};
use super::value::{self, DecimalMark, Value};
use super::{CsvError, CsvOptions, sniff};
use crate::model::{Quality, Reading, SensorId, SensorMeta};
use csv::ByteRecord;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a row was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    NotANumber,
    BadTimestamp,
    AmbiguousDate,
    DstGap,
    FieldCount,
    EmptySensor,
    UnknownSensor,
    BadQuality,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::NotANumber => "not a number",
            Reason::BadTimestamp => "bad timestamp",
            Reason::AmbiguousDate => "ambiguous date",
            Reason::DstGap => "time in a DST gap",
            Reason::FieldCount => "wrong number of fields",
            Reason::EmptySensor => "empty sensor id",
            Reason::UnknownSensor => "unknown sensor",
            Reason::BadQuality => "bad quality label",
        }
    }
}

/// A skipped row: where, why, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub file: String,
    pub line: u64,
    pub col: usize,
    pub reason: Reason,
    pub message: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for BadRow {}

/// Counts over the rows read so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Data rows (header excluded), good or bad.
    pub rows: u64,
    pub readings: u64,
    /// Values written as empty, `?`, `NaN`, `null`...: skipped, never stored.
    pub missing: u64,
    /// Rows whose every value was missing (e.g. the UCI file's `?` rows).
    pub empty_rows: u64,
    pub bad: BTreeMap<Reason, u64>,
}

impl ReadStats {
    pub fn bad_rows(&self) -> u64 {
        self.bad.values().sum()
    }
}

/// What one row gave.
#[derive(Clone, Debug, PartialEq)]
pub enum RowOutcome {
    /// This many readings were appended to the output.
    Read(usize),
    Skipped(BadRow),
}

/// Counts bytes taken from the underlying file (compressed bytes for `.gz`),
/// so progress can be shown against the file size.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub type BoxRead = Box<dyn Read + Send>;

pub struct CsvReader {
    name: String,
    csv: csv::Reader<BoxRead>,
    columns: Columns,
    mark: DecimalMark,
    time: TimeParser,
    time_label: String,
    record: ByteRecord,
    long_ids: HashMap<Box<[u8]>, SensorId>,
    new_sensors: Vec<SensorMeta>,
    known: Option<std::collections::HashSet<String>>,
    tz: chrono_tz::Tz,
    stats: ReadStats,
    delimiter: u8,
    bytes: Arc<AtomicU64>,
}

impl CsvReader {
    /// Opens a file; gzip (by its magic bytes) is decompressed on the fly.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<Self, CsvError> {
        let name = super::display_name(path);
        let io = |source| CsvError::Io {
            file: name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = CountingReader {
            inner: file,
            count: bytes.clone(),
        };
        let mut buffered = std::io::BufReader::with_capacity(256 * 1024, counted);
        let is_gzip = std::io::BufRead::fill_buf(&mut buffered)
            .map_err(io)?
            .starts_with(&[0x1f, 0x8b]);
        let reader: BoxRead = if is_gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut csv = Self::from_reader(name, reader, options)?;
        csv.bytes = bytes;
        Ok(csv)
    }

    /// Reads from any byte stream; `name` is used in messages.
    pub fn from_reader(
        name: String,
        mut input: impl Read + Send + 'static,
        options: &CsvOptions,
    ) -> Result<Self, CsvError> {
        let mut sample = Vec::new();
        (&mut input)
            .take(sniff::SAMPLE_BYTES)
            .read_to_end(&mut sample)
            .map_err(|source| CsvError::Io {
                file: name.clone(),
                source,
            })?;
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| sniff::delimiter(&sample));
        let builder = csv_builder(delimiter);
        let whole_file = (sample.len() as u64) < sniff::SAMPLE_BYTES;
        let peek = Peek::read(&name, builder.from_reader(&sample[..]), whole_file, options)?;
        let stream: BoxRead = Box::new(Cursor::new(sample).chain(input));
        let mut csv = builder.from_reader(stream);
        let mut header = ByteRecord::new();
        // Cannot fail differently from the peek, which read the same bytes.
        let _ = csv.read_byte_record(&mut header);
        let mut time = TimeParser::new(options.date_format.clone(), options.tz);
        if let Some(order) = peek.order {
            time.set_order(order);
        }
        let time_label = match peek.columns.time {
            TimeColumns::Single(i) => peek.columns.headers[i].clone(),
            TimeColumns::Split { date, time } => format!(
                "{}\" + \"{}",
                peek.columns.headers[date], peek.columns.headers[time]
            ),
        };
        let new_sensors = match &peek.columns.shape {
            Shape::Wide(cols) => cols
                .iter()
                .map(|c| SensorMeta {
                    id: c.sensor.clone(),
                    name: if c.name.is_empty() {
                        c.sensor.to_string()
                    } else {
                        c.name.clone()
                    },
                    unit: c.unit.clone(),
                    ..Default::default()
                })
                .collect(),
            Shape::Long { .. } => Vec::new(),
        };
        let reader = CsvReader {
            name,
            csv,
            columns: peek.columns,
            mark: peek.mark,
            time,
            time_label,
            record: ByteRecord::new(),
            long_ids: HashMap::new(),
            new_sensors,
            known: options.known.clone(),
            tz: options.tz,
            stats: ReadStats::default(),
            delimiter,
            bytes: Arc::new(AtomicU64::new(0)),
        };
        reader.check_known_columns()?;
        Ok(reader)
    }
}

fn csv_builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024);
    builder
}

/// What the header and the sample rows say about the file.
struct Peek {
    columns: Columns,
    mark: DecimalMark,
    order: Option<DateOrder>,
}

impl Peek {
    fn read(
        name: &str,
        mut csv: csv::Reader<&[u8]>,
        whole_file: bool,
        options: &CsvOptions,
    ) -> Result<Peek, CsvError> {
        let format_error = |line: u64, message: String| CsvError::Format {
            file: name.to_owned(),
            line,
            message,
        };
        let mut header = ByteRecord::new();
        let has_header = csv.read_byte_record(&mut header).unwrap_or(false);
        if !has_header || header.iter().all(|f| f.trim_ascii().is_empty()) {
            return Err(format_error(
                1,
                "expected a header row (e.g. timestamp,sensor,value), found an empty file".into(),
            ));
        }
        let headers: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            .collect();
        let columns = layout::resolve(headers, options).map_err(|e| match e.origin {
            Some(origin) => CsvError::Config {
                origin,
                file: name.to_owned(),
                message: e.message,
            },
            None => format_error(1, e.message),
        })?;
        let mut rows = Vec::new();
        let mut record = ByteRecord::new();
        // A read error here is a row cut off by the sample size.
        while rows.len() < 2000 && csv.read_byte_record(&mut record).unwrap_or(false) {
            rows.push(record.clone());
        }
        // The sample's last record may be cut off mid-row.
        if !whole_file && rows.len() > 1 {
            rows.pop();
        }
        let mark = options
            .decimal
            .unwrap_or_else(|| sniff_mark(&columns, &rows, options.delimiter));
        let order = match options.date_format {
            DateFormat::Auto => sniff_order(&columns, &rows).map_err(|m| format_error(2, m))?,
            _ => None,
        };
        Ok(Peek {
            columns,
            mark,
            order,
        })
    }
}

/// Decimal comma only when the delimiter is not a comma and values look like `21,5`.
fn sniff_mark(columns: &Columns, rows: &[ByteRecord], forced_delimiter: Option<u8>) -> DecimalMark {
    if forced_delimiter == Some(b',') {
        return DecimalMark::Point;
    }
    let value_columns: Vec<usize> = match &columns.shape {
        Shape::Long { value, .. } => vec![*value],
        Shape::Wide(cols) => cols.iter().map(|c| c.index).collect(),
    };
    let comma = rows.iter().any(|row| {
        value_columns
            .iter()
            .any(|&i| row.get(i).is_some_and(value::looks_decimal_comma))
    });
    if comma {
        DecimalMark::Comma
    } else {
        DecimalMark::Point
    }
}

/// The day/month order of `dd/dd/yyyy` dates, proven by a day > 12; an error
/// when the file has such dates and none proves the order.
fn sniff_order(columns: &Columns, rows: &[ByteRecord]) -> Result<Option<DateOrder>, String> {
    let date_col = match columns.time {
        TimeColumns::Single(i) => i,
        TimeColumns::Split { date, .. } => date,
    };
    let mut found: Option<DateOrder> = None;
    let mut example: Option<String> = None;
    for row in rows {
        let Some(text) = row.get(date_col).and_then(|f| std::str::from_utf8(f).ok()) else {
            continue;
        };
        if !timestamp::is_slash_date(text.split(' ').next().unwrap_or(text)) {
            continue;
        }
        example.get_or_insert_with(|| text.trim().to_owned());
        let date_part = text.trim().split(' ').next().unwrap_or("");
        match (found, timestamp::order_evidence(date_part)) {
            (_, None) => {}
            (None, Some(order)) => found = Some(order),
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "dates in column {:?} mix day/month and month/day order: pass --date-format dmy or mdy",
                    columns.headers[date_col]
                ));
            }
            _ => {}
        }
    }
    match (found, example) {
        (Some(order), _) => Ok(Some(order)),
        (None, Some(example)) => Err(format!(
            "dates like {example:?} in column {:?} could be day/month or month/day: pass --date-format dmy or mdy",
            columns.headers[date_col]
        )),
        (None, None) => Ok(None),
    }
}

impl CsvReader {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub fn decimal_mark(&self) -> DecimalMark {
        self.mark
    }

    pub fn date_order(&self) -> Option<DateOrder> {
        self.time.order()
    }

    pub fn layout(&self) -> layout::Layout {
        self.columns.layout()
    }

    /// Bytes consumed from the file so far (compressed bytes for gzip).
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A shared counter of [`Self::bytes_read`], for a progress display on another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Sensors seen since the last call (wide files: every column, up front).
    pub fn take_new_sensors(&mut self) -> Vec<SensorMeta> {
        std::mem::take(&mut self.new_sensors)
    }

    fn check_known_columns(&self) -> Result<(), CsvError> {
        let (Some(known), Shape::Wide(cols)) = (&self.known, &self.columns.shape) else {
            return Ok(());
        };
        let unknown: Vec<String> = cols
            .iter()
            .filter(|c| !known.contains(c.sensor.as_str()))
            .map(|c| format!("{:?} (column {:?})", c.sensor.as_str(), c.header))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(CsvError::Format {
            file: self.name.clone(),
            line: 1,
            message: format!(
                "unknown sensor{} {} and --known-only is set: add them to the config or map the columns with --map",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ),
        })
    }

    /// Reads the next data row, appending its readings to `out`. `None` at the end.
    pub fn next_row(&mut self, out: &mut Vec<Reading>) -> Result<Option<RowOutcome>, CsvError> {
        let more = self
            .csv
            .read_byte_record(&mut self.record)
            .map_err(|e| csv_error(&self.name, e))?;
        if !more {
            return Ok(None);
        }
        self.stats.rows += 1;
        let start = out.len();
        match self.parse_row(out) {
            Ok(n) => {
                self.stats.readings += n as u64;
                Ok(Some(RowOutcome::Read(n)))
            }
            Err(bad) => {
                out.truncate(start);
                *self.stats.bad.entry(bad.reason).or_default() += 1;
                Ok(Some(RowOutcome::Skipped(bad)))
            }
        }
    }

    fn parse_row(&mut self, out: &mut Vec<Reading>) -> Result<usize, BadRow> {
        self.check_field_count()?;
        let ts = self.parse_time()?;
        match &self.columns.shape {
            Shape::Wide(cols) => {
                let mut read = 0;
                let mut missing = 0;
                for col in cols {
                    let field = self.record.get(col.index).unwrap_or(b"");
                    match value::parse_value(field, self.mark) {
                        Value::Number(v) => {
                            out.push(Reading::good(col.sensor.clone(), ts, v));
                            read += 1;
                        }
                        Value::Missing => missing += 1,
                        Value::NotANumber => {
                            return Err(self.not_a_number(col.index, field));
                        }
                    }
                }
                self.stats.missing += missing;
                if read == 0 && missing > 0 {
                    self.stats.empty_rows += 1;
                }
                Ok(read)
            }
            Shape::Long {
                sensor,
                value: value_col,
                unit,
                quality,
            } => {
                let (sensor, value_col, unit, quality) = (*sensor, *value_col, *unit, *quality);
                let field = self.record.get(value_col).unwrap_or(b"");
                let v = match value::parse_value(field, self.mark) {
                    Value::Number(v) => v,
                    Value::Missing => {
                        self.stats.missing += 1;
                        self.stats.empty_rows += 1;
                        return Ok(0);
                    }
                    Value::NotANumber => return Err(self.not_a_number(value_col, field)),
                };
                let quality = match quality {
                    Some(col) => self.quality(col)?,
                    None => Quality::Good,
                };
                let id = self.long_sensor(sensor, unit)?;
                out.push(Reading {
                    sensor: id,
                    ts,
                    value: v,
                    quality,
                });
                Ok(1)
            }
        }
    }

    fn check_field_count(&self) -> Result<(), BadRow> {
        let expected = self.columns.headers.len();
        let found = self.record.len();
        let extra_are_empty = found > expected
            && self
                .record
                .iter()
                .skip(expected)
                .all(|f| f.trim_ascii().is_empty());
        if found == expected || extra_are_empty {
            return Ok(());
        }
        // A short row is only bad when it lacks a column we read.
        let needed = self.columns.used().into_iter().max().unwrap_or(0) + 1;
        if found < expected && found >= needed {
            return Ok(());
        }
        let mut bad = self.bad(found.min(expected), Reason::FieldCount, String::new());
        if found < expected {
            // Just past the last field: where the missing ones should start.
            bad.col -= 1;
        }
        bad.message = format!(
            "expected {expected} fields like the header, found {found}{}",
            if found > expected {
                " (an unquoted value containing the delimiter?)"
            } else {
                ""
            }
        );
        Err(bad)
    }

    fn parse_time(&mut self) -> Result<i64, BadRow> {
        let (first, second) = match self.columns.time {
            TimeColumns::Single(i) => (i, None),
            TimeColumns::Split { date, time } => (date, Some(time)),
        };
        let text = |i: usize| std::str::from_utf8(self.record.get(i).unwrap_or(b"")).ok();
        let (date, time) = match (text(first), second.map(text)) {
            (Some(d), None) => (d, None),
            (Some(d), Some(Some(t))) => (d, Some(t)),
            _ => return Err(self.bad_time(first, TimeError::Unreadable)),
        };
        match self.time.parse(date, time) {
            Ok(ts) => Ok(ts),
            Err(e) => {
                let (date, time) = (date.to_owned(), time.map(str::to_owned));
                Err(self.time_error(first, &date, time.as_deref(), e))
            }
        }
    }

    fn long_sensor(&mut self, col: usize, unit_col: Option<usize>) -> Result<SensorId, BadRow> {
        let raw = self.record.get(col).unwrap_or(b"").trim_ascii();
        if let Some(id) = self.long_ids.get(raw) {
            return Ok(id.clone());
        }
        let text = String::from_utf8_lossy(raw).into_owned();
        if text.is_empty() {
            return Err(self.bad(
                col,
                Reason::EmptySensor,
                format!(
                    "expected a sensor id in column {:?}, found nothing",
                    self.columns.headers[col]
                ),
            ));
        }
        if let Some(known) = &self.known
            && !known.contains(&text)
        {
            return Err(self.bad(
                col,
                Reason::UnknownSensor,
                format!("unknown sensor {text:?} and --known-only is set"),
            ));
        }
        let id = SensorId::new(&text);
        let unit = unit_col
            .and_then(|i| self.record.get(i))
            .map(|u| String::from_utf8_lossy(u.trim_ascii()).into_owned())
            .unwrap_or_default();
        self.new_sensors.push(SensorMeta {
            id: id.clone(),
            name: text,
            unit,
            ..Default::default()
        });
        self.long_ids.insert(raw.into(), id.clone());
        Ok(id)
    }

    /// A quality cell: a label as `export readings` writes it; empty is good.
    fn quality(&self, col: usize) -> Result<Quality, BadRow> {
        let field = self.record.get(col).unwrap_or(b"");
        if field.trim_ascii().is_empty() {
            return Ok(Quality::Good);
        }
        Quality::from_label(field).ok_or_else(|| {
            self.bad(
                col,
                Reason::BadQuality,
                format!(
                    "expected a quality (good, bad or stale) in column {:?}, found {:?}",
                    self.columns.headers[col],
                    shown(field)
                ),
            )
        })
    }

    fn not_a_number(&self, col: usize, field: &[u8]) -> BadRow {
        let expected = match self.mark {
            DecimalMark::Point => "a number",
            DecimalMark::Comma => "a number with a decimal comma",
        };
        self.bad(
            col,
            Reason::NotANumber,
            format!(
                "expected {expected} in column {:?}, found {:?}",
                self.columns.headers[col],
                shown(field)
            ),
        )
    }

    fn bad_time(&self, col: usize, error: TimeError) -> BadRow {
        let field = self.record.get(col).unwrap_or(b"");
        self.time_error(col, &shown(field), None, error)
    }

    fn time_error(&self, col: usize, date: &str, time: Option<&str>, error: TimeError) -> BadRow {
        let found = match time {
            Some(t) => format!("{} {}", date.trim(), t.trim()),
            None => date.trim().to_owned(),
        };
        let (reason, message) = match error {
            TimeError::Unreadable => (
                Reason::BadTimestamp,
                format!(
                    "expected a timestamp in column \"{}\" (RFC 3339, YYYY-MM-DD HH:MM[:SS], DD/MM/YYYY or MM/DD/YYYY with --date-format, epoch s/ms), found {found:?}",
                    self.time_label
                ),
            ),
            TimeError::AmbiguousOrder => (
                Reason::AmbiguousDate,
                format!(
                    "date {found:?} could be day/month or month/day: pass --date-format dmy or mdy"
                ),
            ),
            TimeError::Nonexistent => (
                Reason::DstGap,
                format!(
                    "local time {found:?} does not exist in {} (skipped by the DST change); pass --tz if the file is in another zone",
                    self.time_zone_name()
                ),
            ),
        };
        self.bad(col, reason, message)
    }

    fn time_zone_name(&self) -> &'static str {
        self.tz.name()
    }

    fn bad(&self, col: usize, reason: Reason, message: String) -> BadRow {
        BadRow {
            file: self.name.clone(),
            line: self.record.position().map_or(0, |p| p.line()),
            col: self.column_of(col),
            reason,
            message,
        }
    }

    /// 1-based character column where field `index` starts (exact for unquoted rows).
    fn column_of(&self, index: usize) -> usize {
        1 + self
            .record
            .iter()
            .take(index)
            .map(|f| String::from_utf8_lossy(f).chars().count() + 1)
            .sum::<usize>()
    }
}

fn shown(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field.trim_ascii());
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.into_owned()
    }
}

fn csv_error(file: &str, e: csv::Error) -> CsvError {
    let source = match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{other:?}")),
    };
    CsvError::Io {
        file: file.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csvio::ColumnMap;

    struct Read {
        readings: Vec<Reading>,
        bad: Vec<BadRow>,
        stats: ReadStats,
    }

    fn read(text: &[u8], options: &CsvOptions) -> Result<Read, CsvError> {
        let mut reader =
            CsvReader::from_reader("t.csv".into(), Cursor::new(text.to_vec()), options)?;
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
        let text = "timestamp,sensor,value,unit\n2025-10-02T12:00:00Z,t,1,°C\n2025-10-02T12:00:01Z,t,2,°C\n";
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
}
