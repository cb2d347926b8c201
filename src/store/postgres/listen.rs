//! Following the shared alarm journal: a dedicated connection `LISTEN`s on
//! [`journal::CHANNEL`](super::journal::CHANNEL) and hands every new journal
//! row written by another console (another `origin`) to a bounded channel,
//! in the order written. A lost connection is reopened with backoff; once it
//! is back, the rows committed meanwhile are read from the table, so none is
//! missed.
//!
//! Notifications name rows by id and rows are fetched by those ids: a row
//! whose transaction took its id earlier but committed later than another's
//! is still fetched when its own notification arrives. Reading "everything
//! newer than the last id seen" (after a reconnect) could skip such a row, so
//! that catch-up looks back [`CATCH_UP_MARGIN`] ids and drops the rows it has
//! delivered already.

use super::query::{JOURNAL_COLUMNS, journal_row};
use super::{PgConn, PgError, journal, runtime, wait};
use crate::store::location::PgLocation;
use crate::store::rows::JournalEntry;
use crate::store::{Result, StoreError};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls};

/// How many ids before the newest one delivered a reconnect reads again.
pub const CATCH_UP_MARGIN: i64 = 1_000;
/// Ids remembered as delivered (enough to cover the margin).
const REMEMBERED: usize = 4_096;
/// Rows the consumer may lag behind before the listener waits for it.
const CAPACITY: usize = 1_024;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const CLOSED: &str = "connection closed";

/// How the listening connection is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenStatus {
    pub connected: bool,
    /// Sessions opened so far (1 after the first connect; more after reconnects).
    pub sessions: u64,
    /// Why the last session ended or could not start.
    pub last_error: Option<String>,
}

/// The journal rows of other consoles, as they are committed.
pub struct JournalFeed {
    pub rows: mpsc::Receiver<JournalEntry>,
    pub status: watch::Receiver<ListenStatus>,
}

/// The newest journal row's id (0 for an empty journal): where a console
/// that restores its alarms now starts following the journal.
pub fn last_event_id(location: &PgLocation) -> Result<i64> {
    let conn = PgConn::connect(location)?;
    wait(
        conn.client
            .query_one("SELECT coalesce(max(event_id), 0) FROM alarm_events", &[]),
    )
    .and_then(|row| row.try_get(0))
    .map_err(|e| conn.err(e))
}

/// Follows the journal at `location` for rows after `after` whose origin is
/// not `origin`. Runs until the returned feed's receiver is dropped.
pub fn follow(location: &PgLocation, origin: &str, after: i64) -> Result<JournalFeed> {
    let (rows_tx, rows) = mpsc::channel(CAPACITY);
    let (status_tx, status) = watch::channel(ListenStatus::default());
    let mut config = location.config.clone();
    // Lets an operator (or a test) find this session in pg_stat_activity.
    config.application_name(format!("floorwatch-listen {origin}"));
    let tls = super::tls::MakeRustls::new(&location.tls).map_err(|e| StoreError::Tls {
        server: location.server.clone(),
        reason: e.to_string(),
    })?;
    let follower = Follower {
        config,
        tls,
        shown: location.to_string(),
        origin: origin.to_owned(),
        start: after,
        delivered: BTreeSet::new(),
        rows: rows_tx,
        status: status_tx,
    };
    runtime()?.spawn(follower.run());
    Ok(JournalFeed { rows, status })
}

struct Follower {
    config: tokio_postgres::Config,
    tls: Option<super::tls::MakeRustls>,
    shown: String,
    origin: String,
    /// Rows up to this id were there before following began.
    start: i64,
    /// The ids delivered most recently.
    delivered: BTreeSet<i64>,
    rows: mpsc::Sender<JournalEntry>,
    status: watch::Sender<ListenStatus>,
}

