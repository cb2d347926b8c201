//! Alarms end to end through the running console (writer + engine) and a real
//! SQLite history file: raise, acknowledge, journal, restart and restore.

use crate::common;

use common::until;
use floorwatch::alarm::journal::{self, JournalFilter};
use floorwatch::alarm::{AlarmCommand, AlarmState, AlarmView, EventKind, Priority, kpi};
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::model::{Quality, Reading};
use floorwatch::source::SourceEvent;
use floorwatch::store::AlarmEventRow;
use std::path::Path;

const CONFIG: &str = r#"
[plant]
name = "Alarm plant"

[[sensor]]
id = "line1.temp"
name = "Line 1 temperature"
unit = "°C"
alarm = { hh = 40, h = 35, deadband = 0.5 }

[[sensor]]
id = "line1.vib"
alarm = { hh = 7, h = 5, priority = { h = "low" } }

[[sensor]]
id = "line2.flow"
# Low: its stale alarm (raised 1 s after start) must not ring the bell in other tests.
alarm = { l = 1, stale = "1s", priority = { stale = "low" } }
"#;

fn config() -> Config {
    Config::parse(Path::new("alarm.toml"), CONFIG).expect("test config is valid")
}

async fn send(running: &Running, readings: Vec<Reading>) {
    running
        .events
        .send(SourceEvent::readings(readings))
        .await
        .expect("engine is running");
}

async fn command(running: &Running, command: AlarmCommand) {
    running
        .commands
        .send(command)
        .await
        .expect("engine is running");
}

fn alarm<'a>(state: &'a LiveState, key: &str) -> Option<&'a AlarmView> {
    state.alarms.iter().find(|a| a.key == key)
}

fn state_of(state: &LiveState, key: &str) -> Option<AlarmState> {
    alarm(state, key).map(|a| a.state)
}

fn journal_rows(db: &Path) -> Vec<AlarmEventRow> {
    let mut rows = journal::query(
        db,
        &JournalFilter {
            limit: Some(10_000),
            ..Default::default()
        },
    )
    .expect("journal readable");
    rows.reverse();
    rows
}

fn events(rows: &[AlarmEventRow]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r.condition != "stale")
        .map(|r| {
            (
                format!("{}/{}", r.sensor, r.condition),
                r.event.clone(),
                r.state.clone(),
            )
        })
        .collect()
}

