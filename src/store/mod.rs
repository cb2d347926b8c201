//! The history: one interface, whatever the backend. Writing goes through
//! the single writer thread ([`Writer`], batched transactions, acknowledgements
//! only after commit) and bulk loads ([`bulk`]); every read through
//! [`HistoryReader`]. The SQLite backend (one file in WAL mode) is in
//! [`sqlite`]; no SQL lives outside this module.

pub mod bulk;
mod reader;
mod rows;
pub mod sqlite;
pub mod writer;

pub use reader::{Aggregate, HistoryReader, PointCursor, summarize};
pub use rows::{
    AlarmEventRow, JournalEntry, JournalQuery, KeyedPoint, Point, StoredSensor, Summary,
};
pub use sqlite::check::{self, CheckMode, CheckOutcome, spawn_quick_check};
pub use sqlite::schema::SCHEMA_VERSION;
pub use writer::{StoreStats, WriteMsg, Writer, WriterHandle};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history file {path}: {source}{hint}", hint = sqlite::damage_hint(&.source.0, .path))]
    Sqlite {
        path: PathBuf,
        #[source]
        source: SqliteError,
    },
    #[error(
        "history file {path} has schema version {found}, newer than this floorwatch understands ({supported}); upgrade floorwatch"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("history writer has stopped")]
    WriterGone,
    #[error("starting the history writer: {0}")]
    Thread(#[source] std::io::Error),
    #[error(
        "history file {history} could not be written ({reason}); {readings} readings received were neither stored nor acknowledged: the broker keeps them for the next start"
    )]
    Unwritable {
        history: String,
        readings: usize,
        reason: String,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// Whether SQLite found the file damaged (malformed, or not a database).
    pub fn is_damaged(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. } if sqlite::is_damage(&source.0))
    }
}

/// A SQLite error. rusqlite's `SqliteFailure` shows SQLite's message and
/// returns the bare result code as its source (`Error code 11: The database
/// disk image is malformed`): the same fault in other words, so that source
/// is left out of the chain.
#[derive(Debug)]
pub struct SqliteError(pub rusqlite::Error);

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> Self {
        SqliteError(e)
    }
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            rusqlite::Error::SqliteFailure(..) => None,
            other => other.source(),
        }
    }
}
