//! The alarm evaluator: every configured alarm of every sensor, fed readings,
//! source status, clock ticks and operator commands. Pure with respect to time
//! (every call takes `now`); emits [`AlarmEvent`]s for the journal.

use super::condition::Condition;
use super::machine::{EventKind, Input, Machine, Phase, Shelve};
use super::rules::AlarmSetup;
use super::{AlarmCommand, AlarmState, AlarmView, Priority, SharedAction};
use crate::model::{LinkState, SourceStatus};
use crate::model::{Reading, SensorId, TimestampMs};
use std::collections::HashMap;

mod sensor;
use sensor::{Alarm, SensorAlarms};

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
    /// What makes an automatic transition the same occurrence on every
    /// console evaluating the same readings: the time of the reading that
    /// caused it (a stale alarm: the last reading before the silence), or the
    /// end of the timed shelving that expired. `None` for operator actions
    /// and link (comms) alarms, which are each console's own.
    pub occurrence: Option<TimestampMs>,
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
            e.insert(rules, now);
        }
        e
    }

    fn insert(&mut self, rules: super::SensorRules, now: TimestampMs) {
        let i = self.sensors.len();
        self.index.insert(rules.id.clone(), i);
        let sensor = SensorAlarms::new(rules, now);
        for (slot, alarm) in sensor.alarms.iter().enumerate() {
            self.keys.insert(alarm.key.clone(), Slot::Sensor(i, slot));
        }
        self.sensors.push(sensor);
    }

    /// Adds the rules of a sensor found at run time (a pattern's or
    /// template's limits) unless the sensor has rules already; returns
    /// whether they were added. They stay through a replay's restarts.
    pub fn adopt(&mut self, rules: super::SensorRules, now: TimestampMs) -> bool {
        if self.index.contains_key(rules.id.as_str()) {
            return false;
        }
        self.setup.sensors.push(rules.clone());
        self.insert(rules, now);
        self.changed = true;
        true
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
        self.changed |= alarm.feed(failing, now, None, out);
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
            AlarmCommand::FromJournal {
                key,
                action,
                at_ms,
                operator,
                ..
            } => self.shared_action(key, *action, *at_ms, operator, now, out),
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

    /// An action another console journaled. An ack follows [`Self::remote_ack`];
    /// a timed shelving ends when it ends there.
    fn shared_action(
        &mut self,
        key: &str,
        action: SharedAction,
        at_ms: TimestampMs,
        operator: &str,
        now: TimestampMs,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), CommandError> {
        let input = match action {
            SharedAction::Ack => {
                self.remote_ack(key, at_ms, operator, REMOTE_ACK_SKEW_MS, now, out);
                return Ok(());
            }
            SharedAction::Shelve(shelve) => Input::Shelve(shelve),
            SharedAction::Unshelve => Input::Unshelve,
            SharedAction::Reset => Input::Reset,
        };
        self.step(key, input, now, operator, out)
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
    /// Returns the alarms of sensors without rules yet (a pattern's sensors,
    /// until they are discovered again).
    pub fn restore(
        &mut self,
        restored: &[super::journal::Restored],
    ) -> Vec<super::journal::Restored> {
        let mut unknown = Vec::new();
        for r in restored {
            let slot = match self.keys.get(&r.key) {
                Some(slot) => *slot,
                None if r.condition == Condition::Comms => {
                    Slot::Source(self.source_slot(&r.sensor))
                }
                None => {
                    unknown.push(r.clone());
                    continue;
                }
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
        unknown
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
