//! The history file: one SQLite database in WAL mode. A single writer thread
//! batches inserts ([`writer`]); queries use their own connections ([`query`]).

pub mod bulk;
pub mod query;
mod schema;
pub mod writer;

pub use query::{Aggregate, HistoryReader};
pub use writer::{AlarmEventRow, StoreStats, WriteMsg, Writer, WriterHandle};

use rusqlite::Connection;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history file {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
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
    #[error(
        "history file {path} could not be written ({reason}); {readings} readings received were neither stored nor acknowledged: the broker keeps them for the next start"
    )]
    Unwritable {
        path: PathBuf,
        readings: usize,
        reason: String,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Opens (creating if needed) the history file and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let ctx = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut conn = Connection::open(path).map_err(ctx)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(ctx)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(ctx)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(ctx)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(ctx)?;
    schema::migrate(&mut conn, path)?;
    Ok(conn)
}

/// Opens an existing history file for reading only (separate connection).
pub fn open_reader(path: &Path) -> Result<Connection> {
    // Creating and migrating first lets a reader start before the writer.
    drop(open(path)?);
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    })?;
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    Ok(conn)
}
