//! Process conditions: limit checks with deadband, on/off delays, rate of
//! change and the consumption anomaly. Pure functions of the values and the
//! timestamps passed in.

use super::Priority;
use crate::model::TimestampMs;
use std::collections::VecDeque;

/// What an alarm watches. The label is the `condition` column of the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    Hh,
    H,
    L,
    Ll,
    Roc,
    Stale,
    Bad,
    Consumption,
    Comms,
}

impl Condition {
    pub const ALL: [Condition; 9] = [
        Condition::Hh,
        Condition::H,
        Condition::L,
        Condition::Ll,
        Condition::Roc,
        Condition::Stale,
        Condition::Bad,
        Condition::Consumption,
        Condition::Comms,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Condition::Hh => "hh",
            Condition::H => "h",
            Condition::L => "l",
            Condition::Ll => "ll",
            Condition::Roc => "roc",
            Condition::Stale => "stale",
            Condition::Bad => "bad",
            Condition::Consumption => "consumption",
            Condition::Comms => "comms",
        }
    }

    pub fn parse(label: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.label() == label)
    }

    /// Default priorities: the outer limits are critical, the inner ones
    /// warnings; a silent sensor or a lost device is high.
    pub fn default_priority(self) -> Priority {
        match self {
            Condition::Hh | Condition::Ll => Priority::Critical,
            Condition::Stale | Condition::Comms => Priority::High,
            Condition::H | Condition::L | Condition::Roc | Condition::Bad => Priority::Medium,
            Condition::Consumption => Priority::Low,
        }
    }
}

/// A limit with hysteresis: raised at the limit, cleared only once the value
/// is back by more than the deadband.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    pub limit: f64,
    pub deadband: f64,
    /// `hh`/`h` watch for values above the limit, `l`/`ll` below.
    pub high: bool,
}

impl Level {
    /// Whether the condition holds for `value`, given whether it held before.
    /// Non-finite values keep the previous answer.
    #[inline]
    pub fn check(&self, value: f64, was_active: bool) -> bool {
        if !value.is_finite() {
            return was_active;
        }
        let band = if was_active { self.deadband } else { 0.0 };
        if self.high {
            value >= self.limit - band
        } else {
            value <= self.limit + band
        }
    }
}

/// Holds a raw condition until it has lasted `on_ms` (to raise) or `off_ms`
/// (to clear): chattering signals never reach the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Debounce {
    pub on_ms: i64,
    pub off_ms: i64,
    raw: bool,
    raw_since: TimestampMs,
    out: bool,
}

impl Debounce {
    pub fn new(on_ms: i64, off_ms: i64) -> Self {
        Debounce {
            on_ms,
            off_ms,
            ..Default::default()
        }
    }

    /// Starts settled at `active` (restored state).
    pub fn settled(mut self, active: bool) -> Self {
        self.raw = active;
        self.out = active;
        self
    }

    pub fn raw(&self) -> bool {
        self.raw
    }
    pub fn output(&self) -> bool {
        self.out
    }
    /// A change is waiting for its delay.
    pub fn pending(&self) -> bool {
        self.raw != self.out
    }

    /// Feeds the raw condition at `now`; returns the new output when it changes.
    #[inline]
    pub fn update(&mut self, raw: bool, now: TimestampMs) -> Option<bool> {
        if raw != self.raw {
            self.raw = raw;
            self.raw_since = now;
        }
        self.settle(now)
    }

    /// Lets time pass; returns the new output when a delay has run out.
    #[inline]
    pub fn settle(&mut self, now: TimestampMs) -> Option<bool> {
        if self.raw == self.out {
            return None;
        }
        let delay = if self.raw { self.on_ms } else { self.off_ms };
        if now.saturating_sub(self.raw_since) >= delay {
            self.out = self.raw;
            Some(self.out)
        } else {
            None
        }
    }
}

/// Rate of change in units per minute between two readings; `None` when the
/// timestamps do not advance or a value is not finite.
pub fn rate_per_minute(prev: (TimestampMs, f64), next: (TimestampMs, f64)) -> Option<f64> {
    let dt = next.0 - prev.0;
    if dt <= 0 || !prev.1.is_finite() || !next.1.is_finite() {
        return None;
    }
    Some((next.1 - prev.1) / dt as f64 * 60_000.0)
}

/// The outcome of closing one consumption period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeriodVerdict {
    pub consumption: f64,
    pub mean_before: f64,
    pub excessive: bool,
}

/// Consumption per period of a cumulative register, and the smart-meter rule:
/// the last period is excessive when above `factor` × the mean of the `n`
/// periods before it. Periods are aligned to multiples of `period_ms` (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumptionTracker {
    period_ms: i64,
    factor: f64,
    n: usize,
    period: Option<i64>,
    /// Register value at the end of the previous period.
    baseline: Option<f64>,
    last_value: f64,
    /// Consumption of completed periods, oldest first (at most n + 1).
    history: VecDeque<f64>,
}

impl ConsumptionTracker {
    pub fn new(period_ms: i64, factor: f64, n: usize) -> Self {
        ConsumptionTracker {
            period_ms: period_ms.max(1),
            factor,
            n: n.max(1),
            period: None,
            baseline: None,
            last_value: 0.0,
            history: VecDeque::new(),
        }
    }

    /// Feeds one register reading; returns a verdict when it closes a period
    /// and enough periods are known.
    pub fn on_value(&mut self, ts: TimestampMs, value: f64) -> Option<PeriodVerdict> {
        if !value.is_finite() {
            return None;
        }
        let period = ts.div_euclid(self.period_ms);
        let Some(current) = self.period else {
            // The first period is partial: it only sets the baseline at its end.
            self.period = Some(period);
            self.last_value = value;
            return None;
        };
        if period < current {
            return None;
        }
        if period == current {
            self.last_value = value;
            return None;
        }
        let closed_end = self.last_value;
        let verdict = self
            .baseline
            .and_then(|start| self.close(closed_end - start));
        self.baseline = Some(closed_end);
        self.period = Some(period);
        self.last_value = value;
        verdict
    }

