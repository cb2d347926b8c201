//! The ISA-18.2 / IEC 62682 alarm state machine for one alarm, as pure code:
//! no clock, no I/O. Time comes in with each input; the caller journals the
//! [`Step`]s that come out.
//!
//! ```text
//!   Normal ──raise──▶ Unack ──ack──▶ Acked ──clear──▶ Normal
//!                       │                                ▲
//!                     clear                              │
//!                       ▼                                │
//!                    RTN-Unack ──────────ack─────────────┘
//!                       └──raise──▶ Unack
//!   any of the four ──shelve──▶ Shelved ──unshelve/expiry──▶ Unack (active) | Normal
//!   Suppressed / Out of service: set by configuration.
//! ```
//! A latched alarm ignores the condition clearing: it stays Unack/Acked until
//! acknowledged and then reset by an operator.

use super::AlarmState;
use crate::model::TimestampMs;

/// How long a shelved alarm stays shelved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shelve {
    /// Until this instant (already capped at the configured maximum).
    Until(TimestampMs),
    /// Until the condition next returns to normal.
    OneShot,
}

/// Where one alarm is in the ISA-18.2 state diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Normal,
    Unacknowledged,
    Acknowledged,
    ReturnToNormalUnacknowledged,
    Shelved(Shelve),
    Suppressed,
    OutOfService,
}

impl Phase {
    pub fn state(self) -> AlarmState {
        match self {
            Phase::Normal => AlarmState::Normal,
            Phase::Unacknowledged => AlarmState::Unacknowledged,
            Phase::Acknowledged => AlarmState::Acknowledged,
            Phase::ReturnToNormalUnacknowledged => AlarmState::ReturnToNormalUnacknowledged,
            Phase::Shelved(_) => AlarmState::Shelved,
            Phase::Suppressed => AlarmState::Suppressed,
            Phase::OutOfService => AlarmState::OutOfService,
        }
    }
}

/// What can happen to an alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// The (debounced) process condition is now active or not.
    Condition(bool),
    Ack,
    Shelve(Shelve),
    Unshelve,
    Reset,
    /// Time passes: timed shelving may expire.
    Tick,
}

/// The journal's event names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Raised,
    Cleared,
    Acked,
    Shelved,
    Unshelved,
    Reset,
    Comment,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Raised,
        EventKind::Cleared,
        EventKind::Acked,
        EventKind::Shelved,
        EventKind::Unshelved,
        EventKind::Reset,
        EventKind::Comment,
    ];

    pub fn label(self) -> &'static str {
        match self {
            EventKind::Raised => "raised",
            EventKind::Cleared => "cleared",
            EventKind::Acked => "acked",
            EventKind::Shelved => "shelved",
            EventKind::Unshelved => "unshelved",
            EventKind::Reset => "reset",
            EventKind::Comment => "comment",
        }
    }

    pub fn parse(label: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.label() == label)
    }
}

/// One transition: what happened and the state it led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: EventKind,
    pub from: Phase,
    pub to: Phase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    phase: Phase,
    /// The process condition, tracked in every phase.
    active: bool,
    latch: bool,
}

impl Machine {
    pub fn new(latch: bool) -> Self {
        Machine {
            phase: Phase::Normal,
            active: false,
            latch,
        }
    }

    /// A machine in a given phase, e.g. restored from the journal or set by config.
    pub fn with_phase(phase: Phase, active: bool, latch: bool) -> Self {
        Machine {
            phase,
            active,
            latch,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn state(&self) -> AlarmState {
        self.phase.state()
    }
    pub fn active(&self) -> bool {
        self.active
    }
    pub fn latch(&self) -> bool {
        self.latch
    }

    /// Applies one input at `now`; returns the transition, or `None` when the
    /// input does not apply in the current phase (nothing to journal).
    pub fn step(&mut self, input: Input, now: TimestampMs) -> Option<Step> {
        let from = self.phase;
        let (kind, to) = match input {
            Input::Condition(active) => self.on_condition(active)?,
            Input::Ack => (EventKind::Acked, self.on_ack()?),
            Input::Shelve(shelve) => (EventKind::Shelved, self.on_shelve(shelve)?),
            Input::Unshelve => (EventKind::Unshelved, self.on_unshelve()?),
            Input::Reset => (EventKind::Reset, self.on_reset()?),
            Input::Tick => (EventKind::Unshelved, self.on_tick(now)?),
        };
        self.phase = to;
        Some(Step { kind, from, to })
    }

    fn on_condition(&mut self, active: bool) -> Option<(EventKind, Phase)> {
        if active == self.active {
            return None;
        }
        self.active = active;
        let kind = if active {
            EventKind::Raised
        } else {
            EventKind::Cleared
        };
        let to = match (self.phase, active) {
            (Phase::Normal | Phase::ReturnToNormalUnacknowledged, true) => Phase::Unacknowledged,
            // A latched alarm that cleared while acknowledged comes back to be seen.
            (Phase::Acknowledged, true) => Phase::Unacknowledged,
            (Phase::Unacknowledged, true) => Phase::Unacknowledged,
            (Phase::Unacknowledged, false) if self.latch => Phase::Unacknowledged,
            (Phase::Unacknowledged, false) => Phase::ReturnToNormalUnacknowledged,
            (Phase::Acknowledged, false) if self.latch => Phase::Acknowledged,
            (Phase::Acknowledged, false) => Phase::Normal,
            (Phase::Shelved(Shelve::OneShot), false) => {
                return Some((EventKind::Unshelved, Phase::Normal));
            }
            (Phase::Suppressed, _) => Phase::Suppressed,
            // Normal + clear and RTN + clear cannot happen (the condition was already clear).
            (Phase::Normal | Phase::ReturnToNormalUnacknowledged, false)
            | (Phase::Shelved(_), _)
            | (Phase::OutOfService, _) => return None,
        };
        Some((kind, to))
    }

    fn on_ack(&self) -> Option<Phase> {
        match self.phase {
            Phase::Unacknowledged if self.active || self.latch => Some(Phase::Acknowledged),
            Phase::Unacknowledged | Phase::ReturnToNormalUnacknowledged => Some(Phase::Normal),
            _ => None,
        }
    }

    fn on_shelve(&self, shelve: Shelve) -> Option<Phase> {
        match self.phase {
            Phase::Suppressed | Phase::OutOfService => None,
            _ => Some(Phase::Shelved(shelve)),
        }
    }

    fn on_unshelve(&self) -> Option<Phase> {
        match self.phase {
            Phase::Shelved(_) if self.active => Some(Phase::Unacknowledged),
            Phase::Shelved(_) => Some(Phase::Normal),
            _ => None,
        }
    }

    fn on_reset(&self) -> Option<Phase> {
        match self.phase {
            Phase::Acknowledged if !self.active => Some(Phase::Normal),
            _ => None,
        }
    }

    fn on_tick(&self, now: TimestampMs) -> Option<Phase> {
        match self.phase {
            Phase::Shelved(Shelve::Until(until)) if now >= until => self.on_unshelve(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
