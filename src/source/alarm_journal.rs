//! Alarm state shared through a PostgreSQL history: the operator actions
//! other consoles write to the alarm journal (acknowledge, shelve, unshelve,
//! reset) arrive from the store's journal feed
//! ([`crate::store::postgres::listen`]) and go to this console's engine as
//! [`AlarmCommand::FromJournal`]. The journal rows of this console's own
//! actions are written by its engine as usual.

use crate::alarm::AlarmCommand;
use crate::alarm::journal::shared_action;
use crate::store::postgres::listen::JournalFeed;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A console id no other console or recorder uses: host, process and a
/// number counted in this process (tests run several consoles in one).
pub fn console_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "console".to_owned());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Feeds other consoles' journaled actions to the engine until `cancel`
/// fires or the engine goes away.
pub async fn run(
    mut feed: JournalFeed,
    commands: mpsc::Sender<AlarmCommand>,
    cancel: CancellationToken,
) {
    loop {
        let entry = tokio::select! {
            _ = cancel.cancelled() => return,
            entry = feed.rows.recv() => entry,
        };
        let Some(entry) = entry else { return };
        let Some(command) = shared_action(&entry.row) else {
            continue;
        };
        if commands.send(command).await.is_err() {
            return;
        }
    }
}
