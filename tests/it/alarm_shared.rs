//! Two consoles on one plant, end to end over a real MQTT broker (rumqttd,
//! in process, loopback, ephemeral port): a reading over `hh` arrives over
//! MQTT and raises the alarm on both; an operator acknowledges it with the `a`
//! key on console A;
//! console B shows it acknowledged by that operator and journals the ack.

use crate::common;

use common::until;
use crossterm::event::{Event as KeyInput, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::alarm::journal::{self, JournalFilter};
use floorwatch::alarm::{AlarmCommand, AlarmState, EventKind};
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::sim::mqtt::InProcessBroker;
use floorwatch::source::mqtt::alarm_topic::AlarmMessage;
use floorwatch::ui::state::Effect;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::time::Duration;

fn console_config(port: u16, name: &str) -> Config {
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
mqtt = {{ broker = "plant", topic = "factory/line1/temp" }}
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

/// A plain MQTT client: publishes the reading and watches the alarm topic.
async fn field_device(
    port: u16,
) -> (
    AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<AlarmMessage>,
) {
    let mut options = MqttOptions::new("field-device", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    client
        .subscribe("plant/alarms/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event
                && let Ok(m) = serde_json::from_slice::<AlarmMessage>(&p.payload)
                && tx.send(m).is_err()
            {
                break;
            }
        }
    });
    (client, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_on_one_console_shows_on_the_other() {
    let broker = InProcessBroker::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db_a, db_b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
    let a = Running::start(&console_config(broker.port, "console-a"), &db_a)
        .await
        .unwrap();
    let b = Running::start(&console_config(broker.port, "console-b"), &db_b)
        .await
        .unwrap();
    until(&a, "console A subscribed", mqtt_up).await;
    until(&b, "console B subscribed", mqtt_up).await;

    let (device, mut shared) = field_device(broker.port).await;
    device
        .publish("factory/line1/temp", QoS::AtLeastOnce, false, "41.5")
        .await
        .unwrap();
    let key = "line1.temp/hh";
    let on_a = until(&a, "hh on A", |s| {
        state_of(s, key) == Some(AlarmState::Unacknowledged)
    })
    .await;
    until(&b, "hh on B", |s| {
        state_of(s, key) == Some(AlarmState::Unacknowledged)
    })
    .await;
    assert_eq!(
        on_a.alarms.iter().find(|x| x.key == key).unwrap().value,
        Some(41.5)
    );

    // The operator on console A: Tab to the alarm pane, `a` on the alarm.
    let mut ui = common::tui::ui_state(
        &console_config(broker.port, "console-a"),
        (*on_a).clone(),
        120,
        40,
    );
    let press = |code| KeyInput::Key(KeyEvent::new(code, KeyModifiers::NONE));
    ui.on_event(&press(KeyCode::Tab));
    let effects = ui.on_event(&press(KeyCode::Char('a')));
    let [Effect::Alarm(ack)] = effects.as_slice() else {
        panic!("`a` in the alarm pane acknowledges: {effects:?}");
    };
    assert_eq!(
        ack,
        &AlarmCommand::Ack {
            key: key.into(),
            operator: "ana".into()
        }
    );
    a.commands.send(ack.clone()).await.unwrap();
    until(&a, "ack on A", |s| {
        state_of(s, key) == Some(AlarmState::Acknowledged)
    })
    .await;
    let on_b = until(&b, "ack shown on B", |s| {
        state_of(s, key) == Some(AlarmState::Acknowledged)
    })
    .await;
    let shown = on_b.alarms.iter().find(|x| x.key == key).unwrap();
    assert_eq!(shown.acked_by.as_deref(), Some("ana"));
    assert_eq!(shown.state, AlarmState::Acknowledged);

    // The retained state on the topic says acked, by ana, on console A.
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = shared.recv().await.expect("alarm topic watcher runs");
            if m.key == key && m.event == "acked" && m.console.starts_with("console-a") {
                return m;
            }
        }
    })
    .await
    .expect("console A publishes its ack");
    assert_eq!(
        (acked.operator.as_str(), acked.state.as_str()),
        ("ana", "acked")
    );

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    let acks_on_b = journal::query(
        &db_b,
        &JournalFilter {
            event: Some(EventKind::Acked),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(acks_on_b.len(), 1, "{acks_on_b:?}");
    assert_eq!(acks_on_b[0].operator, "ana");
    assert!(
        acks_on_b[0].comment.starts_with("via console console-a"),
        "{:?}",
        acks_on_b[0].comment
    );
    let acks_on_a = journal::query(
        &db_a,
        &JournalFilter {
            event: Some(EventKind::Acked),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        acks_on_a.len(),
        1,
        "B's echo of the ack is not applied twice: {acks_on_a:?}"
    );
}
