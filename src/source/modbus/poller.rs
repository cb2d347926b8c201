//! Polling: one task per link. Every request runs under the device's timeout;
//! a timeout, transport error or mismatched reply drops the connection (a
//! tokio-modbus context is not reusable after one) and the link reconnects
//! with exponential backoff. Only busy replies (exception 6) are retried.
//! Exceptions 1–3 on a single field mark that field's map entry as wrong; the
//! rest of the device keeps polling. Only read function codes are ever sent.

use super::planner::{self, Exclusion, ReadRequest};
use super::{DeviceMap, Field};
use crate::config::{ModbusUrl, SerialSettings, Table};
use crate::model::{Quality, Reading, now_ms};
use crate::source::raw::{RawBatch, RawSample};
use crate::source::{LinkState, SourceEvent, SourceKind, SourceStatus};
use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};
use tokio_util::sync::CancellationToken;

const BUSY_RETRIES: u32 = 2;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

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

/// Per-device counters, shown in the status pane and headless log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceStats {
    pub connected: bool,
    pub cycles: u64,
    pub last_poll: Option<Duration>,
    pub requests_per_cycle: usize,
    pub timeouts: u64,
    pub transport_errors: u64,
    pub busy_retries: u64,
    /// Exception replies by code.
    pub exceptions: BTreeMap<u8, u64>,
    /// Fields dropped from polling because the device rejected their address.
    pub config_errors: Vec<String>,
    pub last_error: Option<String>,
    pub last_ok_ms: Option<i64>,
}

impl DeviceStats {
    pub fn status(&self, name: &str, state: LinkState, started: Instant) -> SourceStatus {
        let mut status = SourceStatus::new(name, SourceKind::Modbus);
        status.state = state;
        status.last_error = self.last_error.clone();
        status.messages = self.cycles;
        status.errors =
            self.timeouts + self.transport_errors + self.exceptions.values().sum::<u64>();
        let elapsed = started.elapsed().as_secs_f64();
        status.rate = if elapsed > 0.0 {
            self.cycles as f64 / elapsed
        } else {
            0.0
        };
        status.last_message_ms = self.last_ok_ms;
        let exceptions = if self.exceptions.is_empty() {
            "none".to_owned()
        } else {
            self.exceptions
                .iter()
                .map(|(code, n)| format!("{code}×{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        status.detail = vec![
            ("connected".into(), self.connected.to_string()),
            (
                "poll".into(),
                self.last_poll
                    .map_or("—".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3)),
            ),
            ("requests/cycle".into(), self.requests_per_cycle.to_string()),
            ("timeouts".into(), self.timeouts.to_string()),
            ("busy retries".into(), self.busy_retries.to_string()),
            ("exceptions".into(), exceptions),
        ];
        if !self.config_errors.is_empty() {
            status
                .detail
                .push(("map errors".into(), self.config_errors.join("; ")));
        }
        status
    }
}

/// One device's polling state on its link.
struct DevicePoller {
    map: DeviceMap,
    plan: Vec<ReadRequest>,
    /// Fields the device rejected with exception 1–3; never requested again.
    broken: Vec<bool>,
    last_good: Vec<Option<f64>>,
    stats: DeviceStats,
    stale_sent: bool,
    /// The registers behind this cycle's readings, sent after them.
    raw: RawBatch,
    device: Arc<str>,
}

/// Why a cycle ended early: the connection must be dropped.
struct LinkBroken(String);

impl DevicePoller {
    fn new(map: DeviceMap) -> Self {
        let n = map.fields.len();
        let mut poller = DevicePoller {
            device: Arc::from(map.name.as_str()),
            raw: Vec::new(),
            map,
            plan: Vec::new(),
            broken: vec![false; n],
            last_good: vec![None; n],
            stats: DeviceStats::default(),
            stale_sent: false,
        };
        poller.replan();
        poller
    }

    fn replan(&mut self) {
        let live: Vec<usize> = (0..self.map.fields.len())
            .filter(|&i| !self.broken[i])
            .collect();
        let spans: Vec<_> = live.iter().map(|&i| self.map.fields[i].span()).collect();
        // A rejected field's registers are as good as unreadable: never bridge them again.
        let mut excluded = self.map.excluded.clone();
        excluded.extend(
            (0..self.map.fields.len())
                .filter(|&i| self.broken[i])
                .map(|i| {
                    let span = self.map.fields[i].span();
                    Exclusion {
                        table: span.table,
                        from: span.start,
                        to: span.start.saturating_add(span.len - 1),
                    }
                }),
        );
        self.plan = planner::plan(&spans, &excluded, self.map.rules)
            .into_iter()
            .map(|mut r| {
                r.fields = r.fields.iter().map(|&j| live[j]).collect();
                r
            })
            .collect();
        self.stats.requests_per_cycle = self.plan.len();
    }

