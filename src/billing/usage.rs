//! Splits a period's energy slices into tariff versions, time-of-use bands and
//! 15-minute demand windows.

use super::consumption::EnergySink;
use super::period::Period;
use super::tariff::{PriceBook, PricedUsage, quantity_from_f64};
use crate::model::TimestampMs;

/// Demand is the highest average power over a clock-aligned 15-minute window.
pub const DEMAND_WINDOW_MS: i64 = 15 * 60_000;

pub struct UsageAccumulator<'a> {
    book: &'a PriceBook,
    energy: Vec<Vec<f64>>,
    /// (version, band, valid until) of the last slice's position.
    cursor: Option<(usize, usize, TimestampMs)>,
    cursor_from: TimestampMs,
    window: i64,
    window_kwh: f64,
    max_window: Option<(i64, f64)>,
}

/// The highest 15-minute average demand and when its window started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakDemand {
    pub window_start: TimestampMs,
    pub kw: f64,
}

impl<'a> UsageAccumulator<'a> {
    pub fn new(book: &'a PriceBook) -> Self {
        UsageAccumulator {
            book,
            energy: book
                .versions
                .iter()
                .map(|v| vec![0.0; v.energy.band_count()])
                .collect(),
            cursor: None,
            cursor_from: i64::MAX,
            window: i64::MIN,
            window_kwh: 0.0,
            max_window: None,
        }
    }

    fn position(&mut self, ts: TimestampMs) -> (usize, usize, TimestampMs) {
        match self.cursor {
            Some(c) if ts >= self.cursor_from && ts < c.2 => c,
            _ => {
                let c = self.book.locate(ts);
                self.cursor = Some(c);
                self.cursor_from = ts;
                c
            }
        }
    }

    fn add_to_window(&mut self, start: TimestampMs, kwh: f64) {
        let w = start.div_euclid(DEMAND_WINDOW_MS);
        if w != self.window {
            self.close_window();
            self.window = w;
        }
        self.window_kwh += kwh;
    }

    fn close_window(&mut self) {
        if self.window != i64::MIN && self.max_window.is_none_or(|(_, kwh)| self.window_kwh > kwh) {
            self.max_window = Some((self.window, self.window_kwh));
        }
        self.window_kwh = 0.0;
    }

    pub fn peak(&mut self) -> Option<PeakDemand> {
        self.close_window();
        self.window = i64::MIN;
        self.max_window.map(|(w, kwh)| PeakDemand {
            window_start: w * DEMAND_WINDOW_MS,
            kw: kwh * (3_600_000.0 / DEMAND_WINDOW_MS as f64),
        })
    }

    /// The exact quantities to price: kWh per version and band, each version's
    /// share of the period, the peak demand.
    pub fn finish(mut self, period: &Period) -> (PricedUsage, Option<PeakDemand>) {
        let peak = self.peak();
        let version_ms = (0..self.book.versions.len())
            .map(|v| {
                let start = self.book.versions[v].from.max(period.from);
                let end = self
                    .book
                    .versions
                    .get(v + 1)
                    .map_or(period.to, |n| n.from.min(period.to));
                (end - start).max(0)
            })
            .collect();
        let usage = PricedUsage {
            energy: self
                .energy
                .iter()
                .map(|bands| bands.iter().map(|&k| quantity_from_f64(k)).collect())
                .collect(),
            version_ms,
            demand_kw: peak.map(|p| quantity_from_f64(p.kw)),
        };
        (usage, peak)
    }
}

impl EnergySink for UsageAccumulator<'_> {
    fn add(&mut self, start: TimestampMs, end: TimestampMs, kwh: f64) {
        if end <= start {
            let (v, b, _) = self.position(start);
            self.energy[v][b] += kwh;
            self.add_to_window(start, kwh);
            return;
        }
        let rate = kwh / (end - start) as f64;
        let mut at = start;
        while at < end {
            let (v, b, until) = self.position(at);
            let window_end = (at.div_euclid(DEMAND_WINDOW_MS) + 1) * DEMAND_WINDOW_MS;
            let piece_end = end.min(until).min(window_end);
            let piece = if piece_end == end && at == start {
                kwh
            } else {
                rate * (piece_end - at) as f64
            };
            self.energy[v][b] += piece;
            self.add_to_window(at, piece);
            at = piece_end;
        }
    }
}
