//! The history's promise through the real binary and a Mosquitto of the
//! test's own (generated config, ephemeral port, persistence): a message is
//! acknowledged only once its readings are committed, so `kill -9` at any
//! moment and a history that cannot be written lose nothing; two consoles
//! sharing a client id are told so.
//!
//! The kill rounds run on both backends (a SQLite file; a scratch schema on
//! the machine's PostgreSQL) and scale with FLOORWATCH_KILL_ROUNDS and
//! FLOORWATCH_KILL_MESSAGES (benches/kill_rounds.sh runs 5 × 40,000).

use crate::common;
use crate::mqtt_support;

use floorwatch::store::postgres::scratch::Scratch;
use mqtt_support::*;
use rand::Rng;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TOPIC: &str = "line/seq";
pub const BASE_TS: i64 = 1_759_406_400_000;

/// The history a recorder writes: a SQLite file or a scratch schema.
pub enum Target {
    File(PathBuf),
    Server(Box<Scratch>),
}

impl Target {
    /// What `--db` takes.
    pub fn arg(&self) -> &OsStr {
        match self {
            Target::File(path) => path.as_os_str(),
            Target::Server(scratch) => OsStr::new(scratch.url()),
        }
    }

    pub fn count_rows(&self) -> u64 {
        match self {
            Target::File(path) => count_rows(path),
            Target::Server(scratch) => server_value(scratch, "SELECT count(*) FROM readings"),
        }
    }

    /// Every message `0..n` is in the history exactly once, with its own value.
    pub fn assert_all_stored(&self, n: u64) {
        let scratch = match self {
            Target::File(path) => return assert_all_stored(path, n),
            Target::Server(scratch) => scratch,
        };
        let value = |sql: &str| server_value(scratch, sql);
        assert_eq!(value("SELECT count(*) FROM readings"), n, "readings stored");
        assert_eq!(
            value("SELECT count(DISTINCT ts) FROM readings"),
            n,
            "distinct times"
        );
        assert_eq!(
            value("SELECT coalesce(sum(value), 0)::bigint FROM readings"),
            n * n.saturating_sub(1) / 2,
            "sum of the values 0..n"
        );
        assert_eq!(
            value(&format!(
                "SELECT count(*) FROM readings WHERE ts - {BASE_TS} = value::bigint"
            )),
            n,
            "each reading at its own time"
        );
    }
}

fn server_value(scratch: &Scratch, sql: &str) -> u64 {
    let values = scratch.query_i64(sql).unwrap();
    assert_eq!(values.len(), 1, "{sql}");
    values[0] as u64
}

pub fn config(url: &str, client_id: &str) -> String {
    format!(
        r#"[ui]
status_every = "100ms"

[[mqtt]]
name = "plant"
url = "{url}"
client_id = "{client_id}"

[[sensor]]
id = "line.seq"
mqtt = {{ broker = "plant", topic = "{TOPIC}", value = "/seq", time = "/ts", time_format = "ms" }}
"#
    )
}

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Publishes messages `0..n` (value `i` at `BASE_TS + i` ms) in the
/// background and returns the publisher (dropping it stops it).
pub fn publish_all(runtime: &tokio::runtime::Runtime, port: u16, n: u64) -> Publisher {
    let _guard = runtime.enter();
    let publisher = Publisher::connect(port, "fw-no-loss-publisher");
    let client = publisher.client();
    runtime.spawn(async move {
        for i in 0..n {
            let payload = format!(r#"{{"seq":{i},"ts":{}}}"#, BASE_TS + i as i64);
            if client
                .publish(TOPIC, rumqttc::QoS::AtLeastOnce, false, payload)
                .await
                .is_err()
            {
                return;
            }
        }
    });
    publisher
}

/// Every message `0..n` is in the history exactly once, with its own value.
fn assert_all_stored(db: &Path, n: u64) {
    let rows = stored(db);
    let missing = n as usize - rows.len().min(n as usize);
    assert_eq!(rows.len() as u64, n, "{missing} messages missing");
    for (i, (tag, ts, value)) in rows.iter().enumerate() {
        assert_eq!(
            (tag.as_str(), *ts, *value),
            ("line.seq", BASE_TS + i as i64, i as f64)
        );
    }
}

pub fn wait_subscribed(recorder: &mut Recorder) {
    recorder.wait_line("the subscription", |l| l.contains("subscribed to 1 of 1"));
}

#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_message() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let rounds = env_or("FLOORWATCH_KILL_ROUNDS", 5);
    let n = env_or("FLOORWATCH_KILL_MESSAGES", 40_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Target::File(dir.path().join("history.sqlite"));
    kill_rounds(dir.path(), &db, rounds, n);
}

#[test]
fn kill_9_of_a_postgresql_recorder_loses_no_acknowledged_message() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let Some(scratch) = common::postgres() else {
        return;
    };
    let rounds = env_or("FLOORWATCH_KILL_ROUNDS", 2);
    let n = env_or("FLOORWATCH_KILL_MESSAGES", 10_000);
    let dir = tempfile::tempdir().unwrap();
    kill_rounds(dir.path(), &Target::Server(Box::new(scratch)), rounds, n);
}

