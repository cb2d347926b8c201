//! The alarms of one sensor (its conditions, stale timer and consumption
//! tracker) and of one source, each a state machine fed readings and ticks.

use super::AlarmEvent;
use crate::alarm::condition::{Condition, ConsumptionTracker, Debounce, Level, rate_per_minute};
use crate::alarm::machine::{EventKind, Input, Machine, Phase, Shelve, Step};
use crate::alarm::rules::SensorRules;
use crate::alarm::{AlarmView, Priority};
use crate::model::{Quality, Reading, SensorId, TimestampMs, format_ts};

#[derive(Clone, Debug)]
pub(super) struct Alarm {
    pub(super) key: String,
    pub(super) sensor: SensorId,
    pub(super) condition: Condition,
    pub(super) priority: Priority,
    pub(super) machine: Machine,
    pub(super) debounce: Debounce,
    pub(super) raised_ms: TimestampMs,
    pub(super) value: Option<f64>,
    pub(super) acked_by: Option<String>,
    pub(super) message: String,
    /// The time of the reading at which the raw condition last changed: the
    /// occurrence of the transition it leads to (see [`AlarmEvent::occurrence`]).
    pub(super) edge: Option<TimestampMs>,
}

impl Alarm {
    pub(super) fn new(
        sensor: &SensorId,
        condition: Condition,
        rules: Option<&SensorRules>,
    ) -> Alarm {
        let (priority, latch, phase, debounce) = match rules {
            Some(r) => (
                r.priority(condition),
                r.latch,
                r.initial_phase(),
                r.debounce(condition),
            ),
            None => (
                condition.default_priority(),
                false,
                Phase::Normal,
                Debounce::new(0, 0),
            ),
        };
        Alarm {
            key: format!("{sensor}/{}", condition.label()),
            sensor: sensor.clone(),
            condition,
            priority,
            machine: Machine::with_phase(phase, false, latch),
            debounce,
            raised_ms: 0,
            value: None,
            acked_by: None,
            message: String::new(),
            edge: None,
        }
    }

    pub(super) fn visible(&self) -> bool {
        match self.machine.phase() {
            Phase::Normal => false,
            Phase::Suppressed => self.machine.active(),
            _ => true,
        }
    }

    pub(super) fn view(&self) -> AlarmView {
        AlarmView {
            key: self.key.clone(),
            sensor: self.sensor.clone(),
            condition: self.condition.label().to_owned(),
            priority: self.priority,
            state: self.machine.state(),
            value: self.value,
            raised_ms: self.raised_ms,
            acked_by: self.acked_by.clone(),
            message: self.message.clone(),
        }
    }

    /// Runs one input through the machine; records and returns the event.
    pub(super) fn apply(
        &mut self,
        input: Input,
        now: TimestampMs,
        operator: &str,
        out: &mut Vec<AlarmEvent>,
    ) -> Option<Step> {
        let occurrence = match (input, self.machine.phase()) {
            (Input::Condition(_), _) => self.edge,
            (Input::Tick, Phase::Shelved(Shelve::Until(until))) => Some(until),
            _ => None,
        };
        let step = self.machine.step(input, now)?;
        match (step.kind, step.to) {
            (EventKind::Raised, _) | (EventKind::Unshelved, Phase::Unacknowledged) => {
                self.raised_ms = now;
                self.acked_by = None;
            }
            (EventKind::Acked, _) => self.acked_by = Some(operator.to_owned()),
            _ => {}
        }
        let shelved_until = match step.to {
            Phase::Shelved(Shelve::Until(t)) => Some(t),
            _ => None,
        };
        let comment = match step.to {
            Phase::Shelved(Shelve::Until(t)) => format!("until {}", format_ts(t)),
            Phase::Shelved(Shelve::OneShot) => "one-shot".to_owned(),
            _ => String::new(),
        };
        let mut event = self.event(step.kind, now, operator, comment, shelved_until);
        event.occurrence = occurrence;
        out.push(event);
        Some(step)
    }

