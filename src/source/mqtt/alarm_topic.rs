//! Alarm state shared by several consoles over MQTT: every transition is
//! published retained to `<alarm_topic>/<sensor>/<condition>` (JSON), and
//! acknowledgements published by other consoles are applied here, so an ack
//! on one screen stops the blink on all of them.

use super::connect::{Connection, SetupError};
use crate::alarm::{AlarmCommand, AlarmEvent};
use crate::config::Config;
use crate::model::TimestampMs;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The retained message of one alarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmMessage {
    pub key: String,
    pub sensor: String,
    pub condition: String,
    pub event: String,
    pub state: String,
    pub priority: String,
    pub value: Option<f64>,
    pub ts: TimestampMs,
    pub operator: String,
    /// Which console published it (its MQTT client id).
    pub console: String,
}

impl AlarmMessage {
    pub fn from_event(event: &AlarmEvent, console: &str) -> Self {
        AlarmMessage {
            key: event.key.clone(),
            sensor: event.sensor.to_string(),
            condition: event.condition.label().to_owned(),
            event: event.kind.label().to_owned(),
            state: event.state.label().to_owned(),
            priority: event.priority.label().to_owned(),
            value: event.value,
            ts: event.ts,
            operator: event.operator.clone(),
            console: console.to_owned(),
        }
    }

    /// An acknowledgement made on another console, as a command for this engine.
    pub fn remote_ack(&self, console: &str) -> Option<AlarmCommand> {
        (self.event == "acked" && self.console != console).then(|| AlarmCommand::AckFromConsole {
            key: self.key.clone(),
            acked_ms: self.ts,
            operator: self.operator.clone(),
            console: self.console.clone(),
        })
    }
}

/// Where to share alarm state, resolved from `[alarms]` and its `[[mqtt]]` broker.
#[derive(Clone, Debug)]
pub struct SharedTopic {
    pub options: MqttOptions,
    pub prefix: String,
    pub console: String,
}

/// Why the shared alarm topic cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SharedTopicError {
    #[error("[alarms] broker {0:?} is not an [[mqtt]] broker")]
    UnknownBroker(String),
    #[error(transparent)]
    Setup(#[from] SetupError),
}

impl SharedTopic {
    /// `None` when `[alarms] alarm_topic` is not configured.
    pub fn from_config(config: &Config) -> Result<Option<SharedTopic>, SharedTopicError> {
        let (Some(broker), Some(topic)) = (&config.alarms.broker, &config.alarms.alarm_topic)
        else {
            return Ok(None);
        };
        let Some(broker) = config
            .mqtt
            .iter()
            .find(|b| b.name.get_ref() == broker.get_ref())
        else {
            return Err(SharedTopicError::UnknownBroker(broker.get_ref().clone()));
        };
        let connection = Connection::from_config(broker)?;
        // A connection of its own: a console id that no other console uses.
        let console = format!("{}-alarms-{}", connection.client_id, std::process::id());
        let mut options = connection.options(0);
        options
            .set_client_id(console.clone())
            .set_manual_acks(false)
            .set_clean_session(true);
        Ok(Some(SharedTopic {
            options,
            prefix: topic.get_ref().clone(),
            console,
        }))
    }

    fn topic_of(&self, message: &AlarmMessage) -> String {
        let clean = |s: &str| s.replace(['/', '+', '#'], "_");
        format!(
            "{}/{}/{}",
            self.prefix,
            clean(&message.sensor),
            clean(&message.condition)
        )
    }
}

/// Publishes this console's transitions and feeds other consoles' acks to
/// the engine until `cancel` fires or the engine goes away.
pub async fn run(
    shared: SharedTopic,
    mut transitions: mpsc::Receiver<AlarmEvent>,
    commands: mpsc::Sender<AlarmCommand>,
    cancel: CancellationToken,
) {
    let (client, mut eventloop) = AsyncClient::new(shared.options.clone(), 1024);
    let filter = format!("{}/#", shared.prefix);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            event = transitions.recv() => {
                let Some(event) = event else { break };
                publish(&shared, &client, &event);
            }
            polled = eventloop.poll() => {
                if !on_mqtt_event(&shared, &client, &filter, &commands, polled).await {
                    break;
                }
            }
        }
    }
    // Let queued transitions go out before the connection closes.
    let _ = client.disconnect().await;
    drain(&mut eventloop).await;
}

fn publish(shared: &SharedTopic, client: &AsyncClient, event: &AlarmEvent) {
    let message = AlarmMessage::from_event(event, &shared.console);
    let Ok(payload) = serde_json::to_vec(&message) else {
        return;
    };
    if client
        .try_publish(shared.topic_of(&message), QoS::AtLeastOnce, true, payload)
        .is_err()
    {
        tracing::warn!(alarm = %message.key, "alarm topic queue full; transition not shared");
    }
}

/// Handles one event of the MQTT loop; returns false when the engine is gone.
async fn on_mqtt_event(
    shared: &SharedTopic,
    client: &AsyncClient,
    filter: &str,
    commands: &mpsc::Sender<AlarmCommand>,
    polled: Result<Event, rumqttc::ConnectionError>,
) -> bool {
    match polled {
        Ok(Event::Incoming(Packet::ConnAck(_))) => {
            if client.try_subscribe(filter, QoS::AtLeastOnce).is_err() {
                tracing::warn!(topic = filter, "could not subscribe to the alarm topic");
            }
        }
        Ok(Event::Incoming(Packet::Publish(p))) => {
            match serde_json::from_slice::<AlarmMessage>(&p.payload) {
                Ok(message) => {
                    if let Some(ack) = message.remote_ack(&shared.console)
                        && commands.send(ack).await.is_err()
                    {
                        return false;
                    }
                }
                Err(e) => tracing::debug!(topic = %p.topic, "not an alarm message: {e}"),
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(prefix = %shared.prefix, "alarm topic connection: {e}; retrying");
            // Reconnect back-off, not synchronisation: rumqttc reconnects on the next poll.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    true
}

async fn drain(eventloop: &mut EventLoop) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(event) = eventloop.poll().await {
            if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}
