//! Where the history lives: a SQLite file (the default) or a PostgreSQL
//! server. Chosen by `--db`/`FLOORWATCH_DB`, else `[history] url`, else
//! `[history] path`, else `history.sqlite` in the data dir. A server's
//! password never shows: [`Location`]'s `Display` and `Debug` leave it out.

use crate::config::History;
use std::path::{Path, PathBuf};

/// A history: a SQLite file or a PostgreSQL database.
#[derive(Clone, PartialEq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<PgLocation>),
}

/// A PostgreSQL database, with the password (if any) kept out of messages.
#[derive(Clone, PartialEq)]
pub struct PgLocation {
    pub(crate) config: tokio_postgres::Config,
    /// `user@host:port/dbname`, for messages.
    shown: String,
    /// `host:port`, for "unreachable" messages.
    pub(crate) server: String,
    /// Whether and how the connection is encrypted.
    pub(crate) tls: PgTls,
}

/// TLS to the server (rustls), from the url's `sslmode` and the CA
/// certificates of `[history] ca_file` (or the url's `sslrootcert`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PgTls {
    /// `sslmode=disable`, `prefer` or none: a plain connection (`prefer`
    /// does not try TLS first).
    Plain,
    /// `sslmode=require`: encrypted, the server's certificate not checked.
    Require,
    /// `sslmode=verify-full`: encrypted, the certificate checked against
    /// `roots` (else the system's CA store) and the host name.
    VerifyFull {
        roots: Option<Vec<rustls_pki_types::CertificateDer<'static>>>,
    },
}

/// Why a history location cannot be used: the user's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("history url {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "history url {url}: sslmode={mode} is not supported; use disable, prefer, require or verify-full"
    )]
    TlsUnsupported { url: String, mode: String },
    #[error("[history] ca_file {path}: {reason}", path = .path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("[history] password_env: environment variable {0} is not set (or not UTF-8)")]
    PasswordEnv(String),
    #[error("[history] password_file {path}: {source}", path = .path.display())]
    PasswordFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("[history]: set path or url, not both")]
    PathAndUrl,
}

impl Location {
    /// The history the arguments and config name: `--db` (a path or a
    /// `postgres://` url), else `[history] url`, else `[history] path`, else
    /// `default`.
    pub fn resolve(
        db_arg: Option<&Path>,
        history: Option<&History>,
        default: impl FnOnce() -> PathBuf,
    ) -> Result<Location, LocationError> {
        if let Some(h) = history
            && h.path.is_some()
            && h.url.is_some()
        {
            return Err(LocationError::PathAndUrl);
        }
        let given = db_arg
            .map(Path::to_path_buf)
            .or_else(|| history.and_then(|h| h.url.clone().map(PathBuf::from)))
            .or_else(|| history.and_then(|h| h.path.clone()));
        let Some(given) = given else {
            return Ok(Location::Sqlite(default()));
        };
        match given.to_str().filter(|s| is_postgres_url(s)) {
            Some(url) => {
                let ca_file = history.and_then(|h| h.ca_file.as_deref());
                let pg = PgLocation::parse_with_ca(url, password(history)?, ca_file)?;
                Ok(Location::Postgres(Box::new(pg)))
            }
            None => Ok(Location::Sqlite(given)),
        }
    }

    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }

    /// Whether the history is there to read: a SQLite file must exist; a
    /// server is asked when it is opened.
    pub fn exists(&self) -> bool {
        match self {
            Location::Sqlite(path) => path.is_file(),
            Location::Postgres(_) => true,
        }
    }
}

/// Whether `s` names a PostgreSQL server rather than a file.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The password of `[history]` from `password_env` or `password_file`.
fn password(history: Option<&History>) -> Result<Option<String>, LocationError> {
    let Some(h) = history else { return Ok(None) };
    if let Some(var) = &h.password_env {
        return std::env::var(var)
            .map(Some)
            .map_err(|_| LocationError::PasswordEnv(var.clone()));
    }
    if let Some(path) = &h.password_file {
        let text = std::fs::read_to_string(path).map_err(|source| LocationError::PasswordFile {
            path: path.clone(),
            source,
        })?;
        return Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()));
    }
    Ok(None)
}

impl PgLocation {
    /// Parses a `postgres://user[:password]@host[:port]/db[?options]` url;
    /// `password` (from the config) overrides one in the url.
    pub fn parse(url: &str, password: Option<String>) -> Result<PgLocation, LocationError> {
        Self::parse_with_ca(url, password, None)
    }

