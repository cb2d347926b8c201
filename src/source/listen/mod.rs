//! `[[listen]]`: meters that do not speak MQTT send readings as UDP
//! datagrams or as lines over TCP. Each datagram or line is one message,
//! read by the same payload decoders and id templates as an
//! `[[mqtt_pattern]]`. Only the address the url names is bound.
//!
//! ```text
//! UDP socket ──try_send──┐                        commit ack
//! TCP conns ───send──────┴─(bounded)─▶ decoder ──(bounded)─▶ engine ──▶ writer
//!                                         └── commits ◀── (oneshot per batch)
//! ```
//!
//! Limits before decoding: `max_line` (longer messages are dropped), one
//! token bucket of `max_rate` messages a second per listener (the excess is
//! dropped), `max_connections` TCP connections (more are closed at once),
//! and `allow` (other senders are ignored). The queue to the decoder is
//! bounded: a TCP connection waits for room (TCP's flow control slows the
//! sender), a UDP datagram cannot wait and is dropped when it is full. So
//! memory stays bounded under any flood, and every drop is counted.

mod lines;
mod stats;
mod tcp;
mod udp;

pub use lines::{Line, LineSplitter};

use crate::config::{Config, LineRoute, Listen, ListenUrl, RouteTarget, Subnet, Transport};
use crate::model::TimestampMs;
use crate::source::discover::{Namer, Routed};
use crate::source::payload::PayloadSpec;
use crate::source::raw::{RawBatch, RawSample};
use crate::source::{SourceError, SourceEvent};
use bytes::Bytes;
use stats::{Dropped, Stats};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Messages queued between the sockets and the decoder.
const QUEUE: usize = 256;
/// Readings per engine event at most (batches form only when messages queue up).
const MAX_BATCH: usize = 4096;
/// Batches waiting for their commit before the decoder waits.
const COMMITS_PENDING: usize = 256;

/// Binds every `[[listen]]` and starts its tasks.
pub async fn spawn_all(
    config: &Config,
    events: &mpsc::Sender<SourceEvent>,
    cancel: &CancellationToken,
    set: &mut JoinSet<()>,
) -> Result<(), SourceError> {
    for listen in &config.listen {
        let listener = Listener::bind(config, listen).await?;
        set.spawn(listener.run(events.clone(), cancel.clone()));
    }
    Ok(())
}

enum Socket {
    Udp(tokio::net::UdpSocket),
    Tcp(tokio::net::TcpListener, usize),
}

struct Listener {
    socket: Socket,
    intake: Intake,
    decoder: Decoder,
}

impl Listener {
    async fn bind(config: &Config, listen: &Listen) -> Result<Listener, SourceError> {
        let setup =
            |problem: String| SourceError::Setup(format!("listen {}: {problem}", listen.name()));
        let url = listen.parsed_url().map_err(|e| setup(e.to_string()))?;
        let route = LineRoute::of_listen(listen).map_err(|e| setup(e.to_string()))?;
        let allow = listen.allowed().map_err(|e| setup(e.to_string()))?;
        let socket = bind(url, listen.max_connections())
            .await
            .map_err(|source| SourceError::Bind {
                listener: listen.name().to_owned(),
                url: url.to_string(),
                source,
            })?;
        let stats = Stats::new(listen.name(), url.to_string());
        tracing::info!("listen {}: bound {url}", listen.name());
        Ok(Listener {
            socket,
            intake: Intake {
                limits: Arc::new(Limits {
                    max_line: listen.max_line(),
                    max_rate: listen.max_rate(),
                    allow,
                    bucket: Mutex::new(Bucket::new(listen.max_rate())),
                }),
                stats,
                queue: None,
            },
            decoder: Decoder {
                spec: PayloadSpec::in_plant(route.layout, config.timezone()),
                target: route.target,
                namer: Namer::new(),
                name: listen.name().to_owned(),
            },
        })
    }

    async fn run(self, events: mpsc::Sender<SourceEvent>, cancel: CancellationToken) {
        let Listener {
            socket,
            mut intake,
            decoder,
        } = self;
        let stats = intake.stats.clone();
        let reporter = tokio::spawn(crate::source::report::report(
            stats.clone(),
            events.clone(),
            cancel.clone(),
        ));
        let (queue, from_sockets) = mpsc::channel(QUEUE);
        intake.queue = Some(queue);
        let forwarder = tokio::spawn(forward(from_sockets, decoder, stats.clone(), events));
        match socket {
            Socket::Udp(socket) => udp::receive(socket, intake, cancel).await,
            Socket::Tcp(listener, max) => tcp::accept(listener, max, intake, cancel).await,
        }
        // Everything received is handed to the engine before this source reports done.
        let _ = forwarder.await;
        stats.stopped();
        let _ = reporter.await;
    }
}

/// Binds exactly the address the url names.
async fn bind(url: ListenUrl, max_connections: usize) -> std::io::Result<Socket> {
    Ok(match url.transport {
        Transport::Udp => Socket::Udp(tokio::net::UdpSocket::bind(url.addr).await?),
        Transport::Tcp => Socket::Tcp(
            tokio::net::TcpListener::bind(url.addr).await?,
            max_connections,
        ),
    })
}

/// One datagram or line on its way to the decoder.
struct Message {
    peer: SocketAddr,
    payload: Bytes,
    arrival: TimestampMs,
}

/// The limits of one listener, shared by its socket tasks.
struct Limits {
    max_line: usize,
    max_rate: u32,
    allow: Option<Vec<Subnet>>,
    bucket: Mutex<Bucket>,
}