    fn field_error(&self, field: &Field, what: &str) -> String {
        format!(
            "{}: {} (sensor {}): {what}",
            self.map.name,
            field.place(),
            field.sensor
        )
    }

    /// Polls every planned request once. Readings of the fields that answered
    /// are returned even when the link broke part way.
    async fn cycle(
        &mut self,
        ctx: &mut Context,
        delay: Duration,
    ) -> (Vec<Reading>, Option<LinkBroken>) {
        let started = Instant::now();
        ctx.set_slave(Slave(self.map.unit));
        let mut queue: VecDeque<ReadRequest> = self.plan.iter().cloned().collect();
        let mut readings = Vec::new();
        let mut newly_broken = false;
        let mut first = true;
        while let Some(request) = queue.pop_front() {
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            first = false;
            match self.read(ctx, &request, delay).await {
                Ok(Ok(response)) => self.decode(&request, &response, &mut readings),
                Ok(Err(code)) if is_map_error(code) && request.fields.len() > 1 => {
                    // Find the culprit: ask for each field on its own.
                    for &i in request.fields.iter().rev() {
                        queue.push_front(single(&self.map.fields[i], i));
                    }
                }
                Ok(Err(code)) if is_map_error(code) => {
                    for &i in &request.fields {
                        let message = self.field_error(
                            &self.map.fields[i],
                            &format!(
                                "{}: not polled any more, check the register map",
                                describe(code)
                            ),
                        );
                        tracing::warn!("{message}");
                        self.stats.config_errors.push(message.clone());
                        self.stats.last_error = Some(message);
                        self.broken[i] = true;
                    }
                    newly_broken = true;
                }
                Ok(Err(code)) => {
                    let message = format!(
                        "{}: {} {}..{}: {}",
                        self.map.name,
                        request.table.label(),
                        request.start,
                        request.end(),
                        describe(code)
                    );
                    self.stats.last_error = Some(message);
                    self.mark(&request.fields, Quality::Bad, &mut readings);
                }
                Err(broken) => {
                    if newly_broken {
                        self.replan();
                    }
                    return (readings, Some(broken));
                }
            }
        }
        if newly_broken {
            self.replan();
        }
        self.stats.cycles += 1;
        self.stats.last_poll = Some(started.elapsed());
        self.stats.last_ok_ms = Some(now_ms());
        self.stale_sent = false;
        (readings, None)
    }

    /// One request, retried while the device says it is busy.
    async fn read(
        &mut self,
        ctx: &mut Context,
        request: &ReadRequest,
        delay: Duration,
    ) -> Result<Result<Response, ExceptionCode>, LinkBroken> {
        let mut attempt = 0;
        loop {
            let reply =
                tokio::time::timeout(self.map.timeout, ctx.call(read_request(request))).await;
            let outcome = match reply {
                Err(_) => {
                    self.stats.timeouts += 1;
                    Err(LinkBroken(format!(
                        "{}: no reply within {:?} to {} {}..{}",
                        self.map.name,
                        self.map.timeout,
                        request.table.label(),
                        request.start,
                        request.end()
                    )))
                }
                Ok(Err(error)) => {
                    self.stats.transport_errors += 1;
                    Err(LinkBroken(format!("{}: {error}", self.map.name)))
                }
                Ok(Ok(Err(code))) => {
                    *self.stats.exceptions.entry(u8::from(code)).or_default() += 1;
                    Ok(Err(code))
                }
                Ok(Ok(Ok(response))) => Ok(Ok(response)),
            };
            match outcome {
                Ok(Err(ExceptionCode::ServerDeviceBusy)) if attempt < BUSY_RETRIES => {
                    attempt += 1;
                    self.stats.busy_retries += 1;
                    tokio::time::sleep(delay.max(Duration::from_millis(20))).await;
                }
                other => return other,
            }
        }
    }

