//! The history: one interface, whatever the backend. Writing goes through
//! the single writer thread ([`Writer`], batched transactions, acknowledgements
//! only after commit) and bulk loads ([`bulk`]); every read through
//! [`HistoryReader`]. The SQLite backend (one file in WAL mode) is in
//! [`sqlite`]; no SQL lives outside this module.

pub mod bulk;
pub mod location;
pub mod postgres;
mod reader;
mod rows;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod test_backends;
pub mod writer;

pub use location::{Location, LocationError, PgLocation};
pub use postgres::schema::PG_SCHEMA_VERSION;
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
        "history {history} has schema version {found}, newer than this floorwatch understands ({supported}); upgrade floorwatch"
    )]
    TooNew {
        history: String,
        found: i64,
        supported: i64,
    },
    #[error("PostgreSQL history {target}: {source}")]
    Postgres {
        target: String,
        #[source]
        source: postgres::PgError,
    },
    #[error("PostgreSQL server {server} unreachable: {source}")]
    Unreachable {
        server: String,
        #[source]
        source: postgres::PgError,
    },
    #[error("PostgreSQL server {server}: TLS: {reason}")]
    Tls { server: String, reason: String },
    #[error("{0}")]
    Location(String),
    #[error("PostgreSQL connection task for {target} failed: {reason}")]
    Task { target: String, reason: String },
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
    /// Whether the fault may pass by itself (a server not reachable yet, or
    /// a session it ended): worth retrying, unlike a refusal (a wrong
    /// password, a missing database, no privileges, a bad certificate).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } => true,
            StoreError::Postgres { source, .. } => source.0.as_db_error().is_some_and(|db| {
                let code = db.code().code();
                code.starts_with("08") || code.starts_with("57P")
            }),
            _ => false,
        }
    }

    /// Whether SQLite found the file damaged (malformed, or not a database).
    pub fn is_damaged(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. } if sqlite::is_damage(&source.0))
    }
}

/// Creates the history if needed and brings its schema up to date; the
/// schema version it now has.
pub fn migrate(location: &Location) -> Result<i64> {
    match location {
        Location::Sqlite(path) => {
            let conn = sqlite::open(path)?;
            sqlite::schema::supported_version(&conn, path)
        }
        Location::Postgres(pg) => postgres::schema::migrate(&mut postgres::PgConn::connect(pg)?),
    }
}

/// Checks the history for damage: SQLite's integrity check on a file; the
/// schema, partitions and (with `amcheck`) indexes on PostgreSQL.
pub fn check_history(location: &Location, mode: CheckMode) -> CheckOutcome {
    match location {
        Location::Sqlite(path) => check::check_file(path, mode),
        Location::Postgres(pg) => postgres::check::check(pg, mode),
    }
}

/// The schema version this build writes for the location's backend.
pub fn supported_version(location: &Location) -> i64 {
    match location {
        Location::Sqlite(_) => SCHEMA_VERSION,
        Location::Postgres(_) => PG_SCHEMA_VERSION,
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
