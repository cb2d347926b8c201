//! Reports: readings, aggregates and the alarm journal exported to CSV for
//! spreadsheets and other systems. Everything streams from the history file
//! (constant memory) into a file that only appears once complete.

pub mod aggregates;
pub mod alarms;
pub mod clock;
pub mod invoices;
pub mod output;
pub mod points;
pub mod progress;
pub mod readings;
pub mod table;
pub mod view;

pub use aggregates::{BucketStats, Bucketer, Every};
pub use output::{Destination, Sink};
pub use points::{StoredSensor, TimeRange};
pub use readings::Layout;
pub use table::{CsvStyle, Table, TimeStyle};
pub use view::{View, ViewTarget, export_view};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Bad arguments or a selection that matches nothing (exit code 2).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("writing the report: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The config's `[export]` style does not hold together.
    #[error("[export] in config: {0}")]
    ExportStyle(#[source] OptionError),
}

/// A report option (`--delimiter`, `--priority`, `--every`, ...) that does
/// not parse; the message names the option and what it expects.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OptionError {
    #[error("--delimiter {text:?}: expected one ASCII character, e.g. ',' ';' '|' or tab")]
    DelimiterNotOneCharacter { text: String },
    #[error("--delimiter {text:?}: cannot be a quote, a newline, a letter, a digit, '.' or '-'")]
    DelimiterReserved { text: String },
    #[error("--decimal-comma needs another --delimiter than ',' (e.g. ';')")]
    DecimalCommaWithCommaDelimiter,
    #[error("--priority {text:?}: expected one of critical, high, medium, low")]
    UnknownPriority { text: String },
    #[error("--every {text:?}: {source}; expected e.g. 15m, 1h, 1d or 1mo")]
    EveryNotADuration {
        text: String,
        #[source]
        source: humantime::DurationError,
    },
    #[error(
        "--every {text:?}: a bucket must divide a day into whole seconds (e.g. 5m, 15m, 1h, 6h), or be 1d or 1mo"
    )]
    EveryNotDividingADay { text: String },
}

impl ReportError {
    /// True when the reader of our stdout went away (`| head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        let io = match self {
            ReportError::Io(e) | ReportError::File { source: e, .. } => Some(e.kind()),
            ReportError::Csv(e) => match e.kind() {
                csv::ErrorKind::Io(e) => Some(e.kind()),
                _ => None,
            },
            _ => None,
        };
        io == Some(std::io::ErrorKind::BrokenPipe)
    }
}

/// Writes one CSV report to `dest`: the file appears only when `body` and the
/// final flush succeeded; on any error the partial file is deleted.
pub fn write_csv(
    dest: &Destination,
    style: CsvStyle,
    body: impl FnOnce(&mut Table<Sink>) -> Result<u64, ReportError>,
) -> Result<u64, ReportError> {
    let file_error = |source| ReportError::File {
        path: dest.describe(),
        source,
    };
    let sink = Sink::open(dest).map_err(file_error)?;
    let mut table = Table::new(sink, style)?;
    let rows = body(&mut table)?;
    table.finish().and_then(Sink::commit).map_err(file_error)?;
    Ok(rows)
}
