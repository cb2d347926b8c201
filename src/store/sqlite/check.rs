//! Integrity checks of the history file: `PRAGMA quick_check` in the
//! background when the console or recorder starts, and `PRAGMA
//! integrity_check` on demand (`floorwatch db check`).

use super::is_damage;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

/// How deep to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMode {
    /// `PRAGMA quick_check`: every page and b-tree, no index-to-table cross-check.
    Quick,
    /// `PRAGMA integrity_check`: also checks every index against its table.
    Full,
}

impl CheckMode {
    pub fn pragma(self) -> &'static str {
        match self {
            CheckMode::Quick => "quick_check",
            CheckMode::Full => "integrity_check",
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// SQLite found nothing wrong.
    Ok,
    /// The file is damaged: the first problems SQLite reported (at most [`MAX_PROBLEMS`]).
    Corrupt(Vec<String>),
    /// The check could not run (the file cannot be opened or read): why.
    Failed(String),
}

/// Problems a check lists at most; SQLite stops looking after that many.
pub const MAX_PROBLEMS: usize = 100;

/// Problems named in the log and the status pane.
const PROBLEMS_SHOWN: usize = 3;

impl CheckOutcome {
    /// One line for the console's status pane.
    pub fn status_line(&self, mode: CheckMode) -> String {
        let check = mode.pragma();
        match self {
            CheckOutcome::Ok => format!("history: ok ({check})"),
            CheckOutcome::Corrupt(problems) => format!(
                "history: CORRUPT ({check}: {}) — run floorwatch db check",
                first_problems(problems)
            ),
            CheckOutcome::Failed(why) => format!("history: not checked ({check} failed: {why})"),
        }
    }
}

/// The first few problems on one line, with how many more there are.
pub fn first_problems(problems: &[String]) -> String {
    let shown: Vec<&str> = problems
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(String::as_str)
        .collect();
    let more = problems.len().saturating_sub(PROBLEMS_SHOWN);
    let mut line = shown.join("; ");
    if more > 0 {
        line.push_str(&format!("; and {more} more"));
    }
    line
}

/// Checks the history file at `path`, read-only: the file is never created
/// or changed, and a recorder writing to it is not held up (WAL readers do
/// not block the writer).
pub fn check_file(path: &Path, mode: CheckMode) -> CheckOutcome {
    match run_check(path, mode) {
        Ok(problems) if problems.is_empty() => CheckOutcome::Ok,
        Ok(problems) => CheckOutcome::Corrupt(problems),
        // A file too damaged to even run the check on is damaged, not unreadable.
        Err(e) if is_damage(&e) => CheckOutcome::Corrupt(vec![e.to_string()]),
        Err(e) => CheckOutcome::Failed(e.to_string()),
    }
}

fn run_check(path: &Path, mode: CheckMode) -> rusqlite::Result<Vec<String>> {
    let conn = super::connect_read_only(path)?;
    match reported_problems(&conn, mode) {
        Err(stopped) if is_damage(&stopped) => unreadable_tables(&conn, mode, &stopped),
        reported => reported,
    }
}

/// What the check pragma lists.
fn reported_problems(conn: &Connection, mode: CheckMode) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {}({MAX_PROBLEMS})", mode.pragma()))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(problems_of(&rows))
}

/// SQLite's check also reads every row of a table with NOT NULL columns, and
/// stops with "malformed" instead of listing anything when a page of it cannot
/// be read. Then read each table to say which ones are damaged.
fn unreadable_tables(
    conn: &Connection,
    mode: CheckMode,
    stopped: &rusqlite::Error,
) -> rusqlite::Result<Vec<String>> {
    let tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut problems: Vec<String> = tables
        .iter()
        .filter_map(|table| {
            read_every_row(conn, table)
                .err()
                .map(|e| format!("table {table} cannot be read: {e}"))
        })
        .collect();
    if problems.is_empty() {
        problems.push(format!("{} stopped: {stopped}", mode.pragma()));
    }
    Ok(problems)
}

