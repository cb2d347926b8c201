//! The words state and run loop share: the [`Effect`]s a state change asks
//! for, the [`Screen`]s, the dashboard's [`Focus`] and the [`Overlay`]s. A
//! leaf: it imports only the worker's query types below it, never `state`.

use crate::alarm::AlarmCommand;
use crate::report::View;
use crate::ui::history::DetailQuery;
use crate::ui::invoice::InvoiceRequest;
use crate::ui::journal::JournalQuery;
use crate::ui::replay::Picker;

/// What the update loop must do after a state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Alarm(AlarmCommand),
    LoadDetail(DetailQuery),
    Invoice(InvoiceRequest),
    Bell,
    /// Write what the view shows to a CSV file (see [`crate::report::view`]).
    Export(View),
    /// Control the replay on screen.
    Replay(crate::source::replay::ReplayCommand),
    /// List CSV files for the replay picker.
    OpenReplayPicker,
    /// Replay this file in a view of its own.
    StartReplay(std::path::PathBuf),
    /// Leave the replay view, back to the live plant.
    StopReplay,
    /// Read the alarm journal and its KPIs for the journal view.
    LoadJournal(JournalQuery),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Dashboard,
    Detail,
    Status,
    /// The invoice preview of one meter.
    Invoice,
    /// The alarm journal with filters and the alarm KPIs.
    Journal,
}

/// Which dashboard pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Tiles,
    Alarms,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit {
        unacked: usize,
    },
    ReplayPicker(Picker),
    /// Acknowledge these alarms (every unacknowledged one in view) on `y`.
    ConfirmAckAll {
        keys: Vec<String>,
    },
    /// How long to shelve this alarm: one of [`UiState::shelve_choices`](super::UiState::shelve_choices).
    Shelve {
        key: String,
        selected: usize,
    },
    /// A comment being typed for this alarm's journal.
    Comment {
        key: String,
        text: String,
    },
    /// A journal or status row shown whole (`Enter` on the row).
    RowDetail(super::row_detail::RowDetail),
}
