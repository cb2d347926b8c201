//! Health of one broker connection: state, last error, message rate, bad
//! payloads per topic. Updated by the poll task, reported to the engine as
//! [`SourceStatus`] once a second and on every state change.

use super::connect::{BrokerUrl, Connection};
use crate::model::TimestampMs;
use crate::source::payload::DecodeError;
use crate::source::raw::printable;
use crate::source::report::{LogLimit, Reported, suppressed_note};
use crate::source::{LinkState, SourceKind, SourceStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// At most one bad-payload warning per broker in this period (the rest are counted).
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Topics with bad payloads remembered per broker.
const BAD_TOPICS_KEPT: usize = 1000;
/// Bad topics listed in the status detail.
const BAD_TOPICS_SHOWN: usize = 3;

#[derive(Clone)]
pub struct Health {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

/// The last bad payload of a topic and why it was rejected.
#[derive(Clone, Debug, PartialEq)]
pub struct BadTopic {
    pub count: u64,
    pub reason: String,
    pub payload: String,
    pub last_ms: TimestampMs,
}

struct Inner {
    status: SourceStatus,
    client_id: String,
    url: String,
    session_present: Option<bool>,
    /// (granted, wanted) subscriptions of the current connection, once the SubAck came.
    subscribed: Option<(usize, usize)>,
    bad: HashMap<String, BadTopic>,
    log: LogLimit,
    /// When established connections were dropped lately (for [`TAKEOVER_DROPS`]).
    drops: std::collections::VecDeque<Instant>,
    /// Set once connections keep being dropped right after they were accepted.
    takeover: Option<String>,
}

/// This many drops of an accepted connection within [`TAKEOVER_WINDOW`] is
/// what another client with the same client id looks like: each connection
/// takes the session over from the other.
const TAKEOVER_DROPS: usize = 3;
const TAKEOVER_WINDOW: Duration = Duration::from_secs(30);

impl Health {
    pub fn new(connection: &Connection) -> Health {
        Health {
            inner: Arc::new(Mutex::new(Inner {
                status: SourceStatus::new(connection.name.clone(), SourceKind::Mqtt),
                client_id: connection.client_id.clone(),
                url: connection.url(0).to_string(),
                session_present: None,
                subscribed: None,
                bad: HashMap::new(),
                log: LogLimit::every(LOG_EVERY),
                drops: std::collections::VecDeque::new(),
                takeover: None,
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not silence the status: use the data as it is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_state(&self, state: LinkState) {
        self.lock().status.state = state;
        self.changed.notify_one();
    }

    pub fn connecting(&self, url: &BrokerUrl) {
        {
            let mut inner = self.lock();
            inner.url = url.to_string();
            inner.subscribed = None;
        }
        self.set_state(LinkState::Connecting);
    }

    pub fn connected(&self, url: &BrokerUrl, session_present: bool) {
        {
            let mut inner = self.lock();
            inner.url = url.to_string();
            inner.session_present = Some(session_present);
            tracing::info!(
                "mqtt {}: connected to {url} as {} ({} session)",
                inner.status.name,
                inner.client_id,
                if session_present { "resumed" } else { "new" }
            );
        }
        self.set_state(LinkState::Connected);
    }

    pub fn subscribed(&self, granted: usize, wanted: usize) {
        {
            let mut inner = self.lock();
            tracing::info!(
                "mqtt {}: subscribed to {granted} of {wanted} topic filters",
                inner.status.name
            );
            inner.subscribed = Some((granted, wanted));
        }
        self.changed.notify_one();
    }

    pub fn is_connected(&self) -> bool {
        self.lock().status.state == LinkState::Connected
    }

    pub fn error(&self, message: String) {
        {
            let mut inner = self.lock();
            tracing::warn!("mqtt {}: {message}", inner.status.name);
            inner.status.last_error = Some(message);
        }
        self.changed.notify_one();
    }

    /// An accepted connection was dropped (by the broker or the network).
    pub fn dropped(&self) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.drops.push_back(now);
        while inner
            .drops
            .front()
            .is_some_and(|at| now.duration_since(*at) > TAKEOVER_WINDOW)
        {
            inner.drops.pop_front();
        }
        if inner.drops.len() < TAKEOVER_DROPS {
            return;
        }
        let warning = format!(
            "the broker dropped the connection {} times in {} s right after accepting it: \
             another client probably uses client id {:?} (each takes the session over from the other); \
             give every console its own client_id",
            inner.drops.len(),
            TAKEOVER_WINDOW.as_secs(),
            inner.client_id
        );
        if inner.takeover.is_none() {
            tracing::warn!("mqtt {}: {warning}", inner.status.name);
        }
        inner.takeover = Some(warning);
        drop(inner);
        self.changed.notify_one();
    }

    pub fn backing_off(&self) {
        self.set_state(LinkState::BackingOff);
    }

    pub fn stopped(&self) {
        self.set_state(LinkState::Stopped);
    }

    pub fn message(&self, at: TimestampMs) {
        let mut inner = self.lock();
        inner.status.messages += 1;
        inner.status.last_message_ms = Some(at);
    }

    /// Counts a payload that could not be (fully) decoded; logs at a rate limit.
    pub fn bad_payload(&self, topic: &str, error: &DecodeError, payload: &[u8]) {
        let mut inner = self.lock();
        inner.status.errors += 1;
        let now = crate::model::now_ms();
        let reason = error.to_string();
        let text = printable(payload);
        if inner.bad.len() >= BAD_TOPICS_KEPT && !inner.bad.contains_key(topic) {
            // Forget the topic whose last bad payload is oldest.
            if let Some(oldest) = inner
                .bad
                .iter()
                .min_by_key(|(_, b)| b.last_ms)
                .map(|(t, _)| t.clone())
            {
                inner.bad.remove(&oldest);
            }
        }
        let entry = inner.bad.entry(topic.to_owned()).or_insert(BadTopic {
            count: 0,
            reason: String::new(),
            payload: String::new(),
            last_ms: now,
        });
        entry.count += 1;
        entry.reason = reason.clone();
        entry.payload = text.clone();
        entry.last_ms = now;
        if let Some(suppressed) = inner.log.due() {
            tracing::warn!(
                "mqtt {}: bad payload on topic {topic}: {reason} (payload {text}){}",
                inner.status.name,
                suppressed_note(suppressed, "bad payloads")
            );
        }
    }

    /// Bad payloads per topic, most recent first.
    pub fn bad_topics(&self) -> Vec<(String, BadTopic)> {
        let mut bad: Vec<_> = self
            .lock()
            .bad
            .iter()
            .map(|(t, b)| (t.clone(), b.clone()))
            .collect();
        bad.sort_by_key(|(_, b)| std::cmp::Reverse(b.last_ms));
        bad
    }

    pub(crate) fn snapshot(&self, rate: f64) -> SourceStatus {
        let bad = self.bad_topics();
        let mut inner = self.lock();
        // Quiet for a whole window: whoever shared the client id has gone.
        if inner
            .drops
            .back()
            .is_none_or(|at| at.elapsed() > TAKEOVER_WINDOW)
        {
            inner.takeover = None;
        }
        let mut status = inner.status.clone();
        status.rate = rate;
        status.detail = vec![
            ("url".into(), inner.url.clone()),
            ("client id".into(), inner.client_id.clone()),
        ];
        if let Some(takeover) = &inner.takeover {
            status
                .detail
                .push(("another client uses client id".into(), takeover.clone()));
        }
        if let Some(resumed) = inner.session_present {
            status.detail.push((
                "session".into(),
                if resumed { "resumed" } else { "new" }.into(),
            ));
        }
        if let Some((granted, wanted)) = inner.subscribed {
            status
                .detail
                .push(("subscribed".into(), format!("{granted}/{wanted}")));
        }
        if !bad.is_empty() {
            status
                .detail
                .push(("topics with bad payloads".into(), bad.len().to_string()));
        }
        for (topic, b) in bad.into_iter().take(BAD_TOPICS_SHOWN) {
            status.detail.push((
                format!("bad: {topic}"),
                format!("{}× {} (last: {})", b.count, b.reason, b.payload),
            ));
        }
        status
    }
}

impl Reported for Health {
    fn changed(&self) -> &Notify {
        &self.changed
    }
    fn messages(&self) -> u64 {
        self.lock().status.messages
    }
    fn snapshot(&self, rate: f64) -> SourceStatus {
        Health::snapshot(self, rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn health() -> Health {
        let config = Config::parse(
            std::path::Path::new("t.toml"),
            "[[mqtt]]\nname = \"plant\"\nurl = \"mqtt://127.0.0.1:1\"\nclient_id = \"c1\"\n",
        )
        .unwrap();
        Health::new(&Connection::from_config(&config.mqtt[0]).unwrap())
    }

    #[test]
    fn bad_payloads_are_counted_per_topic_with_the_last_reason() {
        let h = health();
        let e1 = DecodeError::NotANumber("warm".into());
        let e2 = DecodeError::NotText;
        h.bad_payload("a/t", &e1, b"warm");
        h.bad_payload("a/t", &e2, &[0xff]);
        h.bad_payload("b/t", &e1, b"cold");
        let bad = h.bad_topics();
        let a = bad.iter().find(|(t, _)| t == "a/t").unwrap();
        assert_eq!(a.1.count, 2);
        assert_eq!(a.1.reason, "payload is not UTF-8 text");
        assert_eq!(a.1.payload, "\"0xFF\"");
        let status = h.snapshot(0.0);
        assert_eq!(status.errors, 3);
        assert!(
            status
                .detail
                .iter()
                .any(|(k, v)| k == "bad: a/t" && v.starts_with("2×"))
        );
        assert!(status.detail.contains(&("client id".into(), "c1".into())));
    }

    #[test]
    fn state_changes_are_reflected_in_the_status() {
        let h = health();
        let url = BrokerUrl::parse("mqtt://127.0.0.1:1").unwrap();
        h.connected(&url, true);
        assert!(h.is_connected());
        h.error("boom".into());
        h.backing_off();
        let s = h.snapshot(0.0);
        assert_eq!(s.state, LinkState::BackingOff);
        assert_eq!(s.last_error.as_deref(), Some("boom"));
        assert!(s.detail.contains(&("session".into(), "resumed".into())));
    }
}
