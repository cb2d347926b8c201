//! How a source's health reaches the engine: a [`SourceStatus`] once a
//! second and on every state change, with the recent message rate, and a
//! last one marked stopped.

use crate::source::{LinkState, SourceEvent, SourceStatus};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

const REPORT_EVERY: Duration = Duration::from_secs(1);

/// A source whose status is reported.
pub trait Reported {
    /// Notified on state changes (reported at once).
    fn changed(&self) -> &Notify;
    /// Messages so far, for the rate.
    fn messages(&self) -> u64;
    fn snapshot(&self, rate: f64) -> SourceStatus;
}

/// Sends the status every second and on changes until `cancel`, then once more.
pub async fn report<R: Reported>(
    source: R,
    events: mpsc::Sender<SourceEvent>,
    cancel: CancellationToken,
) {
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rate = RateMeter::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
            _ = source.changed().notified() => {}
        }
        let status = source.snapshot(rate.update(source.messages()));
        tokio::select! {
            _ = cancel.cancelled() => break,
            sent = events.send(SourceEvent::Status(status)) => if sent.is_err() { return },
        }
    }
    let mut last = source.snapshot(0.0);
    last.state = LinkState::Stopped;
    let _ = events.try_send(SourceEvent::Status(last));
}

/// Messages per second over the last report period.
#[derive(Default)]
struct RateMeter {
    last: Option<(Instant, u64)>,
    rate: f64,
}

impl RateMeter {
    fn update(&mut self, messages: u64) -> f64 {
        let now = Instant::now();
        if let Some((at, count)) = self.last {
            let secs = now.duration_since(at).as_secs_f64();
            // Readings on state-change wakeups closer than 200 ms are too noisy to use.
            if secs < 0.2 {
                return self.rate;
            }
            self.rate = messages.saturating_sub(count) as f64 / secs;
        }
        self.last = Some((now, messages));
        self.rate
    }
}

/// At most one warning per period; the ones in between are counted.
#[derive(Debug)]
pub struct LogLimit {
    every: Duration,
    last: Option<Instant>,
    unlogged: u64,
}

impl LogLimit {
    pub fn every(every: Duration) -> LogLimit {
        LogLimit {
            every,
            last: None,
            unlogged: 0,
        }
    }

    /// `Some(n)` when a warning is due, `n` being the ones left unlogged since
    /// the last; `None` (and counted) otherwise.
    pub fn due(&mut self) -> Option<u64> {
        if self.last.is_some_and(|at| at.elapsed() < self.every) {
            self.unlogged += 1;
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// `; N more … since the last warning`, or nothing.
pub fn suppressed_note(suppressed: u64, what: &str) -> String {
    if suppressed > 0 {
        format!("; {suppressed} more {what} since the last warning")
    } else {
        String::new()
    }
}
