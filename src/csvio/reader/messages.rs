//! The bad-row messages: where (file:line:col) and what was found, with
//! the input's control bytes escaped.

use super::super::CsvError;
use super::super::timestamp::TimeError;
use super::super::value::DecimalMark;
use super::input::{GzipError, RecordTooLong};
use super::{BadRow, CsvReader, Reason};

impl CsvReader {
    pub(super) fn not_a_number(&self, col: usize, field: &[u8]) -> BadRow {
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

    pub(super) fn bad_time(&self, col: usize, error: TimeError) -> BadRow {
        let field = self.record.get(col).unwrap_or(b"");
        self.time_error(col, &shown(field), None, error)
    }

    pub(super) fn time_error(
        &self,
        col: usize,
        date: &str,
        time: Option<&str>,
        error: TimeError,
    ) -> BadRow {
        let found = match time {
            Some(t) => format!("{} {}", date.trim(), t.trim()),
            None => date.trim().to_owned(),
        };
        let (reason, message) = match error {
            TimeError::Unreadable => (
                Reason::BadTimestamp,
                format!(
                    "expected a timestamp in column {} (RFC 3339, YYYY-MM-DD HH:MM[:SS], DD/MM/YYYY or MM/DD/YYYY with --date-format, epoch s/ms), found {found:?}",
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

    pub(super) fn bad(&self, col: usize, reason: Reason, message: String) -> BadRow {
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
        field_column(&self.record, index)
    }
}

/// 1-based character column where field `index` of `record` starts (exact
/// when the fields before it are not quoted).
pub(super) fn field_column(record: &csv::ByteRecord, index: usize) -> usize {
    1 + record
        .iter()
        .take(index)
        .map(|f| String::from_utf8_lossy(f).chars().count() + 1)
        .sum::<usize>()
}

pub(super) fn shown(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field.trim_ascii());
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.into_owned()
    }
}

/// Where the parser was when reading failed.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReadAt {
    /// The line the record being read starts on.
    pub record_line: u64,
    /// The line the parser had got to.
    pub line: u64,
}

impl CsvReader {
    /// A read error of the CSV parser while reading the record that starts
    /// on `record_line`.
    pub(super) fn read_error(&self, e: csv::Error, record_line: u64) -> CsvError {
        let source = match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{other:?}")),
        };
        let at = ReadAt {
            record_line,
            line: self.csv.position().line(),
        };
        io_error(&self.name, source, Some(at))
    }
}

/// An I/O error of the input: a gzip fault or a record without end says
/// so, with its position (`at` is `None` while the first sample is read).
pub(super) fn io_error(file: &str, source: std::io::Error, at: Option<ReadAt>) -> CsvError {
    if let Some(gzip) = GzipError::inside(&source) {
        return CsvError::Gzip {
            file: file.to_owned(),
            offset: gzip.offset,
            line: at.map(|at| at.line),
            fault: gzip.fault.clone(),
        };
    }
    match (RecordTooLong::inside(&source), at) {
        (Some(too_long), Some(at)) => CsvError::Format {
            file: file.to_owned(),
            line: at.record_line,
            message: format!(
                "unterminated quote? the record that starts on this line runs on for more than {} MiB, to line {}: close the quote (a quote inside a quoted field is written \"\")",
                too_long.limit >> 20,
                at.line
            ),
        },
        _ => CsvError::Io {
            file: file.to_owned(),
            source,
        },
    }
}
