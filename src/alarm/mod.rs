//! Alarm management (ISA-18.2). This file holds the contract between the
//! engine, the alarm evaluator and the UI: what an active alarm looks like in
//! the live snapshot, and the operator actions the UI sends to the engine.

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
    Shelve {
        key: String,
        for_ms: i64,
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
}

/// The operator's name: the OS/SSH user.
pub fn operator_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
