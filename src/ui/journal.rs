//! The alarm journal's reader: the query the journal view sends, the rows
//! and alarm-system KPIs that come back, and the worker thread that reads
//! them. The view itself (filters, keys) is `state::journal`.

use crate::alarm::AlarmState;
use crate::alarm::journal::{self, JournalFilter};
use crate::alarm::kpi::{self, AlarmKpis};
use crate::alarm::machine::EventKind;
use crate::model::TimestampMs;
use crate::store::{AlarmEventRow, Location, StoreError};
use tokio::sync::mpsc;

/// Time ranges of the journal view, shortest first.
pub const RANGES: [(&str, i64); 5] = [
    ("1h", 3_600_000),
    ("8h", 8 * 3_600_000),
    ("24h", 24 * 3_600_000),
    ("7d", 7 * 24 * 3_600_000),
    ("30d", 30 * 24 * 3_600_000),
];
/// Rows shown at most (newest first); the KPIs always cover the whole range.
pub const MAX_ROWS: usize = 2_000;

/// What the event/state filter selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindFilter {
    Event(EventKind),
    State(AlarmState),
}

impl KindFilter {
    /// The cycle the filter key walks through (`None` = everything).
    pub fn cycle() -> Vec<Option<KindFilter>> {
        let events = EventKind::ALL.map(|e| Some(KindFilter::Event(e)));
        let states = AlarmState::ALL
            .into_iter()
            .filter(|s| *s != AlarmState::Normal)
            .map(|s| Some(KindFilter::State(s)));
        std::iter::once(None).chain(events).chain(states).collect()
    }

    pub fn label(self) -> String {
        match self {
            KindFilter::Event(e) => format!("event {}", e.label()),
            KindFilter::State(s) => format!("state {}", s.label()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct JournalQuery {
    pub request: u64,
    pub filter: JournalFilter,
    /// The KPIs' range (the view's, without the row filters).
    pub kpi_to: TimestampMs,
    pub kpi_span_ms: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JournalData {
    /// Newest first, at most [`MAX_ROWS`].
    pub rows: Vec<AlarmEventRow>,
    pub kpis: AlarmKpis,
}

/// Why the journal view's rows or KPIs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalLoadError {
    #[error("{0}")]
    Rows(#[source] StoreError),
    #[error("{0}")]
    Kpis(#[source] StoreError),
}

pub fn load(
    db: impl Into<Location>,
    query: &JournalQuery,
) -> Result<JournalData, JournalLoadError> {
    let db = &db.into();
    let rows = journal::query(db, &query.filter).map_err(JournalLoadError::Rows)?;
    let kpis =
        kpi::from_journal(db, query.kpi_to, query.kpi_span_ms).map_err(JournalLoadError::Kpis)?;
    Ok(JournalData { rows, kpis })
}

pub type JournalAnswer = (u64, Result<JournalData, JournalLoadError>);

/// A query and the history file (live or a replay's store) it reads.
pub type JournalRequest = (Location, JournalQuery);

/// Starts the journal reader. It stops when the request sender is dropped.
pub fn spawn() -> (
    mpsc::UnboundedSender<JournalRequest>,
    mpsc::UnboundedReceiver<JournalAnswer>,
) {
    super::worker::spawn_latest("ui-journal", |(db, q): &JournalRequest| {
        (q.request, load(db, q))
    })
}