    pub(super) fn event(
        &self,
        kind: EventKind,
        now: TimestampMs,
        operator: &str,
        comment: String,
        shelved_until: Option<TimestampMs>,
    ) -> AlarmEvent {
        AlarmEvent {
            ts: now,
            key: self.key.clone(),
            sensor: self.sensor.clone(),
            condition: self.condition,
            kind,
            state: self.machine.state(),
            value: self.value,
            priority: self.priority,
            operator: operator.to_owned(),
            comment,
            shelved_until,
            occurrence: None,
        }
    }

    /// Feeds the raw condition through the delays into the machine; `source_ts`
    /// is the time of the reading that tells it (`None` for a link's state).
    #[inline]
    pub(super) fn feed(
        &mut self,
        raw: bool,
        now: TimestampMs,
        source_ts: Option<TimestampMs>,
        out: &mut Vec<AlarmEvent>,
    ) -> bool {
        if raw == self.debounce.raw() && !self.debounce.pending() {
            return false;
        }
        if raw != self.debounce.raw() {
            self.edge = source_ts;
        }
        match self.debounce.update(raw, now) {
            Some(active) => self.apply(Input::Condition(active), now, "", out).is_some(),
            None => false,
        }
    }
}

/// Alarms of one sensor, with what their conditions need to remember.
#[derive(Clone, Debug)]
pub(super) struct SensorAlarms {
    pub(super) rules: SensorRules,
    pub(super) alarms: Vec<Alarm>,
    /// (alarm slot, level) for hh, h, l, ll.
    pub(super) levels: Vec<(usize, Level)>,
    pub(super) roc: Option<(usize, f64)>,
    pub(super) stale: Option<(usize, i64)>,
    pub(super) bad: Option<usize>,
    pub(super) consumption: Option<(usize, ConsumptionTracker)>,
    pub(super) previous: Option<(TimestampMs, f64)>,
    pub(super) last_arrival: TimestampMs,
    /// The time of the last reading: a stale alarm's occurrence (the silence
    /// after it is the same on every console that had it).
    pub(super) last_reading: Option<TimestampMs>,
}

impl SensorAlarms {
    pub(super) fn new(rules: SensorRules, now: TimestampMs) -> Self {
        let mut s = SensorAlarms {
            alarms: Vec::new(),
            levels: Vec::new(),
            roc: None,
            stale: None,
            bad: None,
            consumption: None,
            previous: None,
            last_arrival: now,
            last_reading: None,
            rules,
        };
        let add = |s: &mut SensorAlarms, c: Condition| {
            s.alarms.push(Alarm::new(&s.rules.id, c, Some(&s.rules)));
            s.alarms.len() - 1
        };
        for (condition, level) in s.rules.levels.clone() {
            let slot = add(&mut s, condition);
            s.levels.push((slot, level));
        }
        if let Some(per_minute) = s.rules.roc_per_minute {
            s.roc = Some((add(&mut s, Condition::Roc), per_minute));
        }
        if let Some(ms) = s.rules.stale_ms {
            s.stale = Some((add(&mut s, Condition::Stale), ms));
        }
        if s.rules.bad_quality {
            s.bad = Some(add(&mut s, Condition::Bad));
        }
        if let Some(c) = &s.rules.consumption {
            let tracker = ConsumptionTracker::new(c.period_ms, c.factor, c.n);
            s.consumption = Some((add(&mut s, Condition::Consumption), tracker));
        }
        s
    }