fn e(key: &str, event: &str, state: &str) -> (String, String, String) {
    (key.into(), event.into(), state.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raise_ack_journal_restart_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let config = config();

    // First run: hh raises, the operator acknowledges it.
    let running = Running::start(&config, &db).await.unwrap();
    send(
        &running,
        vec![
            Reading::good("line1.temp", 1_000, 41.5),
            Reading::good("line1.vib", 1_000, 5.5),
        ],
    )
    .await;
    let snap = until(&running, "hh and h alarms", |s| {
        state_of(s, "line1.temp/hh") == Some(AlarmState::Unacknowledged)
            && state_of(s, "line1.vib/h").is_some()
    })
    .await;
    let keys: Vec<&str> = snap.alarms.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["line1.temp/hh", "line1.temp/h", "line1.vib/h"],
        "most urgent first"
    );
    let hh = alarm(&snap, "line1.temp/hh").unwrap();
    assert_eq!((hh.priority, hh.value), (Priority::Critical, Some(41.5)));
    assert_eq!(hh.message, "Line 1 temperature 41.5 °C above hh 40");
    assert_eq!(snap.alarm_bell, 1, "one new critical alarm rings the bell");
    command(
        &running,
        AlarmCommand::Comment {
            key: "line1.temp/hh".into(),
            text: "cooling valve stuck".into(),
            operator: "alice".into(),
        },
    )
    .await;
    command(
        &running,
        AlarmCommand::Ack {
            key: "line1.temp/hh".into(),
            operator: "alice".into(),
        },
    )
    .await;
    let snap = until(&running, "the ack", |s| {
        state_of(s, "line1.temp/hh") == Some(AlarmState::Acknowledged)
    })
    .await;
    assert_eq!(
        alarm(&snap, "line1.temp/hh").unwrap().acked_by.as_deref(),
        Some("alice")
    );
    // vib returns to normal unacknowledged.
    send(&running, vec![Reading::good("line1.vib", 2_000, 1.0)]).await;
    until(&running, "vib RTN", |s| {
        state_of(s, "line1.vib/h") == Some(AlarmState::ReturnToNormalUnacknowledged)
    })
    .await;
    running.shutdown().await.unwrap();

    let rows = journal_rows(&db);
    assert_eq!(
        events(&rows),
        vec![
            e("line1.temp/hh", "raised", "unack"),
            e("line1.temp/h", "raised", "unack"),
            e("line1.vib/h", "raised", "unack"),
            e("line1.temp/hh", "comment", "unack"),
            e("line1.temp/hh", "acked", "acked"),
            e("line1.vib/h", "cleared", "rtn unack"),
        ]
    );
    let ack = rows.iter().find(|r| r.event == "acked").unwrap();
    assert_eq!(
        (ack.operator.as_str(), ack.priority.as_str(), ack.value),
        ("alice", "critical", Some(41.5))
    );
    assert!(
        ack.ts > 1_000_000_000_000,
        "wall-clock time of the action: {}",
        ack.ts
    );
    let comment = rows.iter().find(|r| r.event == "comment").unwrap();
    assert_eq!(comment.comment, "cooling valve stuck");

    // Second run: the alarms come back as they were, before any reading.
    let running = Running::start(&config, &db).await.unwrap();
    let snap = running.snapshots.borrow().clone();
    assert_eq!(
        state_of(&snap, "line1.temp/hh"),
        Some(AlarmState::Acknowledged)
    );
    assert_eq!(
        alarm(&snap, "line1.temp/hh").unwrap().acked_by.as_deref(),
        Some("alice")
    );
    assert_eq!(
        state_of(&snap, "line1.temp/h"),
        Some(AlarmState::Unacknowledged)
    );
    assert_eq!(
        state_of(&snap, "line1.vib/h"),
        Some(AlarmState::ReturnToNormalUnacknowledged)
    );
    assert_eq!(snap.alarm_bell, 0, "restored alarms do not ring again");
    // Still over hh: nothing is raised a second time. Then back to normal.
    send(&running, vec![Reading::good("line1.temp", 3_000, 41.0)]).await;
    until(&running, "the reading", |s| s.received == 1).await;
    send(&running, vec![Reading::good("line1.temp", 4_000, 20.0)]).await;
    until(&running, "hh cleared", |s| {
        state_of(s, "line1.temp/hh").is_none()
    })
    .await;
    command(
        &running,
        AlarmCommand::AckAll {
            keys: vec!["line1.temp/h".into(), "line1.vib/h".into()],
            operator: "bob".into(),
        },
    )
    .await;
    until(&running, "all acked", |s| {
        s.alarms.iter().all(|a| a.condition == "stale")
    })
    .await;
    running.shutdown().await.unwrap();

    let rows = journal_rows(&db);
    assert_eq!(
        events(&rows)[6..],
        [
            e("line1.temp/hh", "cleared", "normal"),
            e("line1.temp/h", "cleared", "rtn unack"),
            e("line1.temp/h", "acked", "normal"),
            e("line1.vib/h", "acked", "normal"),
        ]
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.event == "raised" && r.condition != "stale")
            .count(),
        3
    );

    // Third run: nothing left to restore.
    let running = Running::start(&config, &db).await.unwrap();
    assert!(
        running
            .snapshots
            .borrow()
            .alarms
            .iter()
            .all(|a| a.condition == "stale")
    );
    running.shutdown().await.unwrap();

    // The journal view's filters and the KPIs read the same file.
    let acks = journal::query(
        &db,
        &JournalFilter {
            event: Some(EventKind::Acked),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        acks.iter().map(|r| r.operator.as_str()).collect::<Vec<_>>(),
        vec!["bob", "bob", "alice"]
    );
    let vib = journal::query(
        &db,
        &JournalFilter {
            sensor: Some("vib".into()),
            priority: Some(Priority::Low),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(vib.len(), 3);
    let now = floorwatch::model::now_ms();
    let k = kpi::from_journal(&db, now + 1, 3_600_000).unwrap();
    let rows = journal_rows(&db);
    let raised = |condition: &str| {
        rows.iter()
            .filter(|r| r.event == "raised" && r.condition == condition)
            .count()
    };
    assert_eq!(k.raised, raised("hh") + raised("h") + raised("stale"));
    assert_eq!(k.priority_mix[0], (Priority::Critical, 1));
    // vib h is low by config; so are line2.flow's stale alarms.
    assert_eq!(k.priority_mix[3], (Priority::Low, 1 + raised("stale")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_sensor_raises_stale_and_bad_quality_raises_bad() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let running = Running::start(&config(), &db).await.unwrap();
    send(&running, vec![Reading::good("line2.flow", 1, 20.0)]).await;
    // stale = 1s and the engine ticks every 500 ms: within 1.5 s of silence.
    let snap = until(&running, "stale", |s| {
        state_of(s, "line2.flow/stale") == Some(AlarmState::Unacknowledged)
    })
    .await;
    assert_eq!(
        alarm(&snap, "line2.flow/stale").unwrap().priority,
        Priority::Low
    );
    let mut bad = Reading::good("line2.flow", 2, -5.0);
    bad.quality = Quality::Bad;
    send(&running, vec![bad]).await;
    let snap = until(&running, "bad", |s| state_of(s, "line2.flow/bad").is_some()).await;
    assert_eq!(
        state_of(&snap, "line2.flow/stale"),
        Some(AlarmState::ReturnToNormalUnacknowledged)
    );
    assert_eq!(
        state_of(&snap, "line2.flow/l"),
        None,
        "a bad value is not compared with limits"
    );
    running.shutdown().await.unwrap();
    let rows = journal_rows(&db);
    let temp: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.sensor == "line2.flow")
        .map(|r| (r.condition.clone(), r.event.clone()))
        .collect();
    assert_eq!(
        temp,
        vec![
            ("stale".into(), "raised".into()),
            ("stale".into(), "cleared".into()),
            ("bad".into(), "raised".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let running = Running::start(&config(), &db).await.unwrap();
    send(&running, vec![Reading::good("line1.vib", 1, 8.0)]).await;
    until(&running, "hh", |s| state_of(s, "line1.vib/hh").is_some()).await;
    running.shutdown().await.unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let update = conn.execute("UPDATE alarm_events SET operator = 'mallory'", []);
    let delete = conn.execute("DELETE FROM alarm_events", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let vib = journal_rows(&db)
        .into_iter()
        .filter(|r| r.sensor == "line1.vib")
        .count();
    assert_eq!(vib, 2, "hh and h raised, nothing removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_operator_action_is_reported_in_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let running = Running::start(&config(), &db).await.unwrap();
    send(&running, vec![Reading::good("line2.flow", 1, 20.0)]).await;
    until(&running, "stale", |s| {
        state_of(s, "line2.flow/stale") == Some(AlarmState::Unacknowledged)
    })
    .await;
    command(
        &running,
        AlarmCommand::Unshelve {
            key: "line2.flow/stale".into(),
            operator: "ana".into(),
        },
    )
    .await;
    let snap = until(&running, "the refusal", |s| s.refused.is_some()).await;
    let (_, why) = snap.refused.clone().unwrap();
    assert_eq!(why, "alarm line2.flow/stale: cannot unshelve while unack");
    assert_eq!(
        state_of(&snap, "line2.flow/stale"),
        Some(AlarmState::Unacknowledged),
        "a refused action changes nothing"
    );
    running.shutdown().await.unwrap();
}
