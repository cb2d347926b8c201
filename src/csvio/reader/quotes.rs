//! Quoted fields that run over line breaks. The CSV parser takes every byte
//! up to the next quote as part of a quoted field, so a quote left open
//! swallows the rows after it into one record. Sensor data has no use for
//! line breaks in a field, so such a record is reported as the unterminated
//! quote it almost always is, where the quote opened, and reading stops
//! there: the rows before it are good, the rest of the file cannot be
//! trusted to be read as it was meant.

use super::super::CsvError;
use super::CsvReader;
use super::messages::field_column;
use csv::ByteRecord;

fn is_line_break(b: &u8) -> bool {
    *b == b'\n' || *b == b'\r'
}

/// The first field of `record` with a line break in it.
fn first_multiline_field(record: &ByteRecord) -> Option<usize> {
    record.iter().position(|f| f.iter().any(is_line_break))
}

/// `file:line:col` of the quote that opened field `index` of `record`
/// (whose first line is `first_line`), and the record's last line.
fn opening_and_end(record: &ByteRecord, index: usize, first_line: u64) -> (u64, usize, u64) {
    let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    let before: u64 = record.iter().take(index).map(newlines).sum();
    let all = record.as_slice();
    // A quote open at the end of the file also took the last line's newline.
    let inside = newlines(all.strip_suffix(b"\n").unwrap_or(all));
    (
        first_line + before,
        field_column(record, index),
        first_line + inside,
    )
}

/// The error for a quote that opened field `index` of `record` and ran on.
fn unterminated(file: &str, record: &ByteRecord, index: usize, at_end: bool) -> CsvError {
    let first_line = record.position().map_or(1, |p| p.line());
    let (line, col, end) = opening_and_end(record, index, first_line);
    let to = if at_end {
        format!("to line {end}, the end of the file")
    } else {
        format!("to line {end}")
    };
    CsvError::FormatAt {
        file: file.to_owned(),
        line,
        col,
        message: format!(
            "unterminated quote: the quoted field that starts here runs on over line breaks {to}, \
             taking the rows in between with it; close the quote (a quote inside a quoted field is written \"\")"
        ),
    }
}

/// The header may not run over lines: the file's columns would be wrong.
pub(super) fn check_header(file: &str, header: &ByteRecord) -> Result<(), CsvError> {
    match first_multiline_field(header) {
        Some(index) => Err(unterminated(file, header, index, false)),
        None => Ok(()),
    }
}

/// Whether a field's text after a line break holds whole rows: a line
/// with as many fields as a row has.
fn holds_rows(field: &[u8], delimiter: u8, fields_per_row: usize) -> bool {
    field
        .split(is_line_break)
        .skip(1)
        .any(|line| line.iter().filter(|&&b| b == delimiter).count() + 1 >= fields_per_row)
}

impl CsvReader {
    /// A record with a line break in a field: fine when it is only in a
    /// column not read (a note), the field count is right and the note's
    /// lines do not look like rows; otherwise an unterminated quote.
    pub(super) fn check_line_breaks(&mut self) -> Result<(), CsvError> {
        let Some(index) = first_multiline_field(&self.record) else {
            return Ok(());
        };
        let used_has_break = self.columns.used().into_iter().any(|i| {
            self.record
                .get(i)
                .is_some_and(|f| f.iter().any(is_line_break))
        });
        let row_fields = self.columns.headers.len();
        let swallowed_rows = self
            .record
            .iter()
            .any(|f| holds_rows(f, self.delimiter, row_fields));
        if !used_has_break && !swallowed_rows && self.check_field_count().is_ok() {
            return Ok(());
        }
        // Reading on only tells whether the quote ran to the end of the file.
        let mut rest = ByteRecord::new();
        let at_end = !self.csv.read_byte_record(&mut rest).unwrap_or(true);
        Err(unterminated(&self.name, &self.record, index, at_end))
    }
}
