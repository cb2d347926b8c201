//! The MQTT source: one task per `[[mqtt]]` broker drives rumqttc's
//! `EventLoop::poll()` forever (reconnecting with capped, jittered backoff and
//! re-subscribing on every ConnAck), routes each publish to sensors, and
//! hands the readings to the engine.
//!
//! No loss: subscriptions are QoS 1 in a persistent session, and a PUBACK
//! is sent only after the history transaction holding the message's readings
//! has committed (manual acks). The pipeline per broker:
//!
//! ```text
//! poll task ──(bounded)──▶ forwarder ──(bounded)──▶ engine ──▶ writer
//!     ▲                        │ batch's ack oneshot
//!     └── client.ack ◀── acker ◀┘ (in arrival order)
//! ```
//!
//! A slow store fills the engine channel, the forwarder waits, the poll
//! task waits, no PUBACKs go out, and the broker stops sending: backpressure
//! all the way to the broker, with memory bounded by the channel sizes and
//! the broker's in-flight window.

pub mod alarm_topic;
pub mod connect;
mod health;
pub mod routes;

use crate::model::now_ms;
use crate::source::payload::DecodeError;
use crate::source::raw::{RawBatch, RawSample};
use crate::source::{SourceError, SourceEvent};
use connect::Connection;
use health::Health;
use rand::Rng;
use routes::Router;
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS, SubscribeFilter};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Messages buffered between the poll task and the forwarder.
const PIPELINE_CAPACITY: usize = 1024;
/// Readings per engine event at most (batches form only when messages queue up).
const MAX_BATCH: usize = 4096;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Starts one task per configured broker.
pub fn spawn_all(
    config: &crate::config::Config,
    events: &mpsc::Sender<SourceEvent>,
    cancel: &CancellationToken,
    set: &mut JoinSet<()>,
) -> Result<(), SourceError> {
    for broker in &config.mqtt {
        let connection =
            Connection::from_config(broker).map_err(|e| SourceError::Setup(e.to_string()))?;
        let router = Router::for_broker(config, broker.name.get_ref());
        let qos = if broker.qos() == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        set.spawn(run_broker(
            connection,
            router,
            qos,
            events.clone(),
            cancel.clone(),
        ));
    }
    Ok(())
}

/// Fires when the batch's readings are committed to the history; then these publishes
/// (with the connection generation they came on) are acknowledged.
type AckBatch = (oneshot::Receiver<()>, Vec<(u64, Publish)>);

/// One message on its way to the engine.
struct Incoming {
    routed: routes::Routed,
    /// The publish behind each reading, for the detail view.
    raw: RawBatch,
    /// The publish to acknowledge once stored, with the connection it came on.
    ack: Option<(u64, Publish)>,
}

/// Drives one broker connection until `cancel` fires.
pub async fn run_broker(
    connection: Connection,
    mut router: Router,
    qos: QoS,
    events: mpsc::Sender<SourceEvent>,
    cancel: CancellationToken,
) {
    let health = Health::new(&connection);
    let reporter = tokio::spawn(crate::source::report::report(
        health.clone(),
        events.clone(),
        cancel.clone(),
    ));
    let mut url_index = 0;
    let (client, mut eventloop) =
        AsyncClient::new(connection.options(url_index), connect::REQUEST_CAPACITY);
    // Bumped on every ConnAck: an ack from an older connection is never sent,
    // since the broker re-delivers those messages on the new one.
    let generation = Arc::new(AtomicU64::new(0));
    let (to_forwarder, from_poll) = mpsc::channel::<Incoming>(PIPELINE_CAPACITY);
    let (to_acker, from_forwarder) = mpsc::unbounded_channel();
    let forwarder = tokio::spawn(forward(from_poll, events.clone(), to_acker));
    let acker = tokio::spawn(acknowledge(
        from_forwarder,
        client.clone(),
        generation.clone(),
    ));
    let subscriptions = router.subscriptions();
    if router.is_empty() {
        tracing::warn!(broker = %connection.name, "no sensor or pattern uses this broker; connecting for status only");
    }
    let mut backoff = BACKOFF_START;
    health.connecting(connection.url(url_index));
    loop {
        let polled = tokio::select! {
            _ = cancel.cancelled() => break,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                generation.fetch_add(1, Ordering::SeqCst);
                backoff = BACKOFF_START;
                health.connected(connection.url(url_index), ack.session_present);
                if connection.insecure && connection.url(url_index).tls {
                    tracing::warn!(broker = %connection.name, "insecure = true: the broker's TLS certificate is NOT verified");
                }
                subscribe(&client, &subscriptions, qos);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let incoming = receive(
                    &mut router,
                    &health,
                    &generation,
                    connection.max_payload(),
                    publish,
                );
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    sent = to_forwarder.send(incoming) => if sent.is_err() { break },
                }
            }
            Ok(Event::Incoming(Packet::SubAck(suback))) => {
                let refused = suback
                    .return_codes
                    .iter()
                    .filter(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                    .count();
                health.subscribed(suback.return_codes.len() - refused, subscriptions.len());
                if refused > 0 {
                    health.error(format!(
                        "the broker refused {refused} of the subscriptions ({}): check its ACL",
                        subscriptions.join(", ")
                    ));
                }
            }
            Ok(_) => {}
            Err(error) => {
                let was_connected = health.is_connected();
                health.error(connection_error(&connection, url_index, &error));
                if was_connected {
                    health.dropped();
                }
                if !was_connected && connection.urls.len() > 1 {
                    url_index = (url_index + 1) % connection.urls.len();
                    eventloop.mqtt_options = connection.options(url_index);
                }
                health.backing_off();
                let wait = jittered(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
                health.connecting(connection.url(url_index));
            }
        }
    }
    drop(to_forwarder);
    // Everything received is handed to the engine before this source reports done.
    let _ = forwarder.await;
    acker.abort();
    health.stopped();
    let _ = reporter.await;
}