    pub(super) fn on_reading(
        &mut self,
        r: &Reading,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> bool {
        if self.rules.out_of_service {
            return false;
        }
        self.last_arrival = now;
        self.last_reading = Some(r.ts);
        let mut changed = false;
        if let Some((slot, _)) = self.stale {
            changed |= self.alarms[slot].feed(false, now, Some(r.ts), out);
        }
        if let Some(slot) = self.bad {
            let bad = r.quality == Quality::Bad;
            if bad {
                self.alarms[slot].value = Some(r.value);
            }
            changed |= self.raise_or_clear(slot, bad, (now, Some(r.ts)), out, |s| {
                format!("{}: the source reports bad quality", s.rules.name)
            });
        }
        if r.quality == Quality::Bad || !r.value.is_finite() {
            return changed;
        }
        for i in 0..self.levels.len() {
            let (slot, level) = self.levels[i];
            let raw = level.check(r.value, self.alarms[slot].debounce.raw());
            if raw == self.alarms[slot].debounce.raw() && !self.alarms[slot].debounce.pending() {
                continue;
            }
            self.alarms[slot].value = Some(r.value);
            let condition = self.alarms[slot].condition;
            changed |= self.raise_or_clear(slot, raw, (now, Some(r.ts)), out, |s| {
                s.level_message(condition, level, r.value)
            });
        }
        changed |= self.check_roc(r, now, out);
        changed |= self.check_consumption(r, now, out);
        changed
    }

    pub(super) fn check_roc(
        &mut self,
        r: &Reading,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> bool {
        let previous = self.previous.replace((r.ts, r.value));
        let Some((slot, limit)) = self.roc else {
            return false;
        };
        let Some(rate) = previous.and_then(|p| rate_per_minute(p, (r.ts, r.value))) else {
            return false;
        };
        let raw = rate.abs() > limit;
        if raw {
            self.alarms[slot].value = Some(r.value);
        }
        self.raise_or_clear(slot, raw, (now, Some(r.ts)), out, |s| {
            format!(
                "{} changing {rate:+.2} {}/min (limit {limit})",
                s.rules.name, s.rules.unit
            )
        })
    }

    pub(super) fn check_consumption(
        &mut self,
        r: &Reading,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> bool {
        let Some((slot, tracker)) = &mut self.consumption else {
            return false;
        };
        let slot = *slot;
        let Some(verdict) = tracker.on_value(r.ts, r.value) else {
            return false;
        };
        let factor = self.rules.consumption.as_ref().map_or(1.5, |c| c.factor);
        self.alarms[slot].value = Some(verdict.consumption);
        self.raise_or_clear(slot, verdict.excessive, (now, Some(r.ts)), out, |s| {
            format!(
                "{}: {:.1} {} last period, above {factor} × the mean {:.1}",
                s.rules.name, verdict.consumption, s.rules.unit, verdict.mean_before
            )
        })
    }

    pub(super) fn raise_or_clear(
        &mut self,
        slot: usize,
        raw: bool,
        (now, source_ts): (TimestampMs, Option<TimestampMs>),
        out: &mut Vec<AlarmEvent>,
        message: impl FnOnce(&SensorAlarms) -> String,
    ) -> bool {
        let alarm = &self.alarms[slot];
        if raw == alarm.debounce.raw() && !alarm.debounce.pending() {
            return false;
        }
        if raw && !alarm.debounce.output() {
            let text = message(self);
            self.alarms[slot].message = text;
        }
        self.alarms[slot].feed(raw, now, source_ts, out)
    }

    pub(super) fn level_message(&self, condition: Condition, level: Level, value: f64) -> String {
        let side = if level.high { "above" } else { "below" };
        format!(
            "{} {value} {} {side} {} {}",
            self.rules.name,
            self.rules.unit,
            condition.label(),
            level.limit
        )
        .replace("  ", " ")
    }

    /// Remembers past values without judging them (see [`Evaluator::seed`]).
    pub(super) fn seed(&mut self, values: &[(TimestampMs, f64)]) {
        if let Some((_, tracker)) = &mut self.consumption {
            for &(ts, value) in values {
                let _ = tracker.on_value(ts, value);
            }
        }
        if let Some(&last) = values.last() {
            self.previous = Some(last);
        }
    }

    pub(super) fn on_tick(&mut self, now: TimestampMs, out: &mut Vec<AlarmEvent>) -> bool {
        let mut changed = false;
        if let Some((slot, limit)) = self.stale
            && !self.rules.out_of_service
        {
            let silent = now - self.last_arrival;
            if silent > limit {
                let last = self.last_reading;
                changed |= self.raise_or_clear(slot, true, (now, last), out, |s| {
                    format!("{}: no reading for {} s", s.rules.name, silent / 1000)
                });
            }
        }
        for alarm in &mut self.alarms {
            if alarm.debounce.pending()
                && let Some(active) = alarm.debounce.settle(now)
            {
                changed |= alarm
                    .apply(Input::Condition(active), now, "", out)
                    .is_some();
            }
            changed |= alarm.apply(Input::Tick, now, "system", out).is_some();
        }
        changed
    }
}
