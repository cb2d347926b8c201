//! The alarm evaluator: every configured alarm of every sensor, fed readings,
//! source status, clock ticks and operator commands. Pure with respect to time
//! (every call takes `now`); emits [`AlarmEvent`]s for the journal.

use super::condition::{Condition, ConsumptionTracker, Debounce, Level, rate_per_minute};
use super::machine::{EventKind, Input, Machine, Phase, Shelve, Step};
use super::rules::{AlarmSetup, SensorRules};
use super::{AlarmCommand, AlarmState, AlarmView, Priority};
use crate::model::{LinkState, SourceStatus};
use crate::model::{Quality, Reading, SensorId, TimestampMs, format_ts};
use std::collections::HashMap;

/// How much later than another console's ack an alarm may have been raised
/// here and still be the occurrence that ack meant (clocks, delivery).
pub const REMOTE_ACK_SKEW_MS: i64 = 5_000;

/// One journaled transition (or comment).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmEvent {
    pub ts: TimestampMs,
    pub key: String,
    pub sensor: SensorId,
    pub condition: Condition,
    pub kind: EventKind,
    pub state: AlarmState,
    pub value: Option<f64>,
    pub priority: Priority,
    /// Who did it; empty for process events.
    pub operator: String,
    pub comment: String,
    /// Shelved until (timed shelving), for the journal and restore.
    pub shelved_until: Option<TimestampMs>,
}

