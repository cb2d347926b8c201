//! What the header and the first rows say about a file: its columns, decimal
//! mark and date order.

use super::super::layout::{self, Columns, Shape, TimeColumns};
use super::super::timestamp::{self, DateFormat, DateOrder};
use super::super::value::{self, DecimalMark};
use super::super::{CsvError, CsvOptions, escape};
use super::messages::field_column;
use csv::ByteRecord;

pub(super) fn csv_builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024);
    builder
}

/// What the header and the sample rows say about the file.
pub(super) struct Peek {
    pub columns: Columns,
    pub mark: DecimalMark,
    pub order: Option<DateOrder>,
}

impl Peek {
    pub fn read(
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
        super::quotes::check_header(name, &header)?;
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
        // Mapped columns are named by the mapping, not by their header.
        if options.map.is_empty() {
            check_header_ids(name, &header, &columns)?;
        }
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
            DateFormat::Auto => {
                sniff_order(&columns, &rows).map_err(|e| format_error(2, e.to_string()))?
            }
            _ => None,
        };
        Ok(Peek {
            columns,
            mark,
            order,
        })
    }
}

/// Wide files name their sensors by the headers: each must be printable
/// text (not binary, no NUL), or the file is not understood.
fn check_header_ids(name: &str, header: &ByteRecord, columns: &Columns) -> Result<(), CsvError> {
    let Shape::Wide(cols) = &columns.shape else {
        return Ok(());
    };
    for col in cols {
        let raw = header.get(col.index).unwrap_or(b"").trim_ascii();
        if let Some(problem) = escape::not_an_id(raw) {
            return Err(CsvError::FormatAt {
                file: name.to_owned(),
                line: 1,
                col: field_column(header, col.index),
                message: format!(
                    "header {} of column {} cannot name a sensor: {problem}; fix the header, or read the other columns with --map COL=SENSOR",
                    escape::quoted(raw),
                    col.index + 1
                ),
            });
        }
    }
    Ok(())
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

/// Why the day/month order of a file's `dd/dd/yyyy` dates is not known.
#[derive(Debug, thiserror::Error)]
enum DateOrderUnknown {
    #[error(
        "dates in column {column:?} mix day/month and month/day order: pass --date-format dmy or mdy"
    )]
    Mixed { column: String },
    #[error(
        "dates like {example:?} in column {column:?} could be day/month or month/day: pass --date-format dmy or mdy"
    )]
    Ambiguous { example: String, column: String },
}

/// The day/month order of `dd/dd/yyyy` dates, proven by a day > 12; an error
/// when the file has such dates and none proves the order.
fn sniff_order(
    columns: &Columns,
    rows: &[ByteRecord],
) -> Result<Option<DateOrder>, DateOrderUnknown> {
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
                return Err(DateOrderUnknown::Mixed {
                    column: columns.headers[date_col].clone(),
                });
            }
            _ => {}
        }
    }
    match (found, example) {
        (Some(order), _) => Ok(Some(order)),
        (None, Some(example)) => Err(DateOrderUnknown::Ambiguous {
            example,
            column: columns.headers[date_col].clone(),
        }),
        (None, None) => Ok(None),
    }
}
