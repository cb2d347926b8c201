//! The PostgreSQL backend (plain PostgreSQL 15: native monthly range
//! partitions, no TimescaleDB). Built on `tokio-postgres`: each connection's
//! I/O task runs on one small runtime of its own ([`runtime`]), and the
//! backend's methods wait for the client's answers with a plain executor, so
//! they are synchronous like SQLite's and can be called from any thread,
//! inside or outside a tokio runtime.

pub(crate) mod bulk;
pub mod check;
pub(crate) mod commit;
pub mod journal;
pub mod listen;
pub(crate) mod query;
pub(crate) mod schema;
pub mod scratch;
mod tls;
mod upsert;

use super::location::PgLocation;
use super::rows::Summary;
use super::{Result, StoreError};
use std::future::Future;
use std::sync::OnceLock;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls, Socket};

/// What connections show as `application_name` on the server
/// (`pg_stat_activity`) unless the url sets one.
const APPLICATION_NAME: &str = "floorwatch";

/// A PostgreSQL error as one line: the server's message (with its detail)
/// or the client's.
#[derive(Debug)]
pub struct PgError(pub tokio_postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "{}", db.message()),
            None => match std::error::Error::source(&self.0) {
                Some(cause) => write!(f, "{}: {cause}", self.0),
                None => write!(f, "{}", self.0),
            },
        }
    }
}

impl std::error::Error for PgError {}

/// The runtime that drives every PostgreSQL connection's socket.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    // Only one thread builds it: a runtime built by a thread that lost the
    // race would be dropped, and dropping one inside an async context panics.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _building = BUILDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("postgres-io")
        .enable_all()
        .build()
        .map_err(StoreError::Thread)?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Waits for a client future (its I/O runs on [`runtime`]). Unconstrained:
/// tokio futures (a `JoinHandle`) count against the calling thread's task
/// budget, and the writer waits here inside its own runtime; once that
/// budget is spent every poll would yield at once, and this loop forever.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(tokio::task::unconstrained(future))
}

/// A connection to the server, with the location for messages.
pub struct PgConn {
    pub(crate) client: Client,
    pub(crate) location: PgLocation,
}

impl PgConn {
    /// Connects; an unreachable server, a wrong password or a missing
    /// database is one line naming the server.
    pub fn connect(location: &PgLocation) -> Result<PgConn> {
        Self::connect_as(location, "")
    }

    /// As [`PgConn::connect`], showing as the url's `application_name` (else
    /// `floorwatch`) followed by `role` on the server.
    pub fn connect_as(location: &PgLocation, role: &str) -> Result<PgConn> {
        let mut config = location.config.clone();
        let base = config.get_application_name().unwrap_or(APPLICATION_NAME);
        config.application_name(format!("{base}{role}"));
        let tls = tls::MakeRustls::new(&location.tls).map_err(|e| StoreError::Tls {
            server: location.server.clone(),
            reason: e.to_string(),
        })?;
        let task = match tls {
            Some(tls) => runtime()?.spawn(connect_with(config, tls)),
            None => runtime()?.spawn(connect_with(config, NoTls)),
        };
        let client = wait(task)
            .map_err(|e| StoreError::Task {
                target: location.to_string(),
                reason: e.to_string(),
            })?
            .map_err(|e| connect_error(location, e))?;
        Ok(PgConn {
            client,
            location: location.clone(),
        })
    }

    /// Connects and brings the schema up to date.
    pub fn open(location: &PgLocation) -> Result<PgConn> {
        Self::open_as(location, "")
    }

    /// As [`PgConn::open`], with `role` in its `application_name`.
    pub fn open_as(location: &PgLocation, role: &str) -> Result<PgConn> {
        let mut conn = Self::connect_as(location, role)?;
        schema::migrate(&mut conn)?;
        Ok(conn)
    }

    /// An error of this database.
    pub(crate) fn err(&self, source: tokio_postgres::Error) -> StoreError {
        pg_error(&self.location, source)
    }

    pub fn describe(&self) -> String {
        self.location.to_string()
    }
}

pub(crate) fn pg_error(location: &PgLocation, source: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres {
        target: location.to_string(),
        source: PgError(source),
    }
}

/// Connects over `tls` on the I/O runtime, which then drives the connection.
async fn connect_with<T>(
    config: tokio_postgres::Config,
    tls: T,
) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %PgError(e), "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

fn connect_error(location: &PgLocation, source: tokio_postgres::Error) -> StoreError {
    if source.as_db_error().is_some() {
        return pg_error(location, source);
    }
    if tls::is_tls_failure(&source) {
        return StoreError::Tls {
            server: location.server.clone(),
            reason: PgError(source).to_string(),
        };
    }
    StoreError::Unreachable {
        server: location.server.clone(),
        source: PgError(source),
    }
}

/// Schema version, counts and time range, without changing anything.
pub fn summarize(location: &PgLocation) -> Result<Summary> {
    let conn = PgConn::connect(location)?;
    let schema_version = schema::found_version(&conn)?;
    if schema_version == 0 {
        return Ok(Summary::default());
    }
    let row = wait(conn.client.query_one(
        "SELECT (SELECT count(*) FROM sensors), (SELECT count(*) FROM readings),
                (SELECT count(*) FROM alarm_events), (SELECT min(ts) FROM readings),
                (SELECT max(ts) FROM readings)",
        &[],
    ))
    .map_err(|e| conn.err(e))?;
    let count = |i: usize| row.get::<_, i64>(i) as u64;
    Ok(Summary {
        schema_version,
        sensors: count(0),
        readings: count(1),
        alarm_events: count(2),
        first_ts: row.get(3),
        last_ts: row.get(4),
    })
}