    /// As [`PgLocation::parse`], with the CA certificates of `ca_file` for
    /// `sslmode=verify-full` (overriding the url's `sslrootcert`).
    pub fn parse_with_ca(
        url: &str,
        password: Option<String>,
        ca_file: Option<&Path>,
    ) -> Result<PgLocation, LocationError> {
        let shown_url = crate::config::redact_url(url).into_owned();
        let (rest, tls_options) = split_tls_options(url);
        let mut config: tokio_postgres::Config =
            rest.parse()
                .map_err(|e: tokio_postgres::Error| LocationError::BadUrl {
                    url: shown_url.clone(),
                    reason: e.to_string(),
                })?;
        let ca_file = ca_file.map(Path::to_path_buf).or(tls_options.root_cert);
        let tls = tls_setting(&shown_url, tls_options.mode.as_deref(), ca_file)?;
        config.ssl_mode(match tls {
            PgTls::Plain => tokio_postgres::config::SslMode::Disable,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if let Some(password) = password {
            config.password(password);
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        let server = server_of(&config);
        let shown = format!(
            "{}@{server}/{}",
            config.get_user().unwrap_or("postgres"),
            config.get_dbname().unwrap_or("postgres")
        );
        Ok(PgLocation {
            config,
            shown,
            server,
            tls,
        })
    }

    /// `host:port` of the server, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }
}

/// The url's TLS options, which tokio-postgres does not take as libpq does.
#[derive(Default)]
struct TlsOptions {
    mode: Option<String>,
    root_cert: Option<PathBuf>,
}

/// The url without `sslmode` and `sslrootcert`, and their values.
fn split_tls_options(url: &str) -> (String, TlsOptions) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), TlsOptions::default());
    };
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", mode)) => options.mode = Some(mode.to_owned()),
            Some(("sslrootcert", path)) => options.root_cert = Some(PathBuf::from(path)),
            _ => kept.push(pair),
        }
    }
    if kept.is_empty() {
        return (base.to_owned(), options);
    }
    (format!("{base}?{}", kept.join("&")), options)
}

fn tls_setting(
    url: &str,
    mode: Option<&str>,
    ca_file: Option<PathBuf>,
) -> Result<PgTls, LocationError> {
    match mode {
        None | Some("disable" | "prefer" | "allow") => Ok(PgTls::Plain),
        Some("require") => Ok(PgTls::Require),
        Some("verify-full") => Ok(PgTls::VerifyFull {
            roots: ca_file.map(|path| read_ca_file(&path)).transpose()?,
        }),
        Some(other) => Err(LocationError::TlsUnsupported {
            url: url.to_owned(),
            mode: other.to_owned(),
        }),
    }
}

/// The PEM certificates of a CA file; at least one.
fn read_ca_file(
    path: &Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, LocationError> {
    use rustls_pki_types::pem::PemObject;
    let problem = |reason: String| LocationError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(problem("no certificate in it".into()));
    }
    Ok(certs)
}

/// The first `host:port` of the config.
fn server_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(pg) => write!(f, "{pg}"),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

impl std::fmt::Display for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "postgres://{}", self.shown)
    }
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgLocation({self})")
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location::Sqlite(path.to_owned())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::Sqlite(path.clone())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Sqlite(path)
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Self {
        location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(url: &str) -> Location {
        Location::resolve(Some(Path::new(url)), None, PathBuf::new).unwrap()
    }

    #[test]
    fn a_postgres_url_is_a_server_and_anything_else_a_file() {
        assert!(matches!(
            pg("postgres://u@h:5433/plant"),
            Location::Postgres(_)
        ));
        assert!(matches!(pg("postgresql://h/plant"), Location::Postgres(_)));
        assert!(matches!(pg("history.sqlite"), Location::Sqlite(_)));
        let default = Location::resolve(None, None, || PathBuf::from("d.sqlite")).unwrap();
        assert_eq!(default.sqlite_path(), Some(Path::new("d.sqlite")));
    }

    #[test]
    fn the_password_never_shows() {
        let location = pg("postgres://ops:S3cret@db.plant:5433/plant");
        for shown in [location.to_string(), format!("{location:?}")] {
            assert!(!shown.contains("S3cret"), "{shown}");
            assert!(shown.contains("ops@db.plant:5433/plant"), "{shown}");
        }
        let err = Location::resolve(
            Some(Path::new("postgres://ops:S3cret@h/p?sslmode=verify-ca")),
            None,
            PathBuf::new,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sslmode=verify-ca is not supported"), "{err}");
        assert!(!err.contains("S3cret"), "{err}");
    }

    #[test]
    fn the_config_url_and_password_file_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "hunter2\n").unwrap();
        let history = History {
            url: Some("postgres://ops@h/plant".into()),
            password_file: Some(file),
            ..History::default()
        };
        let Location::Postgres(pg) = Location::resolve(None, Some(&history), PathBuf::new).unwrap()
        else {
            panic!("not postgres");
        };
        assert_eq!(pg.config.get_password(), Some(&b"hunter2"[..]));
        assert_eq!(pg.to_string(), "postgres://ops@h:5432/plant");
    }
}
