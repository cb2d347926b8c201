//! The history file: one SQLite database in WAL mode. A single writer thread
//! batches inserts ([`writer`]); queries use their own connections ([`query`]).

pub mod bulk;
pub mod check;
pub mod query;
mod schema;
pub mod writer;

pub use check::{CheckMode, CheckOutcome, spawn_quick_check};
pub use query::{Aggregate, HistoryReader};
pub use schema::SCHEMA_VERSION;
pub use writer::{AlarmEventRow, StoreStats, WriteMsg, Writer, WriterHandle};

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history file {path}: {source}{hint}", hint = damage_hint(.source, .path))]
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

impl StoreError {
    /// Whether SQLite found the file damaged (malformed, or not a database).
    pub fn is_damaged(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. } if is_damage(source))
    }
}

/// Whether a SQLite error means the file itself is damaged.
pub fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// What to do about a damaged file, appended to its error; empty otherwise.
fn damage_hint(error: &rusqlite::Error, path: &Path) -> String {
    if !is_damage(error) {
        return String::new();
    }
    let path = path.display();
    format!(
        " — the file is damaged: `floorwatch db check --db {path}` lists the problems; \
         restore it from a backup, or salvage what is readable with \
         `sqlite3 {path} .recover | sqlite3 recovered.sqlite`"
    )
}

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
    conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx)?;
    use_wal(&conn).map_err(ctx)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(ctx)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(ctx)?;
    schema::migrate(&mut conn, path)?;
    Ok(conn)
}

/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Switches the file to WAL. Connections switching a new file at the same
/// time can deadlock on its locks; SQLite then answers "busy" at once instead
/// of waiting, so this retries until the busy timeout.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// Opens an existing history file for reading only (separate connection).
pub fn open_reader(path: &Path) -> Result<Connection> {
    // Creating and migrating first lets a reader start before the writer.
    drop(open(path)?);
    connect_read_only(path).map_err(|source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    })
}

/// A read-only connection to an existing file, which it never creates or changes.
pub(crate) fn connect_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}
