//! Alarm actions the console sent and the engine has not yet shown done.
//! The footer says "acknowledging …" when the key is pressed and
//! "acknowledged …" once a snapshot shows it happened (or "refused: …"
//! when the engine says no); one that nothing confirms is reported after
//! [`CONFIRM_MS`].

use super::UiState;
use crate::alarm::{AlarmCommand, AlarmState, AlarmView};
use crate::engine::LiveState;
use crate::model::TimestampMs;

/// How long an action may wait for the snapshot that shows it done.
pub const CONFIRM_MS: i64 = 10_000;

/// An alarm action sent to the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    command: AlarmCommand,
    /// The alarm's state when the action was sent (a reset is done when it changes).
    before: Option<AlarmState>,
    sent_ms: TimestampMs,
}

impl UiState {
    /// Remembers an alarm action about to be sent, and says so.
    pub(super) fn sending(&mut self, command: &AlarmCommand) {
        let before = single_key(command)
            .and_then(|key| alarm(&self.live, key))
            .map(|a| a.state);
        self.toast(sending_text(command));
        self.pending.push(Pending {
            command: command.clone(),
            before,
            sent_ms: self.now_ms,
        });
    }

    /// The last action could not be sent (the engine's queue is full).
    pub fn not_sent(&mut self) {
        self.pending.pop();
    }

    /// A snapshot arrived: the actions it shows done are confirmed; a new
    /// refusal ends every action still waiting (the engine said no to one).
    pub(super) fn confirm_sent(&mut self, refused: bool) {
        if refused {
            self.pending.clear();
            return;
        }
        let live = self.live.clone();
        let mut done = Vec::new();
        self.pending.retain(|p| match done_text(p, &live) {
            Some(text) => {
                done.push(text);
                false
            }
            None => true,
        });
        if !done.is_empty() {
            self.toast(done.join("; "));
        }
    }

    /// The tick: actions nothing confirmed in time are reported.
    pub(super) fn expire_sent(&mut self) {
        let now = self.now_ms;
        let (late, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| now - p.sent_ms >= CONFIRM_MS);
        self.pending = waiting;
        if let Some(p) = late.last() {
            self.toast(format!(
                "no confirmation from the engine: {}",
                sending_text(&p.command)
            ));
        }
    }
}

fn alarm<'a>(live: &'a LiveState, key: &str) -> Option<&'a AlarmView> {
    live.alarms.iter().find(|a| a.key == key)
}

fn single_key(command: &AlarmCommand) -> Option<&str> {
    match command {
        AlarmCommand::Ack { key, .. }
        | AlarmCommand::Shelve { key, .. }
        | AlarmCommand::ShelveOneShot { key, .. }
        | AlarmCommand::Unshelve { key, .. }
        | AlarmCommand::Comment { key, .. }
        | AlarmCommand::Reset { key, .. }
        | AlarmCommand::AckFromConsole { key, .. }
        | AlarmCommand::FromJournal { key, .. } => Some(key),
        AlarmCommand::AckAll { .. } => None,
    }
}

fn duration(ms: i64) -> humantime::FormattedDuration {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
}

/// What the footer says while an action is on its way.
fn sending_text(command: &AlarmCommand) -> String {
    let who = command.operator();
    match command {
        AlarmCommand::Ack { key, .. } => format!("acknowledging {key} as {who}…"),
        AlarmCommand::AckAll { keys, .. } => {
            format!("acknowledging {} alarm(s) as {who}…", keys.len())
        }
        AlarmCommand::Shelve { key, for_ms, .. } => {
            format!("shelving {key} for {} as {who}…", duration(*for_ms))
        }
        AlarmCommand::ShelveOneShot { key, .. } => {
            format!("shelving {key} until it returns to normal, as {who}…")
        }
        AlarmCommand::Unshelve { key, .. } => format!("unshelving {key} as {who}…"),
        AlarmCommand::Comment { key, .. } => format!("recording a comment on {key} as {who}…"),
        AlarmCommand::Reset { key, .. } => format!(
            "resetting {key} as {who}: a latched alarm resets once acknowledged and back to normal…"
        ),
        AlarmCommand::AckFromConsole { key, .. } => format!("acknowledging {key} as {who}…"),
        // Another console's action, never the operator's own: said as applied.
        AlarmCommand::FromJournal { key, console, .. } => {
            format!("applying {who}'s action on {key} from {console}…")
        }
    }
}

/// What the footer says once `live` shows the action done; `None` while it does not.
fn done_text(pending: &Pending, live: &LiveState) -> Option<String> {
    let command = &pending.command;
    let who = command.operator();
    let state = |key: &str| alarm(live, key).map(|a| a.state);
    let acked = |key: &str| state(key).is_none_or(|s| !s.needs_ack());
    let shelved = |key: &str| state(key).is_none_or(|s| s == AlarmState::Shelved);
    match command {
        AlarmCommand::Ack { key, .. } => acked(key).then(|| format!("acknowledged {key} as {who}")),
        AlarmCommand::AckAll { keys, .. } => keys
            .iter()
            .all(|k| acked(k))
            .then(|| format!("acknowledged {} alarm(s) as {who}", keys.len())),
        AlarmCommand::Shelve { key, for_ms, .. } => {
            shelved(key).then(|| format!("shelved {key} for {} as {who}", duration(*for_ms)))
        }
        AlarmCommand::ShelveOneShot { key, .. } => {
            shelved(key).then(|| format!("shelved {key} until it returns to normal, as {who}"))
        }
        AlarmCommand::Unshelve { key, .. } => {
            (state(key) != Some(AlarmState::Shelved)).then(|| format!("unshelved {key} as {who}"))
        }
        AlarmCommand::Reset { key, .. } => {
            (state(key) != pending.before).then(|| format!("reset {key} as {who}"))
        }
        // A comment changes nothing a snapshot shows: the first one without a
        // refusal is the engine's answer.
        AlarmCommand::Comment { key, .. } => Some(format!("comment on {key} recorded as {who}")),
        AlarmCommand::AckFromConsole { key, .. } => {
            acked(key).then(|| format!("acknowledged {key} as {who}"))
        }
        AlarmCommand::FromJournal { key, console, .. } => {
            Some(format!("applied {who}'s action on {key} from {console}"))
        }
    }
}
