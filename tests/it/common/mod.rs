//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// Path of the floorwatch binary built for these tests.
pub fn floorwatch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"))
}

/// Whether CI demands machine services (`FLOORWATCH_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var("FLOORWATCH_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// True when a machine service answers on `addr`. When it does not: panics if
/// services are required, else prints why the test is skipped and returns false.
pub fn machine_service(name: &str, addr: &str) -> bool {
    let up = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if !up {
        assert!(
            !services_required(),
            "{name} is required (FLOORWATCH_REQUIRE_SERVICES=1) but nothing answers on {addr}"
        );
        eprintln!("skipped: {name} is not running on {addr}");
    }
    up
}

/// True when `program` is on PATH. Same skip/require rule as [`machine_service`].
pub fn machine_tool(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        assert!(
            !services_required(),
            "{program} is required (FLOORWATCH_REQUIRE_SERVICES=1) but is not on PATH"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}
pub mod pg_instance;
pub mod process;
pub mod tmux;
pub mod tui;

/// A file of `../shared/data` found beside the repo or beside one of its
/// parents (git worktrees live one level deeper), or in
/// `FLOORWATCH_SHARED_DATA`; `None` (with the places looked at) when absent.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("FLOORWATCH_SHARED_DATA") {
        Some(dir) => vec![PathBuf::from(dir).join(name)],
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .skip(1)
            .map(|dir| dir.join("shared/data").join(name))
            .collect(),
    };
    let found = candidates.iter().find(|p| p.exists()).cloned();
    if found.is_none() {
        assert!(
            !services_required(),
            "{name} is required (FLOORWATCH_REQUIRE_SERVICES=1) but is not in any of {candidates:?}"
        );
        eprintln!("skipped: {name} is not in any of {candidates:?}");
    }
    found
}

/// Waits on the engine's snapshots (never on the clock) until `check` holds;
/// panics after 15 s with the alarms then shown.
pub async fn until(
    running: &floorwatch::app::Running,
    what: &str,
    check: impl Fn(&floorwatch::engine::LiveState) -> bool,
) -> std::sync::Arc<floorwatch::engine::LiveState> {
    let mut rx = running.snapshots.clone();
    let wait = rx.wait_for(|s| check(s));
    match tokio::time::timeout(std::time::Duration::from_secs(15), wait).await {
        Ok(Ok(s)) => s.clone(),
        Ok(Err(_)) => panic!("engine stopped while waiting for {what}"),
        Err(_) => panic!(
            "timed out waiting for {what}; alarms: {:#?}",
            running.snapshots.borrow().alarms
        ),
    }
}

/// The child's stderr, line by line, read on a thread of its own.
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// A fresh schema on the machine's PostgreSQL (dropped with the value). When
/// it does not answer: panics if services are required, else prints why the
/// test is skipped and returns `None`.
pub fn postgres() -> Option<floorwatch::store::postgres::scratch::Scratch> {
    match floorwatch::store::postgres::scratch::Scratch::create() {
        Ok(scratch) => Some(scratch),
        Err(e) => {
            assert!(
                !services_required(),
                "PostgreSQL is required (FLOORWATCH_REQUIRE_SERVICES=1): {e}"
            );
            eprintln!("skipped: PostgreSQL: {e}");
            None
        }
    }
}

/// This process and instant: topics and client ids no other run uses on a
/// shared broker.
pub fn unique_run() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// One fresh history of a backend, removed when dropped.
pub struct TestHistory {
    pub location: floorwatch::store::Location,
    /// What `--db` takes for it: the file's path or the server's url.
    pub arg: String,
    _dir: tempfile::TempDir,
    _pg: Option<floorwatch::store::postgres::scratch::Scratch>,
}

/// A fresh SQLite file and, when the machine's PostgreSQL answers (see
/// [`postgres`]), a fresh schema on it: a test's body runs on each.
pub fn histories() -> Vec<TestHistory> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let sqlite = TestHistory {
        arg: path.display().to_string(),
        location: path.into(),
        _dir: dir,
        _pg: None,
    };
    let pg = postgres().map(|scratch| TestHistory {
        location: scratch.location(),
        arg: scratch.url().to_owned(),
        _dir: tempfile::tempdir().unwrap(),
        _pg: Some(scratch),
    });
    std::iter::once(sqlite).chain(pg).collect()
}
