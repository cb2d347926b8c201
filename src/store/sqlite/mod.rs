//! The SQLite backend: one history file in WAL mode. Its writer connection is
//! driven by the writer thread ([`commit`]), bulk loads have their own
//! ([`bulk`]), and readers open read-only connections ([`query`]).

pub mod bulk;
pub mod check;
pub(crate) mod commit;
pub(crate) mod query;
pub(crate) mod schema;

use super::rows::Summary;
use super::{Result, StoreError};
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

/// Whether a SQLite error means the file itself is damaged.
pub fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// What to do about a damaged file, appended to its error; empty otherwise.
pub(crate) fn damage_hint(error: &rusqlite::Error, path: &Path) -> String {
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

/// An error of the history file at `path`.
pub(crate) fn ctx(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        source: source.into(),
    }
}

/// Opens (creating if needed) the history file and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let ctx = ctx(path);
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut conn = Connection::open(path).map_err(&ctx)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(&ctx)?;
    use_wal(&conn).map_err(&ctx)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(&ctx)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(&ctx)?;
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
    connect_read_only(path).map_err(ctx(path))
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

/// Schema version, counts and time range of an existing file, read-only.
pub fn summarize(db: &Path) -> Result<Summary> {
    let ctx = ctx(db);
    let conn = connect_read_only(db).map_err(&ctx)?;
    let count = |table: &str| {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(&ctx)
    };
    let schema_version = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(&ctx)?;
    if schema_version == 0 {
        return Ok(Summary::default());
    }
    let (first_ts, last_ts) = conn
        .query_row("SELECT min(ts), max(ts) FROM readings", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(&ctx)?;
    Ok(Summary {
        schema_version,
        sensors: count("sensors")?,
        readings: count("readings")?,
        alarm_events: count("alarm_events")?,
        first_ts,
        last_ts,
    })
}
