//! A PostgreSQL history when the database misbehaves, through the binary and
//! the public API: the writer's session ended by the server mid-stream, a
//! server not there at start and coming later, refusals (missing database,
//! no privileges, wrong password) and TLS. The machine's server is used only
//! for scratch schemas and a scratch role; everything that stops, restarts
//! or reconfigures a server runs on one of the test's own
//! ([`common::pg_instance::PgInstance`]).

use crate::common;
use crate::common::pg_instance::{PgInstance, PgOptions, TestPki};
use crate::mqtt_support::{OwnMosquitto, Recorder, free_port};
use crate::no_loss::{self, Target};
use floorwatch::config::History;
use floorwatch::model::Reading;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{HistoryReader, Location, WriteMsg, Writer};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn floorwatch(args: &[&OsStr]) -> Output {
    Command::new(common::floorwatch_bin())
        .args(args)
        .env_remove("FLOORWATCH_DB")
        .env_remove("FLOORWATCH_CONFIG")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `floorwatch db <what> --db <db>`.
fn db_command(what: &str, db: &str) -> Output {
    floorwatch(&["db".as_ref(), what.as_ref(), "--db".as_ref(), db.as_ref()])
}

/// The `key=number` fields of a log line.
fn counts(line: &str) -> HashMap<&str, u64> {
    line.split_whitespace()
        .filter_map(|word| word.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect()
}

/// The recorder's last words: every reading received was committed, each
/// in exactly one of stored, duplicates, superseded.
fn assert_counters_add_up(lines: &[String], at_least: u64) {
    let last = lines
        .iter()
        .rfind(|l| l.contains("stopped: received="))
        .unwrap_or_else(|| panic!("no final counts in:\n{}", lines.join("\n")));
    let c = counts(last);
    assert!(c["received"] >= at_least, "{last}");
    assert_eq!(
        c["stored"] + c["duplicates"] + c["superseded"],
        c["received"],
        "every reading received is committed once: {last}"
    );
}

fn location(url: &str, ca_file: Option<PathBuf>) -> Location {
    let history = History {
        url: Some(url.to_owned()),
        ca_file,
        ..History::default()
    };
    Location::resolve(None, Some(&history), PathBuf::new).unwrap()
}

#[test]
fn a_writer_session_ended_by_the_server_reconnects_and_stores_every_message_once() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let Some(scratch) = common::postgres() else {
        return;
    };
    const N: u64 = 20_000;
    let app = format!("fwtest{}", common::unique_run().replace('-', "x"));
    let url = format!("{}&application_name={app}", scratch.url());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let config = no_loss::config(&broker.url(), "fw-pg-terminated");
    let bin = common::floorwatch_bin();
    let mut recorder = Recorder::start_on(&bin, dir.path(), &config, url.as_ref(), |_| {});
    no_loss::wait_subscribed(&mut recorder);
    let mut publisher = no_loss::publish_all(&runtime, broker.port, N);
    recorder.wait_count("stored", N / 4);

    let ended = scratch
        .query_i64(&format!(
            "SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity
             WHERE application_name = '{app}-writer'"
        ))
        .unwrap();
    assert_eq!(ended, vec![1], "the writer's one session was ended");
    recorder.wait_line("the lost connection", |l| {
        l.contains("PostgreSQL connection lost; reconnecting")
    });
    let target = Target::Server(Box::new(scratch));
    recorder.wait_line("every message in the history", |_| target.count_rows() >= N);
    runtime.block_on(publisher.wait_acked(N));
    let (status, lines) = recorder.terminate();
    assert!(status.success(), "{status:?}\n{}", lines.join("\n"));
    target.assert_all_stored(N);
    assert_counters_add_up(&lines, N);
}

#[test]
fn a_server_down_at_start_holds_readings_back_until_it_answers() {
    if !common::machine_tool("mosquitto") || common::pg_instance::server_binaries().is_none() {
        return;
    }
    const N: u64 = 300;
    let port = free_port();
    let url = format!("postgres://postgres:S3cret@127.0.0.1:{port}/postgres");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let config = no_loss::config(&broker.url(), "fw-pg-late");
    let bin = common::floorwatch_bin();
    let mut recorder = Recorder::start_on(&bin, dir.path(), &config, url.as_ref(), |_| {});
    no_loss::wait_subscribed(&mut recorder);
    let down = recorder.wait_line("history: reconnecting", |l| {
        l.contains("history: reconnecting")
    });
    assert!(down.contains(&format!("127.0.0.1:{port}")), "{down}");
    let mut publisher = no_loss::publish_all(&runtime, broker.port, N);
    // Live values arrive while the history is down.
    recorder.wait_line("live readings", |l| {
        counts(l).get("received").is_some_and(|n| *n > 0)
    });
    let held = recorder.wait_line("a status line", |l| l.contains("received="));
    assert_eq!(counts(&held)["stored"], 0, "{held}");

    let _server = PgInstance::start(PgOptions {
        port: Some(port),
        ..PgOptions::default()
    })
    .unwrap();
    recorder.wait_count("stored", N);
    runtime.block_on(publisher.wait_acked(N));
    let after = recorder.wait_line("a status line", |l| l.contains("received="));
    let (status, lines) = recorder.terminate();
    assert!(status.success(), "{status:?}\n{}", lines.join("\n"));
    let since_up = lines.iter().skip_while(|l| **l != after).skip(1);
    assert!(
        since_up
            .clone()
            .all(|l| !l.contains("history: reconnecting")),
        "the status clears once connected:\n{}",
        lines.join("\n")
    );
    assert!(
        lines.iter().all(|l| !l.contains("S3cret")),
        "the password never shows"
    );
    let reader = HistoryReader::open(location(&url, None)).unwrap();
    assert_eq!(reader.total_readings().unwrap(), N);
    assert_counters_add_up(&lines, N);
}

#[test]
fn commands_on_an_unreachable_server_fail_with_one_line_naming_it() {
    let port = free_port();
    let db = format!("postgres://ops:S3cret@127.0.0.1:{port}/plant");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/factory_day.csv");
    let commands: [&[&OsStr]; 4] = [
        &["db".as_ref(), "status".as_ref()],
        &["db".as_ref(), "migrate".as_ref()],
        &["export".as_ref(), "readings".as_ref()],
        &["import".as_ref(), fixture.as_os_str()],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.extend([OsStr::new("--db"), OsStr::new(&db)]);
        let out = floorwatch(&args);
        let line = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {line}");
        assert!(
            line.contains(&format!("PostgreSQL server 127.0.0.1:{port} unreachable")),
            "{command:?}: {line}"
        );
        assert!(!line.contains("S3cret"), "{line}");
        assert_eq!(line.trim_end().lines().count(), 1, "{command:?}: {line}");
    }
}

/// A login role with no privileges on a scratch schema; dropped with the value.
struct ScratchRole<'a> {
    scratch: &'a floorwatch::store::postgres::scratch::Scratch,
    name: String,
}

