//! The history file under stress and damage, end to end: processes creating
//! the same new file at once, and a file with random bytes written into the
//! b-tree of its readings (`floorwatch db check`, the start-up check, the
//! status pane, error messages).

use crate::common;

use common::tui::{PLANT_TOML, config, plant_state, render, text, ui_state};
use floorwatch::store::{CheckOutcome, HistoryReader, spawn_quick_check};
use floorwatch::ui::keys::Action;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const FACTORY_DAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/factory_day.csv");

/// `floorwatch ARGS` with no config or data dir of the user's in the way.
fn floorwatch(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(common::floorwatch_bin());
    command
        .args(args)
        .env_remove("FLOORWATCH_CONFIG")
        .env_remove("FLOORWATCH_DB")
        .env("FLOORWATCH_CONFIG_DIR", dir)
        .env("FLOORWATCH_DATA_DIR", dir)
        .stdin(Stdio::null());
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    floorwatch(dir, args).output().expect("running floorwatch")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A history of a day of factory readings, imported through the binary.
fn factory_history(dir: &Path) -> PathBuf {
    let db = dir.join("history.sqlite");
    let out = run(dir, &["import", "--db", db.to_str().unwrap(), FACTORY_DAY]);
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

/// Pages (1-based) of the b-tree leaves of `table` and the page size.
fn leaf_pages(db: &Path, table: &str) -> (Vec<u64>, u64) {
    let conn = Connection::open(db).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let page_size: u64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' ORDER BY pageno")
        .unwrap();
    let pages = stmt
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    (pages, page_size)
}

/// Random-looking bytes (xorshift64), the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Overwrites three leaf pages from the middle of the readings b-tree with noise.
fn damage_readings(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let (pages, page_size) = leaf_pages(db, "readings");
    assert!(pages.len() >= 10, "too few readings pages: {pages:?}");
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    let middle = pages.len() / 2;
    for page in &pages[middle..middle + 3] {
        file.seek(SeekFrom::Start((page - 1) * page_size)).unwrap();
        file.write_all(&noise(page_size as usize)).unwrap();
    }
    file.sync_all().unwrap();
    // What the issue saw: the file opens, but counting the readings fails.
    let conn = Connection::open(db).unwrap();
    let counted = conn.query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0));
    assert!(
        counted
            .as_ref()
            .is_err_and(|e| e.to_string().contains("malformed")),
        "{counted:?}"
    );
}

fn damaged_history(dir: &Path) -> PathBuf {
    let db = factory_history(dir);
    damage_readings(&db);
    db
}

#[test]
fn db_check_says_ok_and_exits_0_on_a_healthy_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = factory_history(dir.path());
    for extra in [&[][..], &["--quick"][..]] {
        let mut args = vec!["db", "check", "--db", db.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "ok\n");
    }
}

#[test]
fn db_check_finds_the_default_history_without_db() {
    let dir = tempfile::tempdir().unwrap();
    factory_history(dir.path());
    let out = run(dir.path(), &["db", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
}

#[test]
fn db_check_reports_a_damaged_history_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = damaged_history(dir.path());
    for quick in [false, true] {
        let mut args = vec!["db", "check", "--db", db.to_str().unwrap()];
        if quick {
            args.push("--quick");
        }
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stdout(&out),
            "table readings cannot be read: database disk image is malformed\n"
        );
        let message = stderr(&out);
        assert!(
            message.contains(&format!("history file {} is damaged", db.display())),
            "{message}"
        );
        assert!(message.contains(".recover"), "{message}");
    }
}

#[test]
fn db_check_on_a_missing_file_is_bad_input_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.sqlite");
    let out = run(dir.path(), &["db", "check", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("absent.sqlite not found"),
        "{}",
        stderr(&out)
    );
    assert!(!db.exists());
}

#[test]
fn the_background_check_reports_a_damaged_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = damaged_history(dir.path());
    let outcome = spawn_quick_check(db).blocking_recv().unwrap();
    let CheckOutcome::Corrupt(problems) = outcome else {
        panic!("damage not found: {outcome:?}");
    };
    assert_eq!(
        problems,
        ["table readings cannot be read: database disk image is malformed"]
    );
}

#[test]
fn the_background_check_passes_a_healthy_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = factory_history(dir.path());
    assert_eq!(
        spawn_quick_check(db).blocking_recv().unwrap(),
        CheckOutcome::Ok
    );
}