impl AlarmEvent {
    /// A new high or critical alarm the operator must notice now.
    pub fn rings_bell(&self) -> bool {
        self.kind == EventKind::Raised
            && self.state == AlarmState::Unacknowledged
            && self.priority <= Priority::High
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CommandError {
    #[error("no alarm {0:?}")]
    UnknownAlarm(String),
    #[error("alarm {key}: cannot {action} while {state}")]
    NotApplicable {
        key: String,
        action: &'static str,
        state: &'static str,
    },
}

/// One alarm: its state machine, the debounce in front of it, and what the
/// operator sees.
#[derive(Clone, Debug)]
struct Alarm {
    key: String,
    sensor: SensorId,
    condition: Condition,
    priority: Priority,
    machine: Machine,
    debounce: Debounce,
    raised_ms: TimestampMs,
    value: Option<f64>,
    acked_by: Option<String>,
    message: String,
}

impl Alarm {
    fn new(sensor: &SensorId, condition: Condition, rules: Option<&SensorRules>) -> Alarm {
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
        }
    }

    fn visible(&self) -> bool {
        match self.machine.phase() {
            Phase::Normal => false,
            Phase::Suppressed => self.machine.active(),
            _ => true,
        }
    }

    fn view(&self) -> AlarmView {
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
    fn apply(
        &mut self,
        input: Input,
        now: TimestampMs,
        operator: &str,
        out: &mut Vec<AlarmEvent>,
    ) -> Option<Step> {
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
        out.push(self.event(step.kind, now, operator, comment, shelved_until));
        Some(step)
    }

    fn event(
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
        }
    }

    /// Feeds the raw condition through the delays into the machine.
    #[inline]
    fn feed(&mut self, raw: bool, now: TimestampMs, out: &mut Vec<AlarmEvent>) -> bool {
        if raw == self.debounce.raw() && !self.debounce.pending() {
            return false;
        }
        match self.debounce.update(raw, now) {
            Some(active) => self.apply(Input::Condition(active), now, "", out).is_some(),
            None => false,
        }
    }
}

/// Alarms of one sensor, with what their conditions need to remember.
#[derive(Clone, Debug)]
struct SensorAlarms {
    rules: SensorRules,
    alarms: Vec<Alarm>,
    /// (alarm slot, level) for hh, h, l, ll.
    levels: Vec<(usize, Level)>,
    roc: Option<(usize, f64)>,
    stale: Option<(usize, i64)>,
    bad: Option<usize>,
    consumption: Option<(usize, ConsumptionTracker)>,
    previous: Option<(TimestampMs, f64)>,
    last_arrival: TimestampMs,
}

impl SensorAlarms {
    fn new(rules: SensorRules, now: TimestampMs) -> Self {
        let mut s = SensorAlarms {
            alarms: Vec::new(),
            levels: Vec::new(),
            roc: None,
            stale: None,
            bad: None,
            consumption: None,
            previous: None,
            last_arrival: now,
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

    fn on_reading(&mut self, r: &Reading, now: TimestampMs, out: &mut Vec<AlarmEvent>) -> bool {
        if self.rules.out_of_service {
            return false;
        }
        self.last_arrival = now;
        let mut changed = false;
        if let Some((slot, _)) = self.stale {
            changed |= self.alarms[slot].feed(false, now, out);
        }
        if let Some(slot) = self.bad {
            let bad = r.quality == Quality::Bad;
            if bad {
                self.alarms[slot].value = Some(r.value);
            }
            changed |= self.raise_or_clear(slot, bad, now, out, |s| {
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
            changed |= self.raise_or_clear(slot, raw, now, out, |s| {
                s.level_message(condition, level, r.value)
            });
        }
        changed |= self.check_roc(r, now, out);
        changed |= self.check_consumption(r, now, out);
        changed
    }

    fn check_roc(&mut self, r: &Reading, now: TimestampMs, out: &mut Vec<AlarmEvent>) -> bool {
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
        self.raise_or_clear(slot, raw, now, out, |s| {
            format!(
                "{} changing {rate:+.2} {}/min (limit {limit})",
                s.rules.name, s.rules.unit
            )
        })
    }

    fn check_consumption(
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
        self.raise_or_clear(slot, verdict.excessive, now, out, |s| {
            format!(
                "{}: {:.1} {} last period, above {factor} × the mean {:.1}",
                s.rules.name, verdict.consumption, s.rules.unit, verdict.mean_before
            )
        })
    }

    fn raise_or_clear(
        &mut self,
        slot: usize,
        raw: bool,
        now: TimestampMs,
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
        self.alarms[slot].feed(raw, now, out)
    }

    fn level_message(&self, condition: Condition, level: Level, value: f64) -> String {
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
    fn seed(&mut self, values: &[(TimestampMs, f64)]) {
        if let Some((_, tracker)) = &mut self.consumption {
            for &(ts, value) in values {
                let _ = tracker.on_value(ts, value);
            }
        }
        if let Some(&last) = values.last() {
            self.previous = Some(last);
        }
    }

    fn on_tick(&mut self, now: TimestampMs, out: &mut Vec<AlarmEvent>) -> bool {
        let mut changed = false;
        if let Some((slot, limit)) = self.stale
            && !self.rules.out_of_service
        {
            let silent = now - self.last_arrival;
            if silent > limit {
                changed |= self.raise_or_clear(slot, true, now, out, |s| {
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

/// Where an alarm key points.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Sensor(usize, usize),
    Source(usize),
}

/// Every alarm of the plant.
#[derive(Clone, Debug)]
pub struct Evaluator {
    index: HashMap<SensorId, usize>,
    sensors: Vec<SensorAlarms>,
    sources: Vec<Alarm>,
    keys: HashMap<String, Slot>,
    setup: AlarmSetup,
    /// Something visible changed since the last [`Evaluator::take_views`].
    changed: bool,
}

impl Evaluator {
    pub fn new(setup: AlarmSetup, now: TimestampMs) -> Self {
        let mut e = Evaluator {
            index: HashMap::new(),
            sensors: Vec::new(),
            sources: Vec::new(),
            keys: HashMap::new(),
            setup,
            changed: true,
        };
        for rules in e.setup.sensors.clone() {
            let i = e.sensors.len();
            e.index.insert(rules.id.clone(), i);
            let sensor = SensorAlarms::new(rules, now);
            for (slot, alarm) in sensor.alarms.iter().enumerate() {
                e.keys.insert(alarm.key.clone(), Slot::Sensor(i, slot));
            }
            e.sensors.push(sensor);
        }
        e
    }

    pub fn setup(&self) -> &AlarmSetup {
        &self.setup
    }

    /// Evaluates one reading that arrived at `now`.
    #[inline]
    pub fn on_reading(&mut self, r: &Reading, now: TimestampMs, out: &mut Vec<AlarmEvent>) {
        if let Some(&i) = self.index.get(r.sensor.as_str()) {
            self.changed |= self.sensors[i].on_reading(r, now, out);
        }
    }

    /// Lets time pass: on/off delays, stale sensors, shelving expiry.
    pub fn on_tick(&mut self, now: TimestampMs, out: &mut Vec<AlarmEvent>) {
        for sensor in &mut self.sensors {
            self.changed |= sensor.on_tick(now, out);
        }
        for alarm in &mut self.sources {
            self.changed |= alarm.apply(Input::Tick, now, "system", out).is_some();
        }
    }

    /// Comms failure of a broker or device: raised while it is backing off
    /// after an error, cleared once it is connected again.
    pub fn on_status(
        &mut self,
        status: &SourceStatus,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) {
        if !self.setup.comms {
            return;
        }
        let failing = match status.state {
            LinkState::BackingOff => true,
            LinkState::Connected => false,
            LinkState::Connecting | LinkState::Stopped => return,
        };
        let i = self.source_slot(&status.name);
        let alarm = &mut self.sources[i];
        if failing && !alarm.debounce.output() {
            alarm.message = format!(
                "{}: {}",
                status.name,
                status.last_error.as_deref().unwrap_or("connection lost")
            );
        }
        self.changed |= alarm.feed(failing, now, out);
    }

    fn source_slot(&mut self, name: &str) -> usize {
        let key = format!("{name}/{}", Condition::Comms.label());
        if let Some(Slot::Source(i)) = self.keys.get(&key) {
            return *i;
        }
        let alarm = Alarm::new(&SensorId::new(name), Condition::Comms, None);
        self.sources.push(alarm);
        let i = self.sources.len() - 1;
        self.keys.insert(key, Slot::Source(i));
        i
    }

    fn alarm_mut(&mut self, key: &str) -> Result<&mut Alarm, CommandError> {
        match self.keys.get(key) {
            Some(Slot::Sensor(i, slot)) => Ok(&mut self.sensors[*i].alarms[*slot]),
            Some(Slot::Source(i)) => Ok(&mut self.sources[*i]),
            None => Err(CommandError::UnknownAlarm(key.to_owned())),
        }
    }

    pub fn alarm_state(&self, key: &str) -> Option<AlarmState> {
        match self.keys.get(key)? {
            Slot::Sensor(i, slot) => Some(self.sensors[*i].alarms[*slot].machine.state()),
            Slot::Source(i) => Some(self.sources[*i].machine.state()),
        }
    }

    /// Applies an operator action. Acknowledging all skips alarms that need no ack.
    pub fn command(
        &mut self,
        command: &AlarmCommand,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), CommandError> {
        let shelve_max = self.setup.shelve_max_ms;
        let result = match command {
            AlarmCommand::Ack { key, operator } => self.step(key, Input::Ack, now, operator, out),
            AlarmCommand::AckAll { keys, operator } => {
                for key in keys {
                    if self.alarm_state(key).is_some_and(AlarmState::needs_ack) {
                        self.step(key, Input::Ack, now, operator, out)?;
                    }
                }
                Ok(())
            }
            AlarmCommand::Shelve {
                key,
                for_ms,
                operator,
            } => {
                let until = now.saturating_add((*for_ms).clamp(0, shelve_max));
                self.step(key, Input::Shelve(Shelve::Until(until)), now, operator, out)
            }
            AlarmCommand::ShelveOneShot { key, operator } => {
                self.step(key, Input::Shelve(Shelve::OneShot), now, operator, out)
            }
            AlarmCommand::Unshelve { key, operator } => {
                self.step(key, Input::Unshelve, now, operator, out)
            }
            AlarmCommand::Reset { key, operator } => {
                self.step(key, Input::Reset, now, operator, out)
            }
            AlarmCommand::AckFromConsole {
                key,
                acked_ms,
                operator,
                console,
            } => {
                if self.remote_ack(key, *acked_ms, operator, REMOTE_ACK_SKEW_MS, now, out)
                    && let Some(last) = out.last_mut()
                {
                    last.comment = format!("via console {console}");
                }
                Ok(())
            }
            AlarmCommand::Comment {
                key,
                text,
                operator,
            } => {
                let alarm = self.alarm_mut(key)?;
                out.push(alarm.event(EventKind::Comment, now, operator, text.clone(), None));
                Ok(())
            }
        };
        self.changed = true;
        result
    }

    fn step(
        &mut self,
        key: &str,
        input: Input,
        now: TimestampMs,
        operator: &str,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), CommandError> {
        let alarm = self.alarm_mut(key)?;
        match alarm.apply(input, now, operator, out) {
            Some(_) => Ok(()),
            None => Err(CommandError::NotApplicable {
                key: key.to_owned(),
                action: match input {
                    Input::Ack => "acknowledge",
                    Input::Shelve(_) => "shelve",
                    Input::Unshelve => "unshelve",
                    Input::Reset => "reset",
                    Input::Condition(_) | Input::Tick => "change",
                },
                state: alarm.machine.state().label(),
            }),
        }
    }

    /// An acknowledgement made on another console. Applied when this alarm
    /// still waits for one and was raised before that ack (plus `skew_ms` for
    /// clocks and delivery); an old ack never silences a newer occurrence.
    pub fn remote_ack(
        &mut self,
        key: &str,
        acked_ms: TimestampMs,
        operator: &str,
        skew_ms: i64,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> bool {
        let Ok(alarm) = self.alarm_mut(key) else {
            return false;
        };
        if !alarm.machine.state().needs_ack() || alarm.raised_ms > acked_ms + skew_ms {
            return false;
        }
        let applied = alarm.apply(Input::Ack, now, operator, out).is_some();
        self.changed |= applied;
        applied
    }

    /// Puts alarms back as the journal left them, before the first reading.
    /// The condition is assumed to still hold for active alarms; the first
    /// reading clears them if not, and never raises them a second time.
    pub fn restore(&mut self, restored: &[super::journal::Restored]) {
        for r in restored {
            let slot = match self.keys.get(&r.key) {
                Some(slot) => *slot,
                None if r.condition == Condition::Comms => {
                    Slot::Source(self.source_slot(&r.sensor))
                }
                None => continue,
            };
            let alarm = match slot {
                Slot::Sensor(i, s) => &mut self.sensors[i].alarms[s],
                Slot::Source(i) => &mut self.sources[i],
            };
            // Config wins: a suppressed or out-of-service alarm stays so.
            if matches!(
                alarm.machine.phase(),
                Phase::Suppressed | Phase::OutOfService
            ) {
                continue;
            }
            let active = matches!(r.phase, Phase::Unacknowledged | Phase::Acknowledged);
            alarm.machine = Machine::with_phase(r.phase, active, alarm.machine.latch());
            alarm.debounce = alarm.debounce.settled(active);
            alarm.raised_ms = r.raised_ms;
            alarm.value = r.value;
            alarm.acked_by = r.acked_by.clone();
            alarm.message = r.message.clone();
            self.changed = true;
        }
    }

    /// Feeds values from the history (the last value for rate of change, the
    /// last of each recent period for consumption) before the first reading,
    /// so conditions spanning a restart are judged on them. Raises nothing and
    /// emits no events: alarm states come from the journal ([`Evaluator::restore`]).
    pub fn seed(&mut self, history: &[super::SeedSeries]) {
        for series in history {
            if let Some(&i) = self.index.get(series.sensor.as_str()) {
                self.sensors[i].seed(&series.values);
            }
        }
    }

    /// The visible alarms, most urgent first, if anything changed since the last call.
    pub fn take_views(&mut self) -> Option<Vec<AlarmView>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(self.views())
    }

    pub fn views(&self) -> Vec<AlarmView> {
        let mut views: Vec<AlarmView> = self
            .sensors
            .iter()
            .flat_map(|s| s.alarms.iter())
            .chain(self.sources.iter())
            .filter(|a| a.visible())
            .map(Alarm::view)
            .collect();
        super::sort_most_urgent_first(&mut views);
        views
    }
}

#[cfg(test)]
mod tests;
