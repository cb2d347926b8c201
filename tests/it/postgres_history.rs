//! A PostgreSQL history through the binary, against the machine's server
//! (127.0.0.1:5432, database `test`; each test in a schema of its own): the
//! same commands on the same input give the same output as on a SQLite
//! file. Skips with a reason when PostgreSQL (or Mosquitto) is absent; fails
//! under FLOORWATCH_REQUIRE_SERVICES=1.

use crate::billing_support::{self, MINUTE};
use crate::common;
use crate::mqtt_support::{Publisher, Recorder};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

fn floorwatch(args: &[&OsStr]) -> Output {
    Command::new(common::floorwatch_bin())
        .args(args)
        .env_remove("FLOORWATCH_DB")
        .env_remove("FLOORWATCH_CONFIG")
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `floorwatch export readings` of `db` to stdout.
fn export_readings(db: &OsStr) -> String {
    ok(floorwatch(&[
        "export".as_ref(),
        "readings".as_ref(),
        "--db".as_ref(),
        db,
    ]))
}

/// The import summary without its timing.
fn import(db: &OsStr, file: &Path) -> String {
    let o = floorwatch(&["import".as_ref(), "--db".as_ref(), db, file.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split(" in ").next().unwrap_or(l).to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn import_export_and_status_on_postgresql_match_sqlite() {
    let Some(pg) = common::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("h.sqlite");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/factory_day.csv");
    for db in [sqlite.as_os_str(), pg.url().as_ref()] {
        let first = import(db, &fixture);
        assert!(first.contains("8640 new"), "{first}");
        let again = import(db, &fixture);
        assert!(
            again.contains("0 new, 8640 already stored, 0 updated"),
            "{again}"
        );
    }
    assert_eq!(
        export_readings(pg.url().as_ref()),
        export_readings(sqlite.as_os_str())
    );
    let aggregates = |db: &OsStr| {
        ok(floorwatch(&[
            "export".as_ref(),
            "aggregates".as_ref(),
            "--every".as_ref(),
            "1h".as_ref(),
            "--db".as_ref(),
            db,
        ]))
    };
    assert_eq!(
        aggregates(pg.url().as_ref()),
        aggregates(sqlite.as_os_str())
    );
    let status = ok(floorwatch(&[
        "db".as_ref(),
        "status".as_ref(),
        "--db".as_ref(),
        pg.url().as_ref(),
    ]));
    assert!(status.contains("readings        8640"), "{status}");
    assert!(
        status.contains(&format!(
            "schema version  {v} (this floorwatch: {v})",
            v = floorwatch::store::PG_SCHEMA_VERSION
        )),
        "{status}"
    );
}

#[test]
fn invoices_from_postgresql_match_those_from_sqlite() {
    let Some(pg) = common::postgres() else { return };
    let config = billing_support::one_meter_config(
        "America/Sao_Paulo",
        "",
        "currency = \"BRL\"\nenergy = [ { price = 0.89 } ]\nmonthly_fee = 25.00",
    );
    let readings = billing_support::steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        15 * MINUTE,
        0.5,
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("plant.toml");
    std::fs::write(&config_path, config).unwrap();
    let sqlite = dir.path().join("h.sqlite");
    billing_support::write_history(&sqlite, readings.clone());
    billing_support::write_history(pg.location(), readings);
    let invoice = |db: &OsStr| {
        ok(floorwatch(&[
            "invoice".as_ref(),
            "--config".as_ref(),
            config_path.as_os_str(),
            "--db".as_ref(),
            db,
            "--customer".as_ref(),
            "c1".as_ref(),
            "--period".as_ref(),
            "2026-10".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]))
    };
    let from_pg = invoice(pg.url().as_ref());
    assert!(from_pg.contains("BRL"), "{from_pg}");
    assert_eq!(from_pg, invoice(sqlite.as_os_str()));
}

#[test]
fn migrate_creates_the_partitioned_schema_and_refuses_a_newer_one() {
    let Some(pg) = common::postgres() else { return };
    let migrate = |db: &str| {
        floorwatch(&[
            "db".as_ref(),
            "migrate".as_ref(),
            "--db".as_ref(),
            db.as_ref(),
        ])
    };
    let first = ok(migrate(pg.url()));
    assert!(
        first.contains(&format!(
            "schema version {}",
            floorwatch::store::PG_SCHEMA_VERSION
        )),
        "{first}"
    );
    assert_eq!(
        pg.query_i64("SELECT count(*) FROM pg_tables WHERE tablename = 'readings_default' AND schemaname = current_schema()")
            .unwrap(),
        vec![1]
    );
    pg.query_i64("UPDATE schema_version SET version = 99; SELECT 1")
        .unwrap();
    let newer = migrate(pg.url());
    assert_eq!(newer.status.code(), Some(1), "{}", stderr(&newer));
    assert!(
        stderr(&newer).contains("schema version 99, newer than this floorwatch understands"),
        "{}",
        stderr(&newer)
    );
}

#[test]
fn an_unreachable_server_a_missing_database_and_tls_are_one_clear_line() {
    let status = |db: &str| {
        floorwatch(&[
            "db".as_ref(),
            "status".as_ref(),
            "--db".as_ref(),
            db.as_ref(),
        ])
    };
    // Nothing listens on port 1 of loopback.
    let down = status("postgres://ops:S3cret@127.0.0.1:1/plant");
    assert_eq!(down.status.code(), Some(1));
    let line = stderr(&down);
    assert!(
        line.contains("PostgreSQL server 127.0.0.1:1 unreachable"),
        "{line}"
    );
    assert!(!line.contains("S3cret"), "{line}");
    assert_eq!(line.trim_end().lines().count(), 1, "{line}");
    let tls = status("postgres://ops:S3cret@127.0.0.1/plant?sslmode=verify-ca");
    assert_eq!(tls.status.code(), Some(2));
    assert!(
        stderr(&tls).contains(
            "sslmode=verify-ca is not supported; use disable, prefer, require or verify-full"
        ),
        "{}",
        stderr(&tls)
    );
    assert!(!stderr(&tls).contains("S3cret"));
    if common::postgres().is_none() {
        return;
    }
    let missing = status("postgres://postgres@127.0.0.1:5432/floorwatch_no_such_db");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("database \"floorwatch_no_such_db\" does not exist"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_qos1_recorded_into_postgresql_exports_like_sqlite() {
    if !common::machine_service("Mosquitto", "127.0.0.1:1883") {
        return;
    }
    let Some(pg) = common::postgres() else { return };
    let run = common::unique_run();
    let prefix = format!("floorwatch-test/{run}");
    // 400 readings over two months, the last 40 a re-delivery of earlier ones.
    let payloads: Vec<String> = (0..400i64)
        .map(|i| {
            let i = if i >= 360 { i - 360 } else { i };
            format!(
                r#"{{"id":"s{}","v":{i},"t":{}}}"#,
                i % 4,
                1_759_190_400_000i64 + i * 3_600_000
            )
        })
        .collect();
    let mut exports = Vec::new();
    for (name, db) in [("sqlite", None), ("postgres", Some(pg.url()))] {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"[ui]
status_every = "100ms"

[[mqtt]]
name = "machine"
url = "mqtt://127.0.0.1:1883"
client_id = "fw-test-{name}-{run}"
clean_session = true

[[mqtt_pattern]]
broker = "machine"
topic = "{prefix}/{name}"
id = "batch.{{id}}"
id_path = "/id"
value = "/v"
time = "/t"
time_format = "ms"
"#
        );
        let sqlite = dir.path().join("history.sqlite");
        let target: &OsStr = db.map_or(sqlite.as_os_str(), OsStr::new);
        let mut recorder = Recorder::start_on(
            &common::floorwatch_bin(),
            dir.path(),
            &config,
            target,
            |_| {},
        );
        recorder.wait_line("subscribed", |l| {
            l.contains("subscribed to 1 of 1 topic filters")
        });
        let mut publisher = Publisher::connect(1883, &format!("fw-test-pub-{name}-{run}"));
        for p in &payloads {
            publisher
                .publish(&format!("{prefix}/{name}"), p.clone())
                .await;
        }
        publisher.wait_acked(payloads.len() as u64).await;
        recorder.wait_count("stored", 360);
        let (status, log) = recorder.terminate();
        assert!(status.success(), "{status:?}\n{}", log.join("\n"));
        exports.push(export_readings(target));
    }
    assert_eq!(exports[0].lines().count(), 361, "{}", exports[0]);
    assert_eq!(exports[1], exports[0]);
}

#[test]
fn replay_record_stores_into_postgresql_what_import_stores_into_sqlite() {
    let Some(pg) = common::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("h.sqlite");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/factory_day.csv");
    import(sqlite.as_os_str(), &fixture);
    let replayed = floorwatch(&[
        "replay".as_ref(),
        "--headless".as_ref(),
        "--speed".as_ref(),
        "max".as_ref(),
        "--record".as_ref(),
        "--db".as_ref(),
        pg.url().as_ref(),
        fixture.as_os_str(),
    ]);
    ok(replayed);
    assert_eq!(
        export_readings(pg.url().as_ref()),
        export_readings(sqlite.as_os_str())
    );
}

fn db_check(db: &str) -> Output {
    floorwatch(&[
        "db".as_ref(),
        "check".as_ref(),
        "--db".as_ref(),
        db.as_ref(),
    ])
}

#[test]
fn db_check_on_postgresql_checks_partitions_and_indexes() {
    let Some(pg) = common::postgres() else { return };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/factory_day.csv");
    import(pg.url().as_ref(), &fixture);
    // amcheck lives in the test's schema, so it goes with it.
    pg.query_i64("CREATE EXTENSION IF NOT EXISTS amcheck; SELECT 1")
        .unwrap();
    assert_eq!(ok(db_check(pg.url())).trim(), "ok");

    pg.query_i64("CREATE TABLE readings_2030_01 (LIKE readings); SELECT 1")
        .unwrap();
    let damaged = db_check(pg.url());
    assert_eq!(damaged.status.code(), Some(2), "{}", stderr(&damaged));
    let problems = String::from_utf8_lossy(&damaged.stdout);
    assert!(
        problems.contains("partition readings_2030_01 is not attached to readings"),
        "{problems}"
    );
    assert!(
        stderr(&damaged).contains("1 problem(s)"),
        "{}",
        stderr(&damaged)
    );
}

#[cfg(feature = "demo")]
#[test]
fn the_demo_records_into_postgresql() {
    let Some(pg) = common::postgres() else { return };
    let demo = common::process::Process::start(&["demo", "--headless", "--db", pg.url()]);
    demo.line_with("Modbus link connected");
    demo.line_with("stored=");
    demo.line_with("stored=");
    assert!(demo.terminate().success());
    let stored = pg
        .query_i64("SELECT count(*) FROM readings r JOIN sensors s USING (sensor_id) WHERE s.tag = 'main.power'")
        .unwrap();
    assert!(stored[0] >= 1, "{stored:?}");
}
