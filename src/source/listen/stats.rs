//! What one listener did, as counters that add up: every datagram or line
//! received ends stored (its readings committed), as a decode error, dropped
//! (over the rate, too long, the queue full) or not stored (the history gave
//! up); until then it is pending. Senders outside `allow` and connections
//! over `max_connections` are counted apart: they are not messages.

use crate::model::{LinkState, SourceKind, SourceStatus, TimestampMs};
use crate::source::report::{LogLimit, Reported, suppressed_note};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// At most one warning per listener in this period (the rest are counted).
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Stats {
    shared: Arc<Shared>,
}

struct Shared {
    counts: Counts,
    changed: Notify,
    state: Mutex<State>,
}

/// Counters, in the order the status shows them.
#[derive(Default)]
struct Counts {
    received: AtomicU64,
    stored: AtomicU64,
    readings: AtomicU64,
    errors: AtomicU64,
    dropped_rate: AtomicU64,
    dropped_size: AtomicU64,
    dropped_queue: AtomicU64,
    not_stored: AtomicU64,
    denied: AtomicU64,
    connections: AtomicU64,
    open: AtomicU64,
    refused: AtomicU64,
}

struct State {
    name: String,
    url: String,
    link: LinkState,
    last_error: Option<String>,
    last_message_ms: Option<TimestampMs>,
    log: LogLimit,
}

/// Why a message was dropped before it was decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Over `max_rate`.
    Rate,
    /// Longer than `max_line`.
    Size,
    /// The decoder's queue was full (UDP cannot wait).
    Queue,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Stats {
    pub fn new(name: &str, url: String) -> Stats {
        Stats {
            shared: Arc::new(Shared {
                counts: Counts::default(),
                changed: Notify::new(),
                state: Mutex::new(State {
                    name: name.to_owned(),
                    url,
                    link: LinkState::Connected,
                    last_error: None,
                    last_message_ms: None,
                    log: LogLimit::every(LOG_EVERY),
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not silence the status: use the data as it is.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn counts(&self) -> &Counts {
        &self.shared.counts
    }

    pub fn received(&self, at: TimestampMs) {
        add(&self.counts().received, 1);
        self.lock().last_message_ms = Some(at);
    }

    pub fn dropped(&self, why: Dropped, peer: SocketAddr, detail: impl FnOnce() -> String) {
        let counts = self.counts();
        let counter = match why {
            Dropped::Rate => &counts.dropped_rate,
            Dropped::Size => &counts.dropped_size,
            Dropped::Queue => &counts.dropped_queue,
        };
        // The first of a flood is worth a line; the rest only count.
        if counter.fetch_add(1, Ordering::Relaxed) == 0 || why == Dropped::Size {
            self.problem(peer, &detail());
        }
    }

    /// A message that could not be (fully) decoded.
    pub fn decode_error(&self, peer: SocketAddr, reason: &str, payload: &[u8]) {
        add(&self.counts().errors, 1);
        let payload = crate::source::raw::printable(payload);
        self.problem(peer, &format!("{reason} (payload {payload})"));
    }

    /// Messages whose readings were committed, and the readings.
    pub fn stored(&self, messages: u64, readings: u64) {
        add(&self.counts().stored, messages);
        add(&self.counts().readings, readings);
    }

    /// Messages whose readings the history could not store.
    pub fn not_stored(&self, messages: u64) {
        add(&self.counts().not_stored, messages);
        self.error("the history could not store readings received here".into());
    }

    /// A sender outside `allow` (a datagram or a connection).
    pub fn denied(&self, peer: SocketAddr) {
        if self.counts().denied.fetch_add(1, Ordering::Relaxed) == 0 {
            self.problem(peer, "sender not in allow: ignored");
        }
    }

    pub fn connected(&self) {
        add(&self.counts().connections, 1);
        add(&self.counts().open, 1);
    }

    pub fn disconnected(&self) {
        self.counts().open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection over `max_connections`, closed at once.
    pub fn refused(&self, peer: SocketAddr, max: usize) {
        add(&self.counts().refused, 1);
        self.problem(
            peer,
            &format!("connection refused: max_connections = {max} are open"),
        );
    }

    /// A problem with what `peer` sent: the last error, logged at a rate limit.
    fn problem(&self, peer: SocketAddr, what: &str) {
        self.error(format!("from {peer}: {what}"));
    }

    pub fn error(&self, message: String) {
        let mut state = self.lock();
        if let Some(suppressed) = state.log.due() {
            let note = suppressed_note(suppressed, "problems");
            tracing::warn!("listen {}: {message}{note}", state.name);
        }
        state.last_error = Some(message);
        drop(state);
        self.shared.changed.notify_one();
    }

    pub fn stopped(&self) {
        self.lock().link = LinkState::Stopped;
        self.shared.changed.notify_one();
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = self.counts();
        vec![
            ("received", get(&c.received)),
            ("stored", get(&c.stored)),
            ("readings", get(&c.readings)),
            ("errors", get(&c.errors)),
            ("dropped_rate", get(&c.dropped_rate)),
            ("dropped_size", get(&c.dropped_size)),
            ("dropped_queue", get(&c.dropped_queue)),
            ("not_stored", get(&c.not_stored)),
            ("denied", get(&c.denied)),
            ("connections", get(&c.connections)),
            ("open", get(&c.open)),
            ("refused", get(&c.refused)),
        ]
    }
}

impl Reported for Stats {
    fn changed(&self) -> &Notify {
        &self.shared.changed
    }

    fn messages(&self) -> u64 {
        get(&self.counts().received)
    }

    fn snapshot(&self, rate: f64) -> SourceStatus {
        let counts = self.counters();
        let state = self.lock();
        let mut status = SourceStatus::new(state.name.clone(), SourceKind::Listen);
        status.state = state.link;
        status.last_error = state.last_error.clone();
        status.last_message_ms = state.last_message_ms;
        status.messages = get(&self.counts().received);
        status.errors = get(&self.counts().errors);
        status.rate = rate;
        status.detail = vec![("url".into(), state.url.clone())];
        status.counts = counts;
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_last_problem_name_the_sender() {
        let stats = Stats::new("meters", "udp://127.0.0.1:9000".into());
        let peer: SocketAddr = "10.0.0.7:5000".parse().unwrap();
        for _ in 0..3 {
            stats.received(1);
        }
        stats.dropped(Dropped::Size, peer, || "datagram of 70000 bytes".into());
        stats.decode_error(peer, "invalid JSON", b"{");
        stats.stored(1, 2);
        let status = stats.snapshot(0.0);
        assert_eq!((status.messages, status.errors), (3, 1));
        assert_eq!(
            status.last_error.as_deref(),
            Some("from 10.0.0.7:5000: invalid JSON (payload \"{\")")
        );
        let count = |k: &str| status.counts.iter().find(|(n, _)| *n == k).unwrap().1;
        assert_eq!(
            count("received"),
            count("stored") + count("errors") + count("dropped_size")
        );
        assert_eq!(count("readings"), 2);
        assert_eq!(status.kind, Some(SourceKind::Listen));
    }
}
