//! Streaming CSV → [`Reading`]s. One row at a time, constant memory; a bad
//! row is reported with its `file:line:col` and skipped, never guessed at.

mod input;
mod messages;
mod outcome;
mod peek;
mod quotes;

pub use input::{BoxRead, MAX_RECORD_BYTES};
pub use outcome::{BadRow, RawReading, ReadStats, Reason, RowOutcome};

use super::layout::{self, Columns, Shape, TimeColumns};
use super::timestamp::{DateOrder, TimeError, TimeParser};
use super::value::{self, DecimalMark, Value};
use super::{CsvError, CsvOptions, escape, sniff};
use crate::model::{Quality, Reading, SensorId, SensorMeta};
use csv::ByteRecord;
// FNV-1a: sensor ids are short and come from the file being imported, so a
// fast non-keyed hash is enough (no untrusted-input DoS concern for a CLI import).
use fnv::FnvHashMap as FnvMap;
use messages::{io_error, shown};
use peek::{Peek, csv_builder};
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct CsvReader {
    name: String,
    csv: csv::Reader<BoxRead>,
    columns: Columns,
    mark: DecimalMark,
    time: TimeParser,
    /// The time column's header(s), quoted and escaped for messages.
    time_label: String,
    record: ByteRecord,
    /// Long files: sensor id as written → index in `sensors`.
    long_ids: FnvMap<Box<[u8]>, u32>,
    /// Every sensor of the file so far; [`RawReading::sensor`] indexes it.
    sensors: Vec<SensorId>,
    new_sensors: Vec<SensorMeta>,
    scratch: Vec<RawReading>,
    known: Option<std::collections::HashSet<String>>,
    tz: chrono_tz::Tz,
    stats: ReadStats,
    delimiter: u8,
    bytes: Arc<AtomicU64>,
    compressed: bool,
    /// Byte offset of the record being read, for [`input::RecordLimit`].
    record_start: Arc<AtomicU64>,
}

impl CsvReader {
    /// Opens a file; gzip (by its magic bytes) is decompressed on the fly.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<Self, CsvError> {
        let name = super::display_name(path);
        let opened = input::open(path).map_err(|source| io_error(&name, source, None))?;
        let mut csv = Self::from_reader(name, opened.reader, options)?;
        csv.bytes = opened.bytes;
        csv.compressed = opened.compressed;
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
            .map_err(|source| io_error(&name, source, None))?;
        if let Some(what) = sniff::not_text(&sample) {
            return Err(CsvError::NotText { file: name, what });
        }
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| sniff::delimiter(&sample));
        let builder = csv_builder(delimiter);
        let whole_file = (sample.len() as u64) < sniff::SAMPLE_BYTES;
        let peek = Peek::read(&name, builder.from_reader(&sample[..]), whole_file, options)?;
        let stream: BoxRead = Box::new(Cursor::new(sample).chain(input));
        let (limited, record_start) = input::RecordLimit::new(stream, options.max_record_bytes);
        let mut csv = builder.from_reader(Box::new(limited) as BoxRead);
        let mut header = ByteRecord::new();
        // Cannot fail differently from the peek, which read the same bytes.
        let _ = csv.read_byte_record(&mut header);
        let mut time = TimeParser::new(options.date_format.clone(), options.tz);
        if let Some(order) = peek.order {
            time.set_order(order);
        }
        let time_label = match peek.columns.time {
            TimeColumns::Single(i) => format!("{:?}", peek.columns.headers[i]),
            TimeColumns::Split { date, time } => format!(
                "{:?} + {:?}",
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
            long_ids: FnvMap::default(),
            sensors: new_sensors.iter().map(|m| m.id.clone()).collect(),
            new_sensors,
            scratch: Vec::new(),
            known: options.known.clone(),
            tz: options.tz,
            stats: ReadStats::default(),
            delimiter,
            bytes: Arc::new(AtomicU64::new(0)),
            compressed: false,
            record_start,
        };
        reader.check_known_columns()?;
        Ok(reader)
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

    /// Whether the file is gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Bytes consumed from the file so far (compressed bytes for gzip).
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A shared counter of [`Self::bytes_read`], for a progress display on another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Sensors seen since the last call (wide files: every column, up front),
    /// in index order: the n-th sensor ever returned is [`RawReading::sensor`] n.
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

    /// The sensor a [`RawReading`] refers to.
    pub fn sensor(&self, index: u32) -> Option<&SensorId> {
        self.sensors.get(index as usize)
    }

    /// Reads the next data row, appending its readings to `out`. `None` at the end.
    pub fn next_row(&mut self, out: &mut Vec<Reading>) -> Result<Option<RowOutcome>, CsvError> {
        let mut raw = std::mem::take(&mut self.scratch);
        raw.clear();
        let outcome = self.next_row_raw(&mut raw);
        out.extend(raw.iter().filter_map(|r| {
            Some(Reading {
                sensor: self.sensor(r.sensor)?.clone(),
                ts: r.ts,
                value: r.value,
                quality: r.quality,
            })
        }));
        self.scratch = raw;
        outcome
    }

    /// [`Self::next_row`] without sensor ids: the import's fast path.
    pub fn next_row_raw(
        &mut self,
        out: &mut Vec<RawReading>,
    ) -> Result<Option<RowOutcome>, CsvError> {
        let start = self.csv.position();
        let record_line = start.line();
        self.record_start.store(start.byte(), Ordering::Relaxed);
        let more = self
            .csv
            .read_byte_record(&mut self.record)
            .map_err(|e| self.read_error(e, record_line))?;
        if !more {
            return Ok(None);
        }
        if self
            .record
            .as_slice()
            .iter()
            .any(|&b| b == b'\n' || b == b'\r')
        {
            self.check_line_breaks()?;
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

    fn parse_row(&mut self, out: &mut Vec<RawReading>) -> Result<usize, BadRow> {
        self.check_field_count()?;
        let ts = self.parse_time()?;
        match &self.columns.shape {
            Shape::Wide(cols) => {
                let mut read = 0;
                let mut missing = 0;
                for (slot, col) in cols.iter().enumerate() {
                    let field = self.record.get(col.index).unwrap_or(b"");
                    match value::parse_value(field, self.mark) {
                        Value::Number(v) => {
                            out.push(RawReading {
                                sensor: slot as u32,
                                ts,
                                value: v,
                                quality: Quality::Good,
                            });
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
                let sensor = self.long_sensor(sensor, unit)?;
                out.push(RawReading {
                    sensor,
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

    fn long_sensor(&mut self, col: usize, unit_col: Option<usize>) -> Result<u32, BadRow> {
        let raw = self.record.get(col).unwrap_or(b"").trim_ascii();
        if let Some(&index) = self.long_ids.get(raw) {
            return Ok(index);
        }
        if let Some(problem) = escape::not_an_id(raw) {
            return Err(self.bad(
                col,
                Reason::BadSensorId,
                format!(
                    "expected a sensor id of printable text in column {:?}, found {} ({problem})",
                    self.columns.headers[col],
                    escape::quoted(raw)
                ),
            ));
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
        let index = self.sensors.len() as u32;
        self.sensors.push(id);
        self.long_ids.insert(raw.into(), index);
        Ok(index)
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
}

#[cfg(test)]
mod tests;