/// Where the socket tasks of one listener put what they receive.
#[derive(Clone)]
struct Intake {
    limits: Arc<Limits>,
    stats: Stats,
    queue: Option<mpsc::Sender<Message>>,
}

impl Intake {
    fn allows(&self, peer: SocketAddr) -> bool {
        let allowed = (self.limits.allow.as_ref())
            .is_none_or(|nets| nets.iter().any(|n| n.contains(peer.ip())));
        if !allowed {
            self.stats.denied(peer);
        }
        allowed
    }

    /// Counts a message received from `peer`, and checks that it `fits` in
    /// `max_line` and the rate: its arrival time when it goes on.
    fn admit(&self, peer: SocketAddr, fits: bool) -> Option<TimestampMs> {
        let arrival = crate::model::now_ms();
        self.stats.received(arrival);
        let limits = &self.limits;
        if !fits {
            let max = limits.max_line;
            self.stats.dropped(Dropped::Size, peer, || {
                format!("message longer than max_line = {max} bytes: dropped")
            });
            return None;
        }
        let taken = (limits.bucket.lock()).map_or(true, |mut b| b.take(Instant::now()));
        if !taken {
            let rate = limits.max_rate;
            self.stats.dropped(Dropped::Rate, peer, || {
                format!("more than max_rate = {rate} messages a second: dropped")
            });
            return None;
        }
        Some(arrival)
    }
}

/// `max_rate` messages a second, with a burst of one second's worth.
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Bucket {
        let rate = f64::from(rate.max(1));
        Bucket {
            rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Decodes messages into readings of named sensors.
struct Decoder {
    spec: PayloadSpec,
    target: RouteTarget,
    namer: Namer,
    name: String,
}

/// Queued messages decoded together: one engine event.
#[derive(Default)]
struct Batch {
    routed: Routed,
    raw: RawBatch,
    /// Messages decoded without an error (stored once the batch commits).
    clean: u64,
}

impl Decoder {
    fn decode(&mut self, message: Message, stats: &Stats, batch: &mut Batch) {
        let decoding = self.spec.decode(&message.payload, message.arrival);
        let mut routed = Routed::default();
        self.namer.name(&self.target, &[], decoding, &mut routed);
        match &routed.error {
            Some(error) => stats.decode_error(message.peer, &error.to_string(), &message.payload),
            None => batch.clean += 1,
        }
        if !routed.readings.is_empty() {
            let sample = RawSample::Line {
                from: Arc::from(format!("{} from {}", self.name, message.peer)),
                payload: message.payload,
            };
            (batch.raw).extend(
                routed
                    .readings
                    .iter()
                    .map(|r| (r.sensor.clone(), sample.clone())),
            );
        }
        batch.routed.readings.append(&mut routed.readings);
        batch.routed.discovered.append(&mut routed.discovered);
    }
}

/// A batch sent to the engine: counted as stored when its commit fires.
struct Pending {
    committed: oneshot::Receiver<()>,
    messages: u64,
    readings: u64,
}

/// Decodes whatever is queued into one engine event; new sensors go first.
async fn forward(
    mut queue: mpsc::Receiver<Message>,
    mut decoder: Decoder,
    stats: Stats,
    events: mpsc::Sender<SourceEvent>,
) {
    let (to_counter, pending) = mpsc::channel(COMMITS_PENDING);
    let counter = tokio::spawn(count_commits(pending, stats.clone()));
    while let Some(first) = queue.recv().await {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            decoder.decode(message, &stats, &mut batch);
            if batch.routed.readings.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if send(batch, &stats, &events, &to_counter).await.is_err() {
            break;
        }
    }
    drop(to_counter);
    let _ = counter.await;
}

/// The engine stopped listening.
struct EngineGone;

async fn send(
    batch: Batch,
    stats: &Stats,
    events: &mpsc::Sender<SourceEvent>,
    to_counter: &mpsc::Sender<Pending>,
) -> Result<(), EngineGone> {
    let Batch {
        routed, raw, clean, ..
    } = batch;
    if routed.readings.is_empty() {
        // Nothing to store: the clean messages held no readings.
        stats.stored(clean, 0);
        return Ok(());
    }
    for meta in routed.discovered {
        discovered(events, meta).await?;
    }
    let (ack, committed) = oneshot::channel();
    let readings = routed.readings.len() as u64;
    let event = SourceEvent::Readings {
        readings: routed.readings,
        ack: Some(ack),
    };
    events.send(event).await.map_err(|_| EngineGone)?;
    let pending = Pending {
        committed,
        messages: clean,
        readings,
    };
    to_counter.send(pending).await.map_err(|_| EngineGone)?;
    events
        .send(SourceEvent::Raw(raw))
        .await
        .map_err(|_| EngineGone)
}

async fn discovered(
    events: &mpsc::Sender<SourceEvent>,
    meta: crate::source::Discovery,
) -> Result<(), EngineGone> {
    (events.send(SourceEvent::Discovered(meta)).await).map_err(|_| EngineGone)
}

/// Counts each batch as stored once the history committed it (in order).
async fn count_commits(mut pending: mpsc::Receiver<Pending>, stats: Stats) {
    while let Some(batch) = pending.recv().await {
        match batch.committed.await {
            Ok(()) => stats.stored(batch.messages, batch.readings),
            Err(_) => stats.not_stored(batch.messages),
        }
    }
}
