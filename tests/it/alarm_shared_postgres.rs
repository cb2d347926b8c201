//! Many consoles, one alarm truth (issue 15): two consoles and a recorder,
//! each with its own engine, on one PostgreSQL history (the machine's
//! server, a scratch schema), fed by a field device over a real MQTT broker
//! (rumqttd in process, loopback, ephemeral port). The reading raises the
//! alarm on all three and the journal holds one raised row; an ack on console
//! A shows on console B within 1 s through LISTEN/NOTIFY; B restarted
//! restores the acknowledged state; a shelve and an unshelve on A show on B.
//! `[alarms] alarm_topic` is configured too: with a PostgreSQL history the
//! database is preferred, so no ack is journaled twice.

use crate::common;

use common::until;
use floorwatch::alarm::journal::{self, JournalFilter};
use floorwatch::alarm::{AlarmCommand, AlarmState};
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::sim::mqtt::InProcessBroker;
use floorwatch::store::{AlarmEventRow, Location};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "line1.temp/hh";

fn station_config(port: u16, name: &str) -> Config {
    let text = format!(
        r#"
[plant]
name = "Shared plant"

[alarms]
broker = "plant"
alarm_topic = "plant/alarms"

[[mqtt]]
name = "plant"
url = "mqtt://127.0.0.1:{port}"
client_id = "{name}"

[[sensor]]
id = "line1.temp"
name = "Line 1 temperature"
mqtt = {{ broker = "plant", topic = "factory/line1/temp", value = "/v", time = "/ts", time_format = "ms" }}
alarm = {{ hh = 40, h = 35 }}
"#
    );
    Config::parse(Path::new("shared.toml"), &text).expect("test config is valid")
}

fn state_of(s: &LiveState, key: &str) -> Option<AlarmState> {
    s.alarms.iter().find(|a| a.key == key).map(|a| a.state)
}

fn mqtt_up(s: &LiveState) -> bool {
    s.sources
        .iter()
        .any(|x| x.name == "plant" && x.state.is_up())
}

