//! Alarm management (ISA-18.2). This file holds the contract between the
//! engine, the alarm evaluator and the UI: what an active alarm looks like in
//! the live snapshot, and the operator actions the UI sends to the engine.

pub mod condition;
pub mod evaluator;
pub mod journal;
pub mod kpi;
pub mod machine;
pub mod rules;
pub mod seed;

pub use condition::Condition;
pub use evaluator::{AlarmEvent, CommandError, Evaluator};
pub use journal::{JournalFilter, Restored};
pub use kpi::AlarmKpis;
pub use machine::{EventKind, Machine, Phase, Shelve};
pub use rules::{AlarmSetup, SensorRules};
pub use seed::SeedSeries;

use crate::model::{SensorId, TimestampMs};

/// Priority, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    Critical,
    High,
    #[default]
    Medium,
    Low,
}

impl Priority {
    pub fn label(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    pub fn parse(label: &str) -> Option<Priority> {
        [
            Priority::Critical,
            Priority::High,
            Priority::Medium,
            Priority::Low,
        ]
        .into_iter()
        .find(|p| p.label() == label)
    }
}

/// ISA-18.2 alarm states as the operator sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AlarmState {
    #[default]
    Normal,
    /// Active, not yet acknowledged.
    Unacknowledged,
    /// Active and acknowledged.
    Acknowledged,
    /// Returned to normal before it was acknowledged.
    ReturnToNormalUnacknowledged,
    Shelved,
    Suppressed,
    OutOfService,
}

impl AlarmState {
    pub fn label(self) -> &'static str {
        match self {
            AlarmState::Normal => "normal",
            AlarmState::Unacknowledged => "unack",
            AlarmState::Acknowledged => "acked",
            AlarmState::ReturnToNormalUnacknowledged => "rtn unack",
            AlarmState::Shelved => "shelved",
            AlarmState::Suppressed => "suppressed",
            AlarmState::OutOfService => "out of service",
        }
    }

    pub const ALL: [AlarmState; 7] = [
        AlarmState::Normal,
        AlarmState::Unacknowledged,
        AlarmState::Acknowledged,
        AlarmState::ReturnToNormalUnacknowledged,
        AlarmState::Shelved,
        AlarmState::Suppressed,
        AlarmState::OutOfService,
    ];

    pub fn parse(label: &str) -> Option<AlarmState> {
        AlarmState::ALL.into_iter().find(|s| s.label() == label)
    }

    /// Annunciated states come first in the alarm list; shelved, suppressed and
    /// out-of-service alarms after them.
    fn list_group(self) -> u8 {
        match self {
            AlarmState::Unacknowledged
            | AlarmState::ReturnToNormalUnacknowledged
            | AlarmState::Acknowledged
            | AlarmState::Normal => 0,
            AlarmState::Shelved => 1,
            AlarmState::Suppressed => 2,
            AlarmState::OutOfService => 3,
        }
    }

    pub fn needs_ack(self) -> bool {
        matches!(
            self,
            AlarmState::Unacknowledged | AlarmState::ReturnToNormalUnacknowledged
        )
    }
}

/// One alarm as shown in the alarm pane (every state but Normal).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmView {
    /// Stable key: `"<sensor>/<condition>"`.
    pub key: String,
    pub sensor: SensorId,
    /// `hh`, `h`, `l`, `ll`, `roc`, `stale`, `bad`, `consumption`, `comms`.
    pub condition: String,
    pub priority: Priority,
    pub state: AlarmState,
    /// The value that raised it (or the latest one).
    pub value: Option<f64>,
    pub raised_ms: TimestampMs,
    pub acked_by: Option<String>,
    pub message: String,
}

/// Operator actions, sent from the UI to the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmCommand {
    Ack {
        key: String,
        operator: String,
    },
    AckAll {
        keys: Vec<String>,
        operator: String,
    },
    /// Shelve for `for_ms` (capped at `[alarms] shelve_max`).
    Shelve {
        key: String,
        for_ms: i64,
        operator: String,
    },
    /// Shelve until the condition next returns to normal.
    ShelveOneShot {
        key: String,
        operator: String,
    },
    Unshelve {
        key: String,
        operator: String,
    },
    Comment {
        key: String,
        text: String,
        operator: String,
    },
    /// Return a latched, acknowledged alarm whose condition has cleared to normal.
    Reset {
        key: String,
        operator: String,
    },
    /// An acknowledgement made on another console (shared alarm topic).
    AckFromConsole {
        key: String,
        acked_ms: TimestampMs,
        operator: String,
        console: String,
    },
    /// An operator action another console wrote to the shared alarm journal
    /// (a PostgreSQL history): applied here as well, but not journaled again.
    FromJournal {
        key: String,
        action: SharedAction,
        /// When it was taken (the journal row's time).
        at_ms: TimestampMs,
        operator: String,
        /// The console that took it (the row's origin).
        console: String,
    },
}

/// The operator actions the shared alarm journal carries between consoles.
/// Comments change no state: they are in the journal for every console to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedAction {
    Ack,
    Shelve(Shelve),
    Unshelve,
    Reset,
}

impl AlarmCommand {
    pub fn operator(&self) -> &str {
        match self {
            AlarmCommand::Ack { operator, .. }
            | AlarmCommand::AckAll { operator, .. }
            | AlarmCommand::Shelve { operator, .. }
            | AlarmCommand::ShelveOneShot { operator, .. }
            | AlarmCommand::Unshelve { operator, .. }
            | AlarmCommand::Comment { operator, .. }
            | AlarmCommand::Reset { operator, .. }
            | AlarmCommand::AckFromConsole { operator, .. }
            | AlarmCommand::FromJournal { operator, .. } => operator,
        }
    }
}

/// Alarm list order: annunciated before shelved/suppressed/out of service;
/// then by priority; unacknowledged before acknowledged; newest first.
pub fn sort_most_urgent_first(views: &mut [AlarmView]) {
    views.sort_by(|a, b| {
        (a.state.list_group(), a.priority, !a.state.needs_ack())
            .cmp(&(b.state.list_group(), b.priority, !b.state.needs_ack()))
            .then(b.raised_ms.cmp(&a.raised_ms))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// The operator's name: the OS/SSH user.
pub fn operator_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