#[test]
fn the_status_pane_shows_a_corrupt_history() {
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    live.history_check = Some(CheckOutcome::Corrupt(vec![
        "Tree 4 page 17: btreeInitPage() returns error code 11".into(),
    ]));
    let mut ui = ui_state(&config, live, 160, 48);
    ui.apply(Action::Status);
    let screen = text(&render(&ui));
    assert!(
        screen.contains(
            "history: CORRUPT (quick_check: Tree 4 page 17: btreeInitPage() returns error code 11) — run floorwatch db check"
        ),
        "{screen}"
    );
    assert!(screen.contains("connection refused"), "{screen}");
}

/// What a message about the damaged file `db` must say.
fn assert_names_the_file_and_what_to_do(message: &str, db: &str) {
    assert!(message.contains(&format!("history file {db}")), "{message}");
    assert!(message.contains("malformed"), "{message}");
    assert!(
        message.contains(&format!("floorwatch db check --db {db}")),
        "{message}"
    );
    assert!(message.contains("restore it from a backup"), "{message}");
    assert!(message.contains(".recover"), "{message}");
}

#[test]
fn reading_a_damaged_history_names_the_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = damaged_history(dir.path());
    let db_arg = db.to_str().unwrap();
    let status = run(dir.path(), &["db", "status", "--db", db_arg]);
    assert_eq!(status.status.code(), Some(2), "{}", stderr(&status));
    assert_names_the_file_and_what_to_do(&stderr(&status), db_arg);
    let counted = HistoryReader::open(&db).unwrap().total_readings();
    assert_names_the_file_and_what_to_do(&counted.unwrap_err().to_string(), db_arg);
}

#[test]
fn db_status_describes_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = factory_history(dir.path());
    let out = run(dir.path(), &["db", "status", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let csv = std::fs::read_to_string(FACTORY_DAY).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let sensors: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[1]).collect();
    let ms = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let first = rows.iter().map(|r| ms(r[0])).min().unwrap();
    let last = rows.iter().map(|r| ms(r[0])).max().unwrap();
    assert!(
        text.contains(&format!("readings        {}\n", rows.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("sensors         {}\n", sensors.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("time range      {first} – {last}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "schema version  {} ",
            floorwatch::store::SCHEMA_VERSION
        )),
        "{text}"
    );
}

/// A tiny CSV every importing process loads.
fn tiny_csv(dir: &Path) -> PathBuf {
    let file = dir.join("tiny.csv");
    std::fs::write(
        &file,
        "timestamp,sensor,value\n2025-10-02T12:00:00Z,a,1\n2025-10-02T12:01:00Z,b,2\n",
    )
    .unwrap();
    file
}

#[test]
fn processes_creating_the_same_new_history_at_once_all_succeed() {
    const PROCESSES: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let csv = tiny_csv(dir.path());
    let reference = dir.path().join("reference.sqlite");
    let out = run(
        dir.path(),
        &[
            "import",
            "--db",
            reference.to_str().unwrap(),
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for round in 0..5 {
        let db = dir.path().join(format!("h{round}.sqlite"));
        let db_arg = db.to_str().unwrap();
        let children: Vec<Child> = (0..PROCESSES)
            .map(|_| {
                floorwatch(
                    dir.path(),
                    &["import", "--db", db_arg, csv.to_str().unwrap()],
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
        assert_eq!(schema_of(&db), schema_of(&reference), "round {round}");
        let readings: i64 = Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(readings, 2, "round {round}");
    }
}

/// Every table, index and trigger with its SQL, and the schema version.
fn schema_of(db: &Path) -> (Vec<(String, String, Option<String>)>, i64) {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let objects = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let version = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    (objects, version)
}

#[test]
fn a_running_console_shows_the_start_up_check_of_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = factory_history(dir.path());
    let config = config(PLANT_TOML);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let running = floorwatch::app::Running::start(&config, &db).await.unwrap();
        let mut snapshots = running.snapshots.clone();
        let checked = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            snapshots.wait_for(|s| s.history_check.is_some()),
        )
        .await
        .ok()
        .and_then(|r| r.ok().map(|s| s.history_check.clone()));
        running.shutdown().await.unwrap();
        assert_eq!(checked, Some(Some(CheckOutcome::Ok)));
    });
}
