//! Runs a test's body on every backend: a fresh SQLite file and, when the
//! machine's PostgreSQL answers, a fresh schema on it (skipped with a printed
//! reason when it does not; a failure under `FLOORWATCH_REQUIRE_SERVICES=1`).

use super::location::Location;
use super::postgres::scratch::Scratch;

/// One fresh, empty history; removed when dropped.
pub struct TestHistory {
    pub location: Location,
    _dir: Option<tempfile::TempDir>,
    _scratch: Option<Scratch>,
}

pub fn sqlite() -> TestHistory {
    let dir = tempfile::tempdir().unwrap();
    TestHistory {
        location: Location::Sqlite(dir.path().join("h.sqlite")),
        _dir: Some(dir),
        _scratch: None,
    }
}

/// A fresh schema on the machine's PostgreSQL, or `None` (skipped).
pub fn postgres() -> Option<TestHistory> {
    match Scratch::create() {
        Ok(scratch) => Some(TestHistory {
            location: scratch.location(),
            _dir: None,
            _scratch: Some(scratch),
        }),
        Err(e) => {
            let required = std::env::var("FLOORWATCH_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "PostgreSQL is required (FLOORWATCH_REQUIRE_SERVICES=1): {e}"
            );
            eprintln!("skipped on PostgreSQL: {e}");
            None
        }
    }
}

/// A fresh history of each backend.
pub fn all() -> Vec<TestHistory> {
    std::iter::once(sqlite()).chain(postgres()).collect()
}
