//! Polling: one task per link. Every request runs under the device's timeout;
//! a timeout, transport error or mismatched reply drops the connection (a
//! tokio-modbus context is not reusable after one) and the link reconnects
//! with exponential backoff. Only busy replies (exception 6) are retried.
//! Exceptions 1–3 on a single field mark that field's map entry as wrong; the
//! rest of the device keeps polling. Only read function codes are ever sent.

mod connect;
mod device;
mod stats;

pub use device::LinkBroken;
pub use stats::DeviceStats;

use super::DeviceMap;
use super::planner::ReadRequest;
use crate::config::ModbusUrl;
use crate::model::Reading;
use crate::source::{LinkState, SourceEvent};
use connect::{Backoff, connect};
use device::DevicePoller;
use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_modbus::client::{Client, Context};
use tokio_util::sync::CancellationToken;

/// Devices sharing one connection or serial bus.
pub struct Link {
    pub key: String,
    pub url: ModbusUrl,
    pub devices: Vec<DeviceMap>,
}

/// Groups devices by link (same TCP endpoint or same serial port).
pub fn links(maps: Vec<DeviceMap>) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::new();
    for map in maps {
        let key = map.url.link_key();
        match links.iter_mut().find(|l| l.key == key) {
            Some(link) => link.devices.push(map),
            None => links.push(Link {
                key,
                url: map.url.clone(),
                devices: vec![map],
            }),
        }
    }
    links
}

/// Polls every device of a link on its own fixed-rate schedule until cancelled.
pub async fn run_link(link: Link, events: mpsc::Sender<SourceEvent>, cancel: CancellationToken) {
    let started = Instant::now();
    let mut devices: Vec<DevicePoller> = link.devices.into_iter().map(DevicePoller::new).collect();
    let mut schedules: Vec<Interval> = devices.iter().map(|d| schedule(d.map.poll)).collect();
    let connect_timeout = devices
        .iter()
        .map(|d| d.map.timeout)
        .max()
        .unwrap_or_default();
    let pause_after_connect = devices
        .iter()
        .map(|d| d.map.pause_after_connect)
        .max()
        .unwrap_or_default();
    let delay = devices
        .iter()
        .map(|d| d.map.inter_request_delay)
        .max()
        .unwrap_or_default();
    let mut backoff = Backoff::default();
    let mut ctx: Option<Context> = None;
    for device in &devices {
        let status = device
            .stats
            .status(&device.map.name, LinkState::Connecting, started);
        if events.send(SourceEvent::Status(status)).await.is_err() {
            return;
        }
    }
    loop {
        let due = tokio::select! {
            _ = cancel.cancelled() => break,
            due = next_due(&mut schedules) => due,
        };
        let mut readings = Vec::new();
        if ctx.is_none() && backoff.ready() {
            let connected = tokio::select! {
                _ = cancel.cancelled() => break,
                connected = connect(&link.url, devices[due].map.unit, connect_timeout) => connected,
            };
            match connected {
                Ok(context) => {
                    tracing::info!(link = %link.key, "Modbus link connected");
                    backoff.reset();
                    if !pause_after_connect.is_zero() {
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep(pause_after_connect) => {}
                        }
                    }
                    ctx = Some(context);
                }
                Err(error) => {
                    backoff.failed();
                    let message = format!("cannot connect to {}: {error}", link.key);
                    tracing::debug!("{message}");
                    for device in &mut devices {
                        device.unreachable(message.clone(), &mut readings);
                    }
                }
            }
        }
        let state = match ctx.as_mut() {
            Some(context) => {
                let device = &mut devices[due];
                let cycle = tokio::select! {
                    _ = cancel.cancelled() => break,
                    cycle = device.cycle(context, delay) => cycle,
                };
                readings.extend(cycle.0);
                match cycle.1 {
                    None => {
                        device.stats.connected = true;
                        LinkState::Connected
                    }
                    Some(broken) => {
                        let message = broken.to_string();
                        tracing::debug!("{message}; reconnecting");
                        ctx = None;
                        backoff.failed();
                        device.unreachable(message, &mut readings);
                        LinkState::BackingOff
                    }
                }
            }
            None => {
                let device = &mut devices[due];
                let message = device
                    .stats
                    .last_error
                    .clone()
                    .unwrap_or_else(|| format!("{} unreachable", link.key));
                device.unreachable(message, &mut readings);
                LinkState::BackingOff
            }
        };
        if !readings.is_empty() && events.send(SourceEvent::readings(readings)).await.is_err() {
            break;
        }
        let raw = std::mem::take(&mut devices[due].raw);
        if !raw.is_empty() && events.send(SourceEvent::Raw(raw)).await.is_err() {
            break;
        }
        let device = &devices[due];
        let status = device.stats.status(&device.map.name, state, started);
        if events.send(SourceEvent::Status(status)).await.is_err() {
            break;
        }
    }
    if let Some(mut context) = ctx {
        let _ = tokio::time::timeout(connect_timeout, context.disconnect()).await;
    }
    for device in &devices {
        let status = device
            .stats
            .status(&device.map.name, LinkState::Stopped, started);
        let _ = events.try_send(SourceEvent::Status(status));
    }
}

/// Fixed rate from start; ticks missed while a slow cycle ran are skipped, not bunched.
fn schedule(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period.max(Duration::from_millis(1)));
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The index of the first device whose tick is due.
async fn next_due(schedules: &mut [Interval]) -> usize {
    poll_fn(|cx| {
        for (i, interval) in schedules.iter_mut().enumerate() {
            if interval.poll_tick(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    })
    .await
}

/// One device polled by hand, on a connection the caller owns: the same code
/// path as the link task, for benchmarks and tools.
pub struct OneDevice {
    poller: DevicePoller,
    context: Context,
}

impl OneDevice {
    pub async fn connect(map: DeviceMap) -> std::io::Result<OneDevice> {
        let context = connect(&map.url, map.unit, map.timeout).await?;
        Ok(OneDevice {
            poller: DevicePoller::new(map),
            context,
        })
    }

    /// The planned reads of one cycle.
    pub fn plan(&self) -> &[ReadRequest] {
        &self.poller.plan
    }

    /// One poll cycle; an error means the connection broke.
    pub async fn cycle(&mut self) -> Result<Vec<Reading>, LinkBroken> {
        let delay = self.poller.map.inter_request_delay;
        self.poller.raw.clear();
        match self.poller.cycle(&mut self.context, delay).await {
            (readings, None) => Ok(readings),
            (_, Some(broken)) => Err(broken),
        }
    }

    pub fn stats(&self) -> &DeviceStats {
        &self.poller.stats
    }
}