fn read_every_row(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    let quoted = table.replace('"', "\"\"");
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{quoted}\""))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// The problems in the rows a check returned: none when it said `ok`. A row
/// can hold several lines, the first often a `*** in database main ***` header.
fn problems_of(rows: &[String]) -> Vec<String> {
    rows.iter()
        .flat_map(|row| row.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "ok" && !line.starts_with("*** in database"))
        .map(str::to_owned)
        .collect()
}

/// Runs `PRAGMA quick_check` on its own thread and connection, so a big file
/// does not delay start-up; logs the outcome (an error naming the file and the
/// first problems when it is damaged) and sends it on the returned channel.
pub fn spawn_quick_check(path: PathBuf) -> oneshot::Receiver<CheckOutcome> {
    let (done, outcome) = oneshot::channel();
    let checking = std::thread::Builder::new()
        .name("history-check".into())
        .spawn(move || {
            let outcome = check_file(&path, CheckMode::Quick);
            log_outcome(&path, &outcome);
            let _ = done.send(outcome);
        });
    if let Err(e) = checking {
        tracing::warn!("could not start the history file check: {e}");
    }
    outcome
}

/// Logs what the start-up check found: info when ok, error when damaged.
pub fn log_outcome(path: &Path, outcome: &CheckOutcome) {
    let file = path.display();
    match outcome {
        CheckOutcome::Ok => tracing::info!("history file {file}: quick_check ok"),
        CheckOutcome::Corrupt(problems) => tracing::error!(
            "history file {file} is CORRUPT: quick_check found {} problem(s): {}; \
             run `floorwatch db check --db {file}`, restore a backup, or salvage it with \
             `sqlite3 {file} .recover | sqlite3 recovered.sqlite`",
            problems.len(),
            first_problems(problems)
        ),
        CheckOutcome::Failed(why) => {
            tracing::warn!("history file {file}: quick_check could not run: {why}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(rows: &[&str]) -> Vec<String> {
        rows.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn ok_rows_are_no_problems_and_headers_are_dropped() {
        assert!(problems_of(&lines(&["ok"])).is_empty());
        assert_eq!(
            problems_of(&lines(&[
                "*** in database main ***\nTree 4 page 9 cell 0: invalid page number 77",
                "Page 12: never used"
            ])),
            lines(&[
                "Tree 4 page 9 cell 0: invalid page number 77",
                "Page 12: never used"
            ])
        );
    }

    #[test]
    fn the_status_line_names_the_first_problems_and_counts_the_rest() {
        let outcome = CheckOutcome::Corrupt(lines(&["a", "b", "c", "d", "e"]));
        assert_eq!(
            outcome.status_line(CheckMode::Quick),
            "history: CORRUPT (quick_check: a; b; c; and 2 more) — run floorwatch db check"
        );
        assert_eq!(
            CheckOutcome::Ok.status_line(CheckMode::Quick),
            "history: ok (quick_check)"
        );
    }

    #[test]
    fn a_missing_file_is_not_created_and_the_check_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.sqlite");
        assert!(matches!(
            check_file(&path, CheckMode::Quick),
            CheckOutcome::Failed(_)
        ));
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.sqlite");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let CheckOutcome::Corrupt(problems) = check_file(&path, CheckMode::Full) else {
            panic!("noise passed the check");
        };
        assert!(problems[0].contains("not a database"), "{problems:?}");
    }

    /// Log output gathered in memory.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_damaged_file_is_logged_as_an_error_naming_it_and_its_first_problems() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let outcome = CheckOutcome::Corrupt(lines(&["Tree 4 page 9: bad", "Page 12: never used"]));
        tracing::subscriber::with_default(subscriber, || {
            log_outcome(Path::new("/plant/history.sqlite"), &outcome)
        });
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("ERROR"), "{text}");
        assert!(
            text.contains("history file /plant/history.sqlite is CORRUPT"),
            "{text}"
        );
        assert!(
            text.contains("Tree 4 page 9: bad; Page 12: never used"),
            "{text}"
        );
        assert!(
            text.contains("floorwatch db check --db /plant/history.sqlite"),
            "{text}"
        );
    }
}