    fn decode(&mut self, request: &ReadRequest, response: &Response, out: &mut Vec<Reading>) {
        let ts = now_ms();
        for &i in &request.fields {
            let field = &self.map.fields[i];
            let offset = usize::from(field.address - request.start);
            let span = field.span();
            let words: Option<Vec<u16>> = match response {
                Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words) => {
                    words
                        .get(offset..offset + usize::from(span.len))
                        .map(<[u16]>::to_vec)
                }
                Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits) => {
                    bits.get(offset).map(|b| vec![u16::from(*b)])
                }
                _ => None,
            };
            let value = words.as_ref().and_then(|w| {
                if field.table.is_bits() {
                    w.first().map(|b| field.codec.bit_value(*b != 0))
                } else {
                    field.codec.registers_value(w)
                }
            });
            match (value, words) {
                (Some(v), Some(words)) if v.is_finite() => {
                    self.last_good[i] = Some(v);
                    out.push(Reading::good(field.sensor.clone(), ts, v));
                    let raw = RawSample::Registers {
                        device: self.device.clone(),
                        table: field.table.label(),
                        address: field.configured,
                        words,
                    };
                    self.raw.push((field.sensor.clone(), raw));
                }
                (Some(_), _) => {
                    self.stats.last_error = Some(
                        self.field_error(field, "value is not a finite number (NaN or infinity)"),
                    );
                }
                (None, _) => {
                    self.stats.last_error = Some(self.field_error(field, "reply too short"));
                }
            }
        }
    }

    /// Readings that keep the last good value but tell it cannot be trusted.
    fn mark(&self, fields: &[usize], quality: Quality, out: &mut Vec<Reading>) {
        let ts = now_ms();
        for &i in fields {
            if let Some(value) = self.last_good[i] {
                out.push(Reading {
                    sensor: self.map.fields[i].sensor.clone(),
                    ts,
                    value,
                    quality,
                });
            }
        }
    }

    /// The device cannot be reached: its sensors go stale once per outage.
    fn unreachable(&mut self, error: String, out: &mut Vec<Reading>) {
        self.stats.connected = false;
        self.stats.last_error = Some(error);
        if !self.stale_sent {
            let all: Vec<usize> = (0..self.map.fields.len()).collect();
            self.mark(&all, Quality::Stale, out);
            self.stale_sent = true;
        }
    }
}

fn single(field: &Field, index: usize) -> ReadRequest {
    let span = field.span();
    ReadRequest {
        table: span.table,
        start: span.start,
        count: span.len,
        fields: vec![index],
    }
}

/// Illegal function / data address / data value: the map asks for something the device lacks.
fn is_map_error(code: ExceptionCode) -> bool {
    matches!(
        code,
        ExceptionCode::IllegalFunction
            | ExceptionCode::IllegalDataAddress
            | ExceptionCode::IllegalDataValue
    )
}

fn describe(code: ExceptionCode) -> String {
    format!("exception {} ({code})", u8::from(code))
}

/// The only requests this module builds: the four read function codes.
fn read_request(request: &ReadRequest) -> Request<'static> {
    match request.table {
        Table::Holding => Request::ReadHoldingRegisters(request.start, request.count),
        Table::Input => Request::ReadInputRegisters(request.start, request.count),
        Table::Coil => Request::ReadCoils(request.start, request.count),
        Table::Discrete => Request::ReadDiscreteInputs(request.start, request.count),
    }
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
                    Some(LinkBroken(message)) => {
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

/// Exponential reconnect delay, reset by a successful connect.
#[derive(Default)]
struct Backoff {
    current: Duration,
    not_before: Option<Instant>,
}

impl Backoff {
    fn ready(&self) -> bool {
        self.not_before.is_none_or(|t| Instant::now() >= t)
    }
    fn failed(&mut self) {
        self.current = (self.current * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        self.not_before = Some(Instant::now() + self.current);
    }
    fn reset(&mut self) {
        self.current = Duration::ZERO;
        self.not_before = None;
    }
}

async fn connect(url: &ModbusUrl, unit: u8, timeout: Duration) -> std::io::Result<Context> {
    let slave = Slave(unit);
    let attempt = async {
        match url {
            ModbusUrl::Tcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(tokio_modbus::client::tcp::attach_slave(stream, slave))
            }
            ModbusUrl::RtuOverTcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(tokio_modbus::client::rtu::attach_slave(stream, slave))
            }
            ModbusUrl::Rtu(settings) => {
                let port = open_serial(settings)?;
                Ok(tokio_modbus::client::rtu::attach_slave(port, slave))
            }
        }
    };
    tokio::time::timeout(timeout, attempt).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {timeout:?}"),
        )
    })?
}

fn open_serial(settings: &SerialSettings) -> std::io::Result<tokio_serial::SerialStream> {
    use tokio_serial::{DataBits, Parity, StopBits};
    let builder = tokio_serial::new(&settings.path, settings.baud)
        .parity(match settings.parity {
            'E' => Parity::Even,
            'O' => Parity::Odd,
            _ => Parity::None,
        })
        .data_bits(match settings.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            _ => DataBits::Eight,
        })
        .stop_bits(if settings.stop_bits == 2 {
            StopBits::Two
        } else {
            StopBits::One
        });
    tokio_serial::SerialStream::open(&builder)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", settings.path)))
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
    pub async fn cycle(&mut self) -> Result<Vec<Reading>, String> {
        let delay = self.poller.map.inter_request_delay;
        self.poller.raw.clear();
        match self.poller.cycle(&mut self.context, delay).await {
            (readings, None) => Ok(readings),
            (_, Some(LinkBroken(message))) => Err(message),
        }
    }

    pub fn stats(&self) -> &DeviceStats {
        &self.poller.stats
    }
}