/// A plain MQTT client publishing JSON readings stamped at the device.
async fn field_device(port: u16) -> AsyncClient {
    let mut options = MqttOptions::new("field-device", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
}

async fn station(port: u16, name: &str, db: &Location) -> Running {
    let running = Running::start(&station_config(port, name), db.clone())
        .await
        .unwrap();
    until(&running, &format!("{name} subscribed"), mqtt_up).await;
    running
}

/// Waits for `check` on `running`'s state for at most `deadline`.
async fn within(
    deadline: Duration,
    running: &Running,
    what: &str,
    check: impl Fn(&LiveState) -> bool,
) {
    let mut rx = running.snapshots.clone();
    let waited = tokio::time::timeout(deadline, rx.wait_for(|s| check(s))).await;
    assert!(
        matches!(waited, Ok(Ok(_))),
        "{what} not within {deadline:?}; alarms: {:#?}",
        running.snapshots.borrow().alarms
    );
}

fn hh_rows(db: &Location) -> Vec<AlarmEventRow> {
    let mut rows = journal::query(db, &JournalFilter::default()).unwrap();
    rows.retain(|r| r.condition == "hh");
    rows.reverse();
    rows
}

fn events(rows: &[AlarmEventRow]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|r| (r.event.as_str(), r.state.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_on_one_postgresql_history_share_one_alarm_truth() {
    let Some(pg) = common::postgres() else { return };
    let db = pg.location();
    let broker = InProcessBroker::start().await.unwrap();
    let a = station(broker.port, "console-a", &db).await;
    let b = station(broker.port, "console-b", &db).await;
    let recorder = station(broker.port, "recorder", &db).await;

    let device = field_device(broker.port).await;
    let stamped = floorwatch::model::now_ms();
    device
        .publish(
            "factory/line1/temp",
            QoS::AtLeastOnce,
            false,
            format!(r#"{{"v": 41.5, "ts": {stamped}}}"#),
        )
        .await
        .unwrap();
    for (station, name) in [(&a, "A"), (&b, "B"), (&recorder, "the recorder")] {
        until(station, &format!("hh raised on {name}"), |s| {
            state_of(s, KEY) == Some(AlarmState::Unacknowledged)
        })
        .await;
        station.store.flush().await.unwrap();
    }
    let raised = hh_rows(&db);
    assert_eq!(events(&raised), [("raised", "unack")], "{raised:#?}");
    assert_eq!(raised[0].occurrence, Some(stamped));

    // Ack on A: B and the recorder show it, B within 1 s.
    let acked_at = Instant::now();
    a.commands
        .send(AlarmCommand::Ack {
            key: KEY.into(),
            operator: "ana".into(),
        })
        .await
        .unwrap();
    within(Duration::from_secs(1), &b, "A's ack on B", |s| {
        state_of(s, KEY) == Some(AlarmState::Acknowledged)
    })
    .await;
    eprintln!("ack on A shown on B after {:?}", acked_at.elapsed());
    let on_b = b.snapshots.borrow().clone();
    let shown = on_b.alarms.iter().find(|x| x.key == KEY).unwrap();
    assert_eq!(shown.acked_by.as_deref(), Some("ana"));
    until(&recorder, "A's ack on the recorder", |s| {
        state_of(s, KEY) == Some(AlarmState::Acknowledged)
    })
    .await;

    // B restarted: the acknowledged state comes back from the database.
    b.shutdown().await.unwrap();
    let b = Running::start(&station_config(broker.port, "console-b"), db.clone())
        .await
        .unwrap();
    {
        let restored = b.snapshots.borrow();
        let alarm = restored.alarms.iter().find(|x| x.key == KEY);
        assert_eq!(
            alarm.map(|x| (x.state, x.acked_by.as_deref())),
            Some((AlarmState::Acknowledged, Some("ana"))),
            "restored on B: {:#?}",
            restored.alarms
        );
    }

    // Shelve on A shows on the restarted B; so does the unshelve.
    a.commands
        .send(AlarmCommand::Shelve {
            key: KEY.into(),
            for_ms: 3_600_000,
            operator: "ana".into(),
        })
        .await
        .unwrap();
    until(&b, "A's shelve on B", |s| {
        state_of(s, KEY) == Some(AlarmState::Shelved)
    })
    .await;
    a.commands
        .send(AlarmCommand::Unshelve {
            key: KEY.into(),
            operator: "ana".into(),
        })
        .await
        .unwrap();
    until(&b, "A's unshelve on B", |s| {
        state_of(s, KEY) == Some(AlarmState::Unacknowledged)
    })
    .await;
    until(&recorder, "A's unshelve on the recorder", |s| {
        state_of(s, KEY) == Some(AlarmState::Unacknowledged)
    })
    .await;

    let console_a = a.console.clone();
    for station in [a, b, recorder] {
        station.shutdown().await.unwrap();
    }
    // Each action once, by A; the raise once, whoever wrote it.
    let rows = hh_rows(&db);
    assert_eq!(
        events(&rows),
        [
            ("raised", "unack"),
            ("acked", "acked"),
            ("shelved", "shelved"),
            ("unshelved", "unack"),
        ],
        "{rows:#?}"
    );
    for action in &rows[1..] {
        assert_eq!(
            (action.origin.as_str(), action.operator.as_str()),
            (console_a.as_str(), "ana")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_whose_journal_connection_is_cut_still_gets_every_action() {
    let Some(pg) = common::postgres() else { return };
    let db = pg.location();
    let broker = InProcessBroker::start().await.unwrap();
    let a = station(broker.port, "console-a", &db).await;
    let b = station(broker.port, "console-b", &db).await;
    let device = field_device(broker.port).await;
    device
        .publish(
            "factory/line1/temp",
            QoS::AtLeastOnce,
            false,
            format!(r#"{{"v": 41.5, "ts": {}}}"#, floorwatch::model::now_ms()),
        )
        .await
        .unwrap();
    for station in [&a, &b] {
        until(station, "hh raised", |s| {
            state_of(s, KEY) == Some(AlarmState::Unacknowledged)
        })
        .await;
    }
    let mut status = b.shared_journal.clone().expect("B follows the journal");
    status.wait_for(|s| s.connected).await.unwrap();

    // The server ends B's listening session, as a restart or a network cut would.
    let cut = pg
        .query_i64(&format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'floorwatch-listen {}') cut",
            b.console
        ))
        .unwrap();
    assert_eq!(cut, [1]);
    status.wait_for(|s| !s.connected).await.unwrap();
    // Committed while B is away (or reconnecting): B reads it on its return.
    a.commands
        .send(AlarmCommand::Ack {
            key: KEY.into(),
            operator: "ana".into(),
        })
        .await
        .unwrap();
    a.store.flush().await.unwrap();
    until(&b, "A's ack on B after the cut", |s| {
        state_of(s, KEY) == Some(AlarmState::Acknowledged)
    })
    .await;
    let status = status.borrow().clone();
    assert!(status.connected && status.sessions >= 2, "{status:?}");
    for station in [a, b] {
        station.shutdown().await.unwrap();
    }
    let rows = hh_rows(&db);
    assert_eq!(
        events(&rows),
        [("raised", "unack"), ("acked", "acked")],
        "{rows:#?}"
    );
}