    fn close(&mut self, consumption: f64) -> Option<PeriodVerdict> {
        self.history.push_back(consumption);
        while self.history.len() > self.n + 1 {
            self.history.pop_front();
        }
        if self.history.len() < self.n + 1 {
            return None;
        }
        let before = self.history.len() - 1;
        let mean_before = self.history.iter().take(before).sum::<f64>() / before as f64;
        Some(PeriodVerdict {
            consumption,
            mean_before,
            excessive: consumption > self.factor * mean_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn high_and_low_limits_with_deadband() {
        let h = Level {
            limit: 35.0,
            deadband: 0.5,
            high: true,
        };
        // (value, was active, expected)
        let table = [
            (34.9, false, false),
            (35.0, false, true),
            (36.0, false, true),
            (34.6, true, true),
            (34.5, true, true),
            (34.49, true, false),
            (34.6, false, false),
            (f64::NAN, true, true),
            (f64::NAN, false, false),
        ];
        for (value, was, expected) in table {
            assert_eq!(h.check(value, was), expected, "h {value} was {was}");
        }
        let l = Level {
            limit: 10.0,
            deadband: 1.0,
            high: false,
        };
        let table = [
            (10.1, false, false),
            (10.0, false, true),
            (10.9, true, true),
            (11.0, true, true),
            (11.01, true, false),
        ];
        for (value, was, expected) in table {
            assert_eq!(l.check(value, was), expected, "l {value} was {was}");
        }
    }

    #[test]
    fn on_delay_raises_only_after_the_condition_held_long_enough() {
        let mut d = Debounce::new(5_000, 0);
        assert_eq!(d.update(true, 0), None);
        assert_eq!(d.update(true, 4_999), None);
        assert!(d.pending());
        assert_eq!(d.settle(5_000), Some(true));
        assert_eq!(d.update(false, 6_000), Some(false), "no off-delay");
    }

    #[test]
    fn on_delay_restarts_when_the_condition_drops() {
        let mut d = Debounce::new(5_000, 0);
        d.update(true, 0);
        d.update(false, 3_000);
        d.update(true, 4_000);
        assert_eq!(d.settle(8_999), None);
        assert_eq!(d.settle(9_000), Some(true));
    }

    #[test]
    fn off_delay_holds_the_alarm_until_the_condition_is_gone_long_enough() {
        let mut d = Debounce::new(0, 2_000);
        assert_eq!(d.update(true, 0), Some(true));
        assert_eq!(d.update(false, 1_000), None);
        assert_eq!(
            d.update(true, 2_500),
            None,
            "came back within the off-delay"
        );
        assert_eq!(d.update(false, 3_000), None);
        assert_eq!(d.settle(4_999), None);
        assert_eq!(d.settle(5_000), Some(false));
    }

    #[test]
    fn rate_of_change_is_per_minute() {
        assert_eq!(rate_per_minute((0, 10.0), (30_000, 11.0)), Some(2.0));
        assert_eq!(rate_per_minute((0, 10.0), (60_000, 7.0)), Some(-3.0));
        assert_eq!(rate_per_minute((10, 1.0), (10, 2.0)), None);
        assert_eq!(rate_per_minute((0, f64::NAN), (10, 2.0)), None);
    }

    /// The smart-meter rule from PRODUCT.md, checked by hand: periods of 100,
    /// 110, 90 (mean 100) then 151 is excessive (> 150), 150 is not.
    #[test]
    fn consumption_above_factor_times_mean_of_previous_periods() {
        let hour = 3_600_000;
        let run = |last: f64| {
            let mut t = ConsumptionTracker::new(hour, 1.5, 3);
            // Register values at the end of each hour; the first hour is partial.
            let ends = [1_000.0, 1_100.0, 1_210.0, 1_300.0, 1_300.0 + last];
            let mut verdicts = Vec::new();
            for (i, v) in ends.iter().enumerate() {
                let ts = i as i64 * hour + hour / 2;
                verdicts.extend(t.on_value(ts, *v));
            }
            // The next period's first reading closes the last one.
            verdicts.extend(t.on_value(5 * hour + 1, 1_300.0 + last));
            verdicts
        };
        let v = run(151.0);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].mean_before, 100.0);
        assert_eq!(v[0].consumption, 151.0);
        assert!(v[0].excessive);
        assert!(!run(150.0)[0].excessive);
    }

    proptest! {
        /// A signal that flips faster than the on-delay never raises.
        #[test]
        fn chattering_faster_than_the_delay_never_raises(
            flips in proptest::collection::vec(1i64..999, 1..100),
        ) {
            let mut d = Debounce::new(1_000, 0);
            let (mut now, mut raw) = (0, false);
            for gap in flips {
                raw = !raw;
                now += gap;
                prop_assert_eq!(d.update(raw, now), None);
                raw = !raw;
                now += 1;
                prop_assert_eq!(d.update(raw, now), None);
            }
            prop_assert!(!d.output());
        }

        /// Values oscillating inside the deadband never clear a raised limit.
        #[test]
        fn noise_inside_the_deadband_keeps_the_alarm(
            noise in proptest::collection::vec(-0.99f64..0.0, 1..200),
        ) {
            let h = Level { limit: 40.0, deadband: 1.0, high: true };
            let mut active = h.check(40.0, false);
            prop_assert!(active);
            for n in noise {
                active = h.check(40.0 + n, active);
                prop_assert!(active);
            }
        }
    }
}