fn connection_error(
    connection: &Connection,
    url_index: usize,
    error: &rumqttc::ConnectionError,
) -> String {
    let url = connection.url(url_index);
    match error {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("{url} refused the connection: {code:?}")
        }
        other => format!("{url}: {other}"),
    }
}

/// 75–125 % of `base`, so many consoles do not reconnect in lockstep.
fn jittered(base: Duration) -> Duration {
    base.mul_f64(rand::rng().random_range(0.75..1.25))
}

fn subscribe(client: &AsyncClient, filters: &[String], qos: QoS) {
    if filters.is_empty() {
        return;
    }
    let client = client.clone();
    let filters: Vec<SubscribeFilter> = filters
        .iter()
        .map(|f| SubscribeFilter::new(f.clone(), qos))
        .collect();
    // Off the poll task: the request queue is drained by the poll loop itself.
    tokio::spawn(async move {
        if let Err(e) = client.subscribe_many(filters).await {
            tracing::error!("subscribing failed: {e}");
        }
    });
}

fn receive(
    router: &mut Router,
    health: &Health,
    generation: &AtomicU64,
    max_payload: usize,
    publish: Publish,
) -> Incoming {
    let arrival = now_ms();
    let routed = if publish.payload.len() > max_payload {
        routes::Routed {
            error: Some(DecodeError::TooLarge {
                size: publish.payload.len(),
                limit: max_payload,
            }),
            ..Default::default()
        }
    } else {
        router.route(&publish.topic, &publish.payload, arrival)
    };
    health.message(arrival);
    if let Some(error) = &routed.error {
        health.bad_payload(&publish.topic, error, &publish.payload);
    }
    let raw = raw_samples(&routed, &publish);
    let ack =
        (publish.qos != QoS::AtMostOnce).then(|| (generation.load(Ordering::SeqCst), publish));
    Incoming { routed, raw, ack }
}

/// One shared copy of the publish for every sensor it fed (the payload is
/// reference-counted, so this costs no copy of the bytes).
fn raw_samples(routed: &routes::Routed, publish: &Publish) -> RawBatch {
    if routed.readings.is_empty() {
        return Vec::new();
    }
    let sample = RawSample::Mqtt {
        topic: Arc::from(publish.topic.as_str()),
        payload: publish.payload.clone(),
    };
    routed
        .readings
        .iter()
        .map(|r| (r.sensor.clone(), sample.clone()))
        .collect()
}

/// Batches whatever is queued into one engine event; new sensors go first.
async fn forward(
    mut rx: mpsc::Receiver<Incoming>,
    events: mpsc::Sender<SourceEvent>,
    acker: mpsc::UnboundedSender<AckBatch>,
) {
    while let Some(first) = rx.recv().await {
        let mut readings = Vec::new();
        let mut discovered = Vec::new();
        let mut acks = Vec::new();
        let mut raw = Vec::new();
        let mut next = Some(first);
        while let Some(incoming) = next.take() {
            readings.extend(incoming.routed.readings);
            raw.extend(incoming.raw);
            discovered.extend(incoming.routed.discovered);
            acks.extend(incoming.ack);
            if readings.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        for meta in discovered {
            if events.send(SourceEvent::Discovered(meta)).await.is_err() {
                return;
            }
        }
        let ack = if acks.is_empty() {
            None
        } else {
            let (tx, rx) = oneshot::channel();
            // Unbounded is fine: only QoS 1 messages land here, and the broker
            // sends no more than its in-flight window before we ack.
            let _ = acker.send((rx, acks));
            Some(tx)
        };
        if events
            .send(SourceEvent::Readings { readings, ack })
            .await
            .is_err()
        {
            return;
        }
        if !raw.is_empty() && events.send(SourceEvent::Raw(raw)).await.is_err() {
            return;
        }
    }
}

/// Sends PUBACKs in arrival order once the batch's readings are committed.
async fn acknowledge(
    mut batches: mpsc::UnboundedReceiver<AckBatch>,
    client: AsyncClient,
    generation: Arc<AtomicU64>,
) {
    while let Some((stored, publishes)) = batches.recv().await {
        if stored.await.is_err() {
            // Not stored (the writer gave up): leave it un-acked so the broker re-delivers.
            return;
        }
        for (connection, publish) in publishes {
            if connection == generation.load(Ordering::SeqCst)
                && client.ack(&publish).await.is_err()
            {
                return;
            }
        }
    }
}