/// Messages `0..n` through a recorder into `db`, killed (`kill -9`) at a
/// random moment of each of `rounds` and restarted; then every message is
/// in the history exactly once.
fn kill_rounds(dir: &Path, db: &Target, rounds: u64, n: u64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let broker = OwnMosquitto::start(dir, "");
    let config = config(&broker.url(), "fw-kill9-console");
    let bin = common::floorwatch_bin();
    let mut rng = rand::rng();
    let start = || Recorder::start_on(&bin, dir, &config, db.arg(), |_| {});

    let mut recorder = start();
    wait_subscribed(&mut recorder);
    let mut publisher = publish_all(&runtime, broker.port, n);
    let per_round = n / (rounds + 1);
    // Rows in the file when the running recorder started (its own `stored`
    // counts from there).
    let mut rows_at_start = 0;
    for round in 0..rounds {
        // Somewhere in this round's share of the stream (never past its end).
        let target = round * per_round + rng.random_range(per_round / 2..per_round);
        let at = target.max(rows_at_start + 1).min(n) - rows_at_start;
        recorder.wait_count("stored", at);
        // Not a synchronisation: moves the kill off the status line's beat,
        // to an arbitrary point of the receive → commit → acknowledge cycle.
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..20)));
        recorder.kill9();
        rows_at_start = db.count_rows();
        eprintln!("round {round}: killed at {target}+ rows; {rows_at_start} rows in the history");
        recorder = start();
    }
    runtime.block_on(publisher.wait_acked(n));
    let left = n - rows_at_start;
    // A lost message never arrives: then the count below says how many.
    let _ = recorder.try_wait_count("stored", left);
    let (status, lines) = recorder.terminate();
    assert!(status.success(), "{status:?}\n{}", lines.join("\n"));
    db.assert_all_stored(n);
    eprintln!("kill rounds: {n}/{n} messages stored once after {rounds} kills");
}

/// Limits the child's file size (RLIMIT_FSIZE) so the history's writes fail
/// like a full disk, with SIGXFSZ ignored so the write returns EFBIG instead
/// of killing the process.
fn limit_file_size(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

#[test]
fn a_full_disk_then_sigterm_exits_promptly_and_the_broker_keeps_the_rest() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    const N: u64 = 20_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let config = config(&broker.url(), "fw-disk-full-console");
    let db = dir.path().join("history.sqlite");
    let bin = common::floorwatch_bin();

    let mut recorder =
        Recorder::start_with(&bin, dir.path(), &config, |c| limit_file_size(c, 512 << 10));
    wait_subscribed(&mut recorder);
    let mut publisher = publish_all(&runtime, broker.port, N);
    recorder.wait_line("a failing commit", |l| l.contains("history commit failed"));
    let asked = std::time::Instant::now();
    let (status, lines) = recorder.terminate();
    eprintln!("exited {:?} after SIGTERM", asked.elapsed());
    let log = lines.join("\n");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("neither stored nor acknowledged"),
        "the exit says what happened:\n{log}"
    );
    let stored_before = count_rows(&db);
    assert!(stored_before < N, "the limit stopped the history early");

    // With room again, everything not stored comes back from the broker.
    let mut recorder = Recorder::start(&bin, dir.path(), &config);
    recorder.wait_count("stored", N - stored_before);
    runtime.block_on(publisher.wait_acked(N));
    let (status, lines) = recorder.terminate();
    assert!(status.success(), "{status:?}\n{}", lines.join("\n"));
    assert_all_stored(&db, N);
}

#[test]
fn two_consoles_with_one_client_id_are_told_so() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = OwnMosquitto::start(dir.path(), "");
    let config = config(&broker.url(), "fw-twin");
    let first_dir = dir.path().join("first");
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let bin = common::floorwatch_bin();
    let mut first = Recorder::start(&bin, &first_dir, &config);
    wait_subscribed(&mut first);
    let _second = Recorder::start(&bin, &second_dir, &config);
    let warning = first.wait_line("the takeover warning", |l| {
        l.contains("another client probably uses client id \"fw-twin\"")
    });
    assert!(
        warning.contains("give every console its own client_id"),
        "{warning}"
    );
}