/// Drives the connection's socket and passes on the payload of each
/// notification; generic over the stream, plain or TLS. Returns why the
/// connection ended (`None`: nobody listens any more).
async fn drive<S, T>(
    mut connection: Connection<S, T>,
    notes: mpsc::UnboundedSender<String>,
) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(message) = messages.next().await {
        match message {
            Ok(AsyncMessage::Notification(n)) => {
                if notes.send(n.payload().to_owned()).is_err() {
                    return None;
                }
            }
            Ok(_) => {}
            Err(e) => return Some(PgError(e).to_string()),
        }
    }
    Some(CLOSED.to_owned())
}

/// Why a session ended.
enum Ended {
    ConsumerGone,
    Lost(String),
}

impl Follower {
    async fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let opened = self.status.borrow().sessions;
            let reason = match self.session().await {
                Ended::ConsumerGone => return,
                Ended::Lost(reason) => reason,
            };
            if self.status.borrow().sessions > opened {
                backoff = FIRST_BACKOFF;
            }
            tracing::warn!(history = %self.shown, "alarm journal listener: {reason}; reconnecting in {backoff:?}");
            self.status.send_modify(|s| {
                s.connected = false;
                s.last_error = Some(reason);
            });
            tokio::select! {
                _ = self.rows.closed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection: LISTEN, catch up, then fetch what is notified.
    async fn session(&mut self) -> Ended {
        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let connected = match self.tls.clone() {
            Some(tls) => self
                .config
                .connect(tls)
                .await
                .map(|(client, connection)| (client, tokio::spawn(drive(connection, notes_tx)))),
            None => self
                .config
                .connect(NoTls)
                .await
                .map(|(client, connection)| (client, tokio::spawn(drive(connection, notes_tx)))),
        };
        let (client, driver) = match connected {
            Ok(pair) => pair,
            Err(e) => return Ended::Lost(PgError(e).to_string()),
        };
        let ended = self.follow(&client, &mut notes).await;
        drop(client);
        match ended {
            // The connection ended by itself: the driver has the reason.
            Ended::Lost(reason) if reason == CLOSED => {
                Ended::Lost(driver.await.ok().flatten().unwrap_or(reason))
            }
            ended => {
                driver.abort();
                ended
            }
        }
    }

    async fn follow(
        &mut self,
        client: &Client,
        notes: &mut mpsc::UnboundedReceiver<String>,
    ) -> Ended {
        if let Err(e) = client
            .batch_execute(&format!("LISTEN {}", journal::CHANNEL))
            .await
        {
            return Ended::Lost(PgError(e).to_string());
        }
        self.status.send_modify(|s| {
            s.connected = true;
            s.sessions += 1;
        });
        if let Err(ended) = self.catch_up(client).await {
            return ended;
        }
        loop {
            let first = tokio::select! {
                _ = self.rows.closed() => return Ended::ConsumerGone,
                note = notes.recv() => note,
            };
            let Some(first) = first else {
                return Ended::Lost(CLOSED.to_owned());
            };
            let mut ids: Vec<i64> = first.parse().into_iter().collect();
            while let Ok(more) = notes.try_recv() {
                ids.extend(more.parse::<i64>());
            }
            if let Err(ended) = self.fetch_ids(client, &ids).await {
                return ended;
            }
        }
    }

    /// Rows committed while this console was not listening.
    async fn catch_up(&mut self, client: &Client) -> std::result::Result<(), Ended> {
        let newest = self.delivered.last().copied().unwrap_or(self.start);
        let from = self.start.max(newest - CATCH_UP_MARGIN);
        let sql = format!(
            "SELECT event_id, {JOURNAL_COLUMNS} FROM alarm_events
             WHERE event_id > $1 AND origin <> $2 ORDER BY event_id"
        );
        let rows = client.query(&sql, &[&from, &self.origin]).await;
        self.deliver(rows).await
    }

    async fn fetch_ids(&mut self, client: &Client, ids: &[i64]) -> std::result::Result<(), Ended> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT event_id, {JOURNAL_COLUMNS} FROM alarm_events
             WHERE event_id = ANY($1) AND origin <> $2 ORDER BY event_id"
        );
        let rows = client.query(&sql, &[&ids, &self.origin]).await;
        self.deliver(rows).await
    }

    async fn deliver(
        &mut self,
        rows: std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>,
    ) -> std::result::Result<(), Ended> {
        let rows = rows.map_err(|e| Ended::Lost(PgError(e).to_string()))?;
        for row in rows {
            let entry = row
                .try_get(0)
                .and_then(|event_id| {
                    Ok(JournalEntry {
                        event_id,
                        row: journal_row(&row, 1)?,
                    })
                })
                .map_err(|e| Ended::Lost(PgError(e).to_string()))?;
            if !self.remember(entry.event_id) {
                continue;
            }
            if self.rows.send(entry).await.is_err() {
                return Err(Ended::ConsumerGone);
            }
        }
        Ok(())
    }

    /// Whether `id` is new (then remembered).
    fn remember(&mut self, id: i64) -> bool {
        if id <= self.start || !self.delivered.insert(id) {
            return false;
        }
        while self.delivered.len() > REMEMBERED {
            self.delivered.pop_first();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::writer::{WriteMsg, Writer, WriterConfig, WriterHandle};
    use crate::store::{AlarmEventRow, Location};

    fn action(origin: &str, ts: i64) -> AlarmEventRow {
        AlarmEventRow {
            ts,
            sensor: "s".into(),
            condition: "hh".into(),
            event: "acked".into(),
            state: "acked".into(),
            operator: "ana".into(),
            origin: origin.into(),
            ..Default::default()
        }
    }

    async fn journal(writer: &WriterHandle, rows: &[AlarmEventRow]) {
        for r in rows {
            writer.send(WriteMsg::Alarm(r.clone())).await.unwrap();
        }
        writer.flush().await.unwrap();
    }

    async fn next(feed: &mut JournalFeed) -> JournalEntry {
        tokio::time::timeout(Duration::from_secs(15), feed.rows.recv())
            .await
            .expect("a journal row within 15 s")
            .expect("the listener runs")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follows_other_consoles_rows_from_where_it_starts_across_a_lost_connection() {
        let Some(h) = crate::store::test_backends::postgres() else {
            return;
        };
        let Location::Postgres(pg) = &h.location else {
            unreachable!("a PostgreSQL history");
        };
        let (writer, handle) = Writer::spawn(&h.location, WriterConfig::default()).unwrap();
        journal(&handle, &[action("a", 1), action("a", 2)]).await;
        let start = last_event_id(pg).unwrap();
        journal(&handle, &[action("a", 3), action("me", 4)]).await;

        // Rows after `start` committed before following began come first.
        let mut feed = follow(pg, "me", start).unwrap();
        assert_eq!(next(&mut feed).await.row.ts, 3);
        journal(&handle, &[action("me", 5), action("b", 6)]).await;
        assert_eq!(next(&mut feed).await.row.ts, 6, "its own rows are skipped");

        // The session is cut; what is written meanwhile arrives once it is back.
        let mut status = feed.status.clone();
        status.wait_for(|s| s.connected).await.unwrap();
        let admin = PgConn::connect(pg).unwrap();
        let cut = wait(admin.client.query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'floorwatch-listen me') cut",
            &[],
        ))
        .unwrap()
        .get::<_, i64>(0);
        assert_eq!(cut, 1);
        status.wait_for(|s| !s.connected).await.unwrap();
        journal(&handle, &[action("b", 7), action("a", 8)]).await;
        assert_eq!(next(&mut feed).await.row.ts, 7);
        assert_eq!(next(&mut feed).await.row.ts, 8);
        journal(&handle, &[action("b", 9)]).await;
        assert_eq!(
            next(&mut feed).await.row.ts,
            9,
            "nothing twice, nothing missed"
        );
        assert!(feed.rows.try_recv().is_err());
        let status = status.borrow().clone();
        assert!(status.sessions >= 2, "{status:?}");
        // Why it was lost, in the server's words.
        let reason = status.last_error.unwrap_or_default();
        assert!(reason.contains("administrator command"), "{reason}");
        drop(handle);
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .unwrap()
            .unwrap();
    }
}
