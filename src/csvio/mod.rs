//! CSV history: reading the files meters, loggers and other systems export
//! ([`reader`]) and importing them into the history ([`import`]). Playing them
//! back through an engine as if live is `app::replay`.

mod escape;
pub mod import;
pub mod layout;
pub mod profile;
pub mod reader;
mod sniff;
pub mod timestamp;
pub mod value;

pub use layout::{ColumnMap, ColumnName, Layout, TimeColumnNames};
pub use reader::{BadRow, CsvReader, ReadStats, Reason, RowOutcome};
pub use timestamp::{DateFormat, DateOrder};
pub use value::DecimalMark;

use std::collections::HashSet;
use std::path::PathBuf;

/// How to read a file; `None` means "work it out from the file".
#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub delimiter: Option<u8>,
    pub decimal: Option<DecimalMark>,
    pub date_format: DateFormat,
    /// Zone of timestamps written without an offset.
    pub tz: chrono_tz::Tz,
    /// Wide files: only these columns, as these sensors. Empty: every column, named by its header.
    pub map: Vec<ColumnMap>,
    pub layout: Option<Layout>,
    /// The time column(s) by name. `None`: found by their header names.
    pub time_columns: Option<TimeColumnNames>,
    /// When set, readings of any other sensor are rejected (`--known-only`).
    pub known: Option<HashSet<String>>,
    /// A record (row) longer than this stops reading: a quote left open.
    pub max_record_bytes: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: None,
            decimal: None,
            date_format: DateFormat::Auto,
            tz: chrono_tz::UTC,
            map: Vec::new(),
            layout: None,
            time_columns: None,
            known: None,
            max_record_bytes: reader::MAX_RECORD_BYTES,
        }
    }
}

/// A problem that stops reading a file (as opposed to a bad row, which is skipped).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The header or the first rows cannot be understood: bad input.
    #[error("{file}:{line}: {message}")]
    Format {
        file: String,
        line: u64,
        message: String,
    },
    /// The text cannot be read on from `line:col` (an unterminated quote...).
    #[error("{file}:{line}:{col}: {message}")]
    FormatAt {
        file: String,
        line: u64,
        col: usize,
        message: String,
    },
    /// Not text (a binary file, UTF-16...): nothing was read from it.
    #[error("{file}: not a CSV file: {what}")]
    NotText { file: String, what: String },
    /// The gzip stream is damaged or cut off at `offset` (of the compressed
    /// file), while the CSV was at `line` (unknown in the first sample).
    #[error("{file}: {fault} at byte {offset} of the compressed file{}", reading_line(*line))]
    Gzip {
        file: String,
        offset: u64,
        line: Option<u64>,
        fault: GzipFault,
    },
    /// A config `[[import]]` entry asks for what the file does not have; the
    /// position is the entry's in the config.
    #[error("{origin}: {message} (in {file})")]
    Config {
        origin: String,
        file: String,
        message: String,
    },
}

/// What is wrong with a gzip stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GzipFault {
    /// A deflate error, a checksum mismatch, a bad header: what it
    /// decompresses to cannot be trusted.
    #[error("corrupt gzip data ({0})")]
    Corrupt(String),
    /// The stream stops before its end: what came before is intact.
    #[error("the gzip data is cut off")]
    CutOff,
}

fn reading_line(line: Option<u64>) -> String {
    line.map(|l| format!(", reading line {l}"))
        .unwrap_or_default()
}

impl CsvError {
    /// Whether what was read from the file before this error may be wrong
    /// too (a damaged gzip stream), so none of it should be kept.
    pub fn taints_what_was_read(&self) -> bool {
        matches!(
            self,
            CsvError::Gzip {
                fault: GzipFault::Corrupt(_),
                ..
            }
        )
    }

    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            CsvError::Format { .. }
                | CsvError::FormatAt { .. }
                | CsvError::NotText { .. }
                | CsvError::Gzip { .. }
                | CsvError::Config { .. }
        ) || matches!(self, CsvError::Io { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::NotFound
                // A cut-off file, e.g. a truncated `.csv.gz`.
                | std::io::ErrorKind::UnexpectedEof
        ))
    }
}

pub use crate::config::csv::parse_delimiter;

/// A file name as shown in messages: the path as given.
pub fn display_name(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// CSV files (`.csv`, `.csv.gz`, `.txt`, `.tsv`) in a directory, sorted by name.
pub fn csv_files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            [".csv", ".csv.gz", ".tsv", ".txt", ".tsv.gz", ".txt.gz"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect();
    files.sort();
    files
}
