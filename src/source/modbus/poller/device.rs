//! One device's polling on its link: the planned reads of a cycle, busy
//! retries, the culprit of an exception 1–3, decoding, and stale marking.

use super::stats::DeviceStats;
use crate::config::Table;
use crate::model::{Quality, Reading, now_ms};
use crate::source::modbus::planner::{self, Exclusion, ReadRequest};
use crate::source::modbus::{DeviceMap, Field};
use crate::source::raw::{RawBatch, RawSample};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};

const BUSY_RETRIES: u32 = 2;

/// One device's polling state on its link.
pub(super) struct DevicePoller {
    pub(super) map: DeviceMap,
    pub(super) plan: Vec<ReadRequest>,
    /// Fields the device rejected with exception 1–3; never requested again.
    broken: Vec<bool>,
    last_good: Vec<Option<f64>>,
    pub(super) stats: DeviceStats,
    stale_sent: bool,
    /// The registers behind this cycle's readings, sent after them.
    pub(super) raw: RawBatch,
    device: Arc<str>,
}

/// Why a cycle ended early: the connection must be dropped.
#[derive(Debug, thiserror::Error)]
pub enum LinkBroken {
    #[error("{device}: no reply within {timeout:?} to {table} {start}..{end}")]
    NoReply {
        device: String,
        timeout: Duration,
        table: &'static str,
        start: u16,
        end: u32,
    },
    #[error("{device}: {source}")]
    Transport {
        device: String,
        #[source]
        source: tokio_modbus::Error,
    },
}

impl DevicePoller {
    pub(super) fn new(map: DeviceMap) -> Self {
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
    pub(super) async fn cycle(
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
                    Err(LinkBroken::NoReply {
                        device: self.map.name.clone(),
                        timeout: self.map.timeout,
                        table: request.table.label(),
                        start: request.start,
                        end: request.end(),
                    })
                }
                Ok(Err(error)) => {
                    self.stats.transport_errors += 1;
                    Err(LinkBroken::Transport {
                        device: self.map.name.clone(),
                        source: error,
                    })
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
                    w.first().map(|b| field.codec.bit_reading(*b != 0))
                } else {
                    field.codec.registers_reading(w)
                }
            });
            match (value, words) {
                (Some((v, quality)), Some(words)) if v.is_finite() => {
                    if quality == Quality::Good {
                        self.last_good[i] = Some(v);
                    }
                    out.push(Reading {
                        sensor: field.sensor.clone(),
                        ts,
                        value: v,
                        quality,
                    });
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
    pub(super) fn unreachable(&mut self, error: String, out: &mut Vec<Reading>) {
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