impl Drop for ScratchRole<'_> {
    fn drop(&mut self) {
        let _ = self.scratch.query_i64(&format!(
            "DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}; SELECT 1",
            self.name
        ));
    }
}

#[test]
fn a_role_without_privileges_and_a_missing_database_are_one_clear_line() {
    let Some(scratch) = common::postgres() else {
        return;
    };
    assert!(db_command("migrate", scratch.url()).status.success());
    let name = format!("fw_noprivs_{}", common::unique_run().replace('-', "_"));
    let role = ScratchRole {
        scratch: &scratch,
        name,
    };
    scratch
        .query_i64(&format!(
            "CREATE ROLE {0} LOGIN; GRANT USAGE ON SCHEMA {1} TO {0}; SELECT 1",
            role.name,
            scratch_schema(scratch.url())
        ))
        .unwrap();
    let as_role = scratch.url().replacen(
        "postgres://postgres@",
        &format!("postgres://{}@", role.name),
        1,
    );
    for what in ["status", "migrate"] {
        let out = db_command(what, &as_role);
        let line = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{line}");
        assert!(line.contains("permission denied for"), "{line}");
        assert!(
            line.contains(&format!("postgres://{}@127.0.0.1", role.name)),
            "{line}"
        );
        assert_eq!(line.trim_end().lines().count(), 1, "{line}");
    }

    let missing = db_command(
        "status",
        "postgres://postgres@127.0.0.1:5432/floorwatch_no_such_db",
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("database \"floorwatch_no_such_db\" does not exist"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(stderr(&missing).trim_end().lines().count(), 1);
}

/// The schema a scratch url selects (`options=-csearch_path%3D<schema>`).
fn scratch_schema(url: &str) -> &str {
    url.rsplit("search_path%3D").next().unwrap_or_default()
}

#[test]
fn a_wrong_password_is_one_line_without_the_password() {
    let Some(server) = PgInstance::start(PgOptions {
        password: Some("right-pw".into()),
        ..PgOptions::default()
    }) else {
        return;
    };
    let wrong = format!(
        "postgres://postgres:Wr0ngPw@127.0.0.1:{}/postgres",
        server.port
    );
    let out = db_command("status", &wrong);
    let line = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert!(
        line.contains("password authentication failed for user \"postgres\""),
        "{line}"
    );
    assert!(
        !line.contains("Wr0ngPw") && !line.contains("right-pw"),
        "{line}"
    );
    assert_eq!(line.trim_end().lines().count(), 1, "{line}");
    let right = format!(
        "postgres://postgres:right-pw@127.0.0.1:{}/postgres",
        server.port
    );
    let out = db_command("migrate", &right);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn tls_verify_full_with_the_right_ca_stores_and_a_wrong_ca_is_refused() {
    let pki = TestPki::generate();
    let Some(server) = PgInstance::start(PgOptions {
        tls: Some((pki.server_pem.clone(), pki.server_key.clone())),
        ..PgOptions::default()
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let right_ca = pki.write_ca(dir.path(), "ca.pem");
    let wrong_ca = TestPki::generate().write_ca(dir.path(), "other-ca.pem");
    let verify_full = server.url("?sslmode=verify-full");

    // `[history] ca_file` with the server's CA: readings go in and come back.
    let history = location(&verify_full, Some(right_ca.clone()));
    let (writer, handle) = Writer::spawn(&history, WriterConfig::default()).unwrap();
    let readings = (0..100)
        .map(|i| Reading::good("tls.sensor", i, i as f64))
        .collect();
    handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
    assert_eq!(handle.blocking_flush().unwrap().stored, 100);
    drop(handle);
    writer.join().unwrap();
    let reader = HistoryReader::open(&history).unwrap();
    assert_eq!(reader.total_readings().unwrap(), 100);

    // Another CA: one line naming the server, through the binary.
    let wrong = format!("{verify_full}&sslrootcert={}", wrong_ca.display());
    let out = db_command("status", &wrong);
    let line = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert!(
        line.contains(&format!(
            "PostgreSQL server 127.0.0.1:{}: TLS:",
            server.port
        )),
        "{line}"
    );
    // Both test CAs have the same (empty) name: the chain is built to the
    // wrong one and its signature fails.
    assert!(line.contains("invalid peer certificate"), "{line}");
    assert_eq!(line.trim_end().lines().count(), 1, "{line}");

    // The right CA in the url works through the binary too.
    let right = format!("{verify_full}&sslrootcert={}", right_ca.display());
    let out = db_command("status", &right);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("100"));
}

#[test]
fn tls_require_encrypts_and_the_server_refuses_plain_connections() {
    let pki = TestPki::generate();
    let Some(server) = PgInstance::start(PgOptions {
        tls: Some((pki.server_pem.clone(), pki.server_key.clone())),
        ..PgOptions::default()
    }) else {
        return;
    };
    let out = db_command("migrate", &server.url("?sslmode=require"));
    assert!(out.status.success(), "{}", stderr(&out));
    // The instance accepts TCP only over TLS (hostssl): plain is refused.
    let plain = db_command("status", &server.url("?sslmode=disable"));
    assert_eq!(plain.status.code(), Some(1));
    assert!(
        stderr(&plain).contains("no encryption"),
        "{}",
        stderr(&plain)
    );
}

/// Readings `from..to` of one sensor, one a second.
fn seq(from: i64, to: i64) -> Vec<Reading> {
    (from..to)
        .map(|i| Reading::good("line.seq", 1_759_406_400_000 + i * 1000, i as f64))
        .collect()
}

/// Sends batches of 10 readings `from..to` to the engine, each with an
/// acknowledgement counted in `acked` once its readings are committed; ends
/// with the tasks that count them (done once every batch is answered).
fn feed(
    running: &floorwatch::app::Running,
    from: i64,
    to: i64,
    acked: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> tokio::task::JoinHandle<Vec<tokio::task::JoinHandle<()>>> {
    use floorwatch::source::SourceEvent;
    let events = running.events.clone();
    tokio::spawn(async move {
        let mut counters = Vec::new();
        for start in (from..to).step_by(10) {
            let (ack, done) = tokio::sync::oneshot::channel();
            let readings = seq(start, (start + 10).min(to));
            let event = SourceEvent::Readings {
                readings,
                ack: Some(ack),
            };
            if events.send(event).await.is_err() {
                break;
            }
            let acked = acked.clone();
            counters.push(tokio::spawn(async move {
                if done.await.is_ok() {
                    acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }));
        }
        counters
    })
}

/// [`common::until`], saying what the engine and the writer show when it times out.
async fn until(
    running: &floorwatch::app::Running,
    what: &str,
    check: impl Fn(&floorwatch::engine::LiveState) -> bool,
) -> Arc<floorwatch::engine::LiveState> {
    let mut rx = running.snapshots.clone();
    let wait = rx.wait_for(|s| check(s));
    match tokio::time::timeout(std::time::Duration::from_secs(15), wait).await {
        Ok(Ok(s)) => s.clone(),
        _ => {
            let s = running.snapshots.borrow().clone();
            panic!(
                "timed out waiting for {what}: received {}, shown {:?}, writer {:?}",
                s.received,
                s.history,
                running.store.stats()
            )
        }
    }
}

async fn all_answered(counters: Vec<tokio::task::JoinHandle<()>>) {
    for counter in counters {
        counter.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_ingest_shows_reconnecting_with_the_buffer_full_and_loses_nothing() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let Some(server) = PgInstance::start(PgOptions::default()) else {
        return;
    };
    let history = location(&server.url(""), None);
    let config = floorwatch::config::Config::parse(
        Path::new("restart.toml"),
        "[[sensor]]\nid = \"line.seq\"\n",
    )
    .unwrap();
    let running = floorwatch::app::Running::start(&config, history.clone())
        .await
        .unwrap();
    let before = Arc::new(AtomicU64::new(0));
    all_answered(feed(&running, 0, 1_000, before.clone()).await.unwrap()).await;
    assert_eq!(before.load(Ordering::SeqCst), 100);
    let stored = common::until(&running, "the first readings stored", |s| {
        s.history.stored >= 1_000
    })
    .await;
    assert!(!stored.history.reconnecting);

    server.stop();
    // Far more than the writer's channel holds: the engine waits on it.
    const N: i64 = 20_000;
    let after = Arc::new(AtomicU64::new(0));
    let feeder = feed(&running, 1_000, N, after.clone());
    let down = until(&running, "history: reconnecting", |s| {
        s.history.reconnecting && s.received > 1_000
    })
    .await;
    assert!(
        down.history
            .failing
            .as_deref()
            .unwrap_or_default()
            .contains(&server.port.to_string()),
        "{:?}",
        down.history
    );
    assert_eq!(
        after.load(Ordering::SeqCst),
        0,
        "nothing acknowledged while down"
    );
    assert!(
        !feeder.is_finished(),
        "the buffer is bounded: the sources wait"
    );

    server.start_again();
    all_answered(feeder.await.unwrap()).await;
    let up = common::until(&running, "every reading stored", |s| {
        !s.history.reconnecting && s.history.rows_committed >= N as u64
    })
    .await;
    assert_eq!(up.history.failing, None);
    let outcome = running.shutdown().await.unwrap();
    let s = &outcome.store;
    assert_eq!(s.stored + s.duplicates + s.superseded, s.rows_committed);
    assert_eq!(s.rows_committed, N as u64, "{s:?}");
    assert_eq!(after.load(Ordering::SeqCst), (N as u64 - 1_000) / 10);
    let reader = HistoryReader::open(history).unwrap();
    assert_eq!(reader.total_readings().unwrap(), N as u64);
}
