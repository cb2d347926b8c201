//! The replay source: plays readings from a history file in time order as if
//! they arrived live, at a chosen speed, under operator control (pause, speed,
//! step, jump, seek, restart). Before each batch it tells the engine the
//! replayed time ([`SourceEvent::Replay`]), so the clock, stale timers and
//! alarms run on replayed time.

use super::SourceEvent;
use crate::alarm::AlarmSetup;
use crate::model::{Reading, SensorId, TimestampMs};
use crate::store::{HistoryReader, KeyedPoint, StoreError};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Replayed seconds per wall-clock second, or as fast as the engine takes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    Times(f64),
    Max,
}

/// The speeds the faster/slower keys step through.
pub const SPEED_STEPS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 60.0, 100.0, 600.0, 1000.0, 10_000.0];

impl Speed {
    pub fn label(self) -> String {
        match self {
            Speed::Times(x) => format!("×{x}"),
            Speed::Max => "max".into(),
        }
    }

    pub fn faster(self) -> Speed {
        match self {
            Speed::Times(x) => SPEED_STEPS
                .iter()
                .find(|&&s| s > x)
                .map_or(Speed::Max, |&s| Speed::Times(s)),
            Speed::Max => Speed::Max,
        }
    }

    pub fn slower(self) -> Speed {
        match self {
            Speed::Max => Speed::Times(SPEED_STEPS[SPEED_STEPS.len() - 1]),
            Speed::Times(x) => Speed::Times(
                SPEED_STEPS
                    .iter()
                    .rev()
                    .find(|&&s| s < x)
                    .copied()
                    .unwrap_or(SPEED_STEPS[0]),
            ),
        }
    }
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_start_matches(['x', '×']);
        if matches!(s, "max" | "fast" | "asap") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if (1.0..=10_000.0).contains(&x) => Ok(Speed::Times(x)),
            _ => Err(format!(
                "speed {s:?}: expected a factor from 1 to 10000 (e.g. 60) or \"max\""
            )),
        }
    }
}

/// Operator controls, sent by the UI or a test.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayCommand {
    TogglePause,
    Pause,
    Resume,
    SetSpeed(Speed),
    Faster,
    Slower,
    /// Paused: play the next instant's readings, then stay paused.
    Step,
    /// Move the replayed time by this many ms (negative: back).
    Jump(i64),
    Seek(TimestampMs),
    Restart,
}

/// Where the replay is; shown in the status line and kept in the live state.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStatus {
    pub label: Arc<str>,
    /// The replayed clock.
    pub position_ms: TimestampMs,
    pub start_ms: TimestampMs,
    pub end_ms: TimestampMs,
    pub speed: Speed,
    pub paused: bool,
    pub finished: bool,
    /// Readings played since the start.
    pub sent: u64,
    /// Changes on every seek or restart: the live values shown before belong to another time.
    pub generation: u64,
}

impl ReplayStatus {
    /// 0.0 … 1.0 through the replayed range.
    pub fn progress(&self) -> f64 {
        let span = (self.end_ms - self.start_ms).max(1) as f64;
        ((self.position_ms - self.start_ms) as f64 / span).clamp(0.0, 1.0)
    }

    /// `REPLAY 2025-10-02 10:00:00Z ×60 42%` (or `paused`, `finished`).
    pub fn line(&self) -> String {
        let state = if self.finished {
            "finished".to_string()
        } else if self.paused {
            "paused".to_string()
        } else {
            self.speed.label()
        };
        format!(
            "REPLAY {} {} {} {:.0}%",
            self.label,
            crate::model::format_ts(self.position_ms),
            state,
            self.progress() * 100.0
        )
    }
}

/// How far loading a replay's files has got, before playback starts.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadProgress {
    /// The file being read (`factory_day.csv`).
    pub file: Arc<str>,
    /// Bytes read over all files (every pass, when also recording).
    pub bytes: u64,
    /// Bytes to read over all files; 0 when unknown.
    pub total_bytes: u64,
    /// CSV rows read so far.
    pub rows: u64,
}

impl LoadProgress {
    /// 0.0 … 1.0 (0 when the size is unknown).
    pub fn fraction(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        (self.bytes as f64 / self.total_bytes as f64).clamp(0.0, 1.0)
    }

    /// `loading factory_day.csv 42% (1.2 M rows)`.
    pub fn line(&self) -> String {
        format!(
            "loading {} {:.0}% ({} rows)",
            self.file,
            self.fraction() * 100.0,
            count_label(self.rows)
        )
    }
}

/// `950`, `12.5 k`, `1.2 M`.
fn count_label(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1} k", n as f64 / 1e3),
        _ => format!("{:.1} M", n as f64 / 1e6),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("replay store {path}: {source}")]
pub struct ReplayError {
    path: PathBuf,
    #[source]
    source: StoreError,
}

/// Readings in (ts, sensor) order from a history file, fetched in chunks.
struct Cursor {
    history: HistoryReader,
    path: PathBuf,
    tags: HashMap<i64, SensorId>,
    after: (TimestampMs, i64),
    to: TimestampMs,
    buffer: VecDeque<Reading>,
    exhausted: bool,
}

const CHUNK: usize = 2048;

impl Cursor {
    fn open(path: &Path, to: TimestampMs) -> Result<Cursor, ReplayError> {
        let ctx = |source| ReplayError {
            path: path.to_owned(),
            source,
        };
        let history = HistoryReader::open_for_replay(path).map_err(ctx)?;
        let tags = history.sensor_tags().map_err(ctx)?;
        Ok(Cursor {
            history,
            path: path.to_owned(),
            tags,
            after: (i64::MIN, i64::MIN),
            to,
            buffer: VecDeque::new(),
            exhausted: false,
        })
    }

    fn error(&self, source: StoreError) -> ReplayError {
        ReplayError {
            path: self.path.clone(),
            source,
        }
    }

    fn range(&self) -> Result<(TimestampMs, TimestampMs), ReplayError> {
        let (first, last) = self.history.time_span().map_err(|e| self.error(e))?;
        Ok((first.unwrap_or(0), last.unwrap_or(0)))
    }

    fn seek(&mut self, ts: TimestampMs) {
        self.after = (ts.saturating_sub(1), i64::MAX);
        self.buffer.clear();
        self.exhausted = false;
    }

    fn peek(&mut self) -> Result<Option<&Reading>, ReplayError> {
        if self.buffer.is_empty() && !self.exhausted {
            self.refill()?;
        }
        Ok(self.buffer.front())
    }

    fn pop(&mut self) -> Option<Reading> {
        self.buffer.pop_front()
    }

    fn refill(&mut self) -> Result<(), ReplayError> {
        let chunk = self
            .history
            .time_ordered_chunk(self.after, self.to, CHUNK)
            .map_err(|e| self.error(e))?;
        self.exhausted = chunk.len() < CHUNK;
        for KeyedPoint { sensor_id, point } in chunk {
            self.after = (point.ts, sensor_id);
            let sensor = self
                .tags
                .get(&sensor_id)
                .cloned()
                .unwrap_or_else(|| SensorId::new(format!("sensor-{sensor_id}")));
            self.buffer.push_back(Reading {
                sensor,
                ts: point.ts,
                value: point.value,
                quality: point.quality,
            });
        }
        Ok(())
    }
}

/// What to play.
#[derive(Clone, Debug)]
pub struct ReplayPlan {
    pub db: PathBuf,
    pub label: String,
    pub from: Option<TimestampMs>,
    pub to: Option<TimestampMs>,
    pub speed: Speed,
    pub paused: bool,
}

/// At most this many readings go to the engine in one message.
const BATCH: usize = 4096;
/// How often the clock moves forward between sparse readings.
const CLOCK_TICK: Duration = Duration::from_millis(200);

pub struct Player {
    cursor: Cursor,
    status: ReplayStatus,
    /// Wall time and replayed time when the speed last changed (the clock runs from there).
    anchor: (Instant, TimestampMs),
    events: mpsc::Sender<SourceEvent>,
    /// Alarm rules whose history is sent after every jump (see [`Player::seeding`]).
    seeding: Option<AlarmSetup>,
}

impl Player {
    pub fn new(
        plan: &ReplayPlan,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<Player, ReplayError> {
        let mut cursor = Cursor::open(&plan.db, plan.to.unwrap_or(i64::MAX))?;
        let (first, last) = cursor.range()?;
        let start = plan.from.unwrap_or(first);
        let end = plan.to.map_or(last, |to| to.min(last));
        cursor.seek(start);
        Ok(Player {
            cursor,
            status: ReplayStatus {
                label: Arc::from(plan.label.as_str()),
                position_ms: start,
                start_ms: start,
                end_ms: end.max(start),
                speed: plan.speed,
                paused: plan.paused,
                finished: false,
                sent: 0,
                generation: 0,
            },
            anchor: (Instant::now(), start),
            events,
            seeding: None,
        })
    }

    /// After the start and every jump, send the engine what the alarm rules of
    /// `setup` need from before the new position ([`SourceEvent::ReplaySeed`]),
    /// so a rate or a consumption period that spans the jump is judged on it.
    pub fn seeding(mut self, setup: AlarmSetup) -> Self {
        self.seeding = Some(setup);
        self
    }

    /// Sends the alarm history before the position (once per generation).
    async fn seed(&mut self, seeded: &mut Option<u64>) -> Result<bool, ReplayError> {
        let Some(setup) = &self.seeding else {
            return Ok(true);
        };
        if *seeded == Some(self.status.generation) {
            return Ok(true);
        }
        *seeded = Some(self.status.generation);
        let until = self.status.position_ms.saturating_sub(1);
        let history = crate::alarm::seed::load_from(&self.cursor.history, setup, until)
            .map_err(|e| self.cursor.error(e))?;
        if history.is_empty() {
            return Ok(true);
        }
        Ok(self
            .events
            .send(SourceEvent::ReplaySeed(history))
            .await
            .is_ok())
    }

    pub fn status(&self) -> &ReplayStatus {
        &self.status
    }

    /// Plays until cancelled or until the engine goes away. A finished replay
    /// waits for a seek or restart.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<ReplayCommand>,
        cancel: CancellationToken,
    ) -> Result<ReplayStatus, ReplayError> {
        let mut commands_open = true;
        let mut announced: Option<ReplayStatus> = None;
        let mut seeded: Option<u64> = None;
        loop {
            let due = self.next_due()?;
            // Every change (clock, pause, speed, end) reaches the engine once;
            // after a jump, the alarm history before the new position follows.
            if announced.as_ref() != Some(&self.status) {
                if !self.announce().await || !self.seed(&mut seeded).await? {
                    break;
                }
                announced = Some(self.status.clone());
            }
            let wake = match due {
                _ if self.status.paused || self.status.finished => None,
                Some(at) if at <= Instant::now() => {
                    if !self.play_due().await? {
                        break;
                    }
                    announced = Some(self.status.clone());
                    continue;
                }
                Some(at) => Some(at.min(Instant::now() + CLOCK_TICK)),
                None => None,
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                command = commands.recv(), if commands_open => match command {
                    Some(command) => {
                        if !self.apply(command).await? {
                            break;
                        }
                    }
                    None => commands_open = false,
                },
                _ = sleep_until_opt(wake), if wake.is_some() => self.advance_clock(),
            }
        }
        Ok(self.status)
    }

    /// When the next reading is due on the wall clock; `None` at the end.
    fn next_due(&mut self) -> Result<Option<Instant>, ReplayError> {
        let Some(next) = self.cursor.peek()?.map(|r| r.ts) else {
            if !self.status.finished {
                self.status.finished = true;
                self.status.position_ms = self.status.position_ms.max(self.status.end_ms);
            }
            return Ok(None);
        };
        Ok(Some(match self.status.speed {
            Speed::Max => Instant::now(),
            Speed::Times(x) => {
                let ahead_ms = (next - self.anchor.1).max(0) as f64 / x;
                self.anchor.0 + Duration::from_secs_f64(ahead_ms / 1000.0)
            }
        }))
    }

    /// The replayed time the wall clock has reached.
    fn clock_now(&self) -> TimestampMs {
        match self.status.speed {
            Speed::Max => i64::MAX,
            Speed::Times(x) => {
                let elapsed = self.anchor.0.elapsed().as_secs_f64() * 1000.0 * x;
                self.anchor.1.saturating_add(elapsed as i64)
            }
        }
    }

    /// Moves the clock with the wall clock, never past the next reading.
    fn advance_clock(&mut self) {
        let next = self
            .cursor
            .buffer
            .front()
            .map_or(self.status.end_ms, |r| r.ts);
        let now = self.clock_now().min(next);
        if now > self.status.position_ms {
            self.status.position_ms = now;
        }
    }

    /// Sends every reading that is due; returns false when the engine is gone.
    /// At a timed speed each instant goes on its own, announced at its own
    /// time, so alarms see every reading at its replayed time even when the
    /// player catches up; at `max` instants are batched for throughput.
    async fn play_due(&mut self) -> Result<bool, ReplayError> {
        let limit = self.clock_now();
        let one_instant = matches!(self.status.speed, Speed::Times(_));
        let mut batch = Vec::new();
        while batch.len() < BATCH {
            match self.cursor.peek()? {
                Some(r) if r.ts <= limit => {}
                _ => break,
            }
            // Whole instants only: every reading with the same ts goes together.
            let ts = self.cursor.buffer.front().map_or(0, |r| r.ts);
            while self.cursor.peek()?.is_some_and(|r| r.ts == ts) {
                batch.extend(self.cursor.pop());
            }
            if one_instant {
                break;
            }
        }
        self.send(batch).await
    }

    /// Plays the next instant (every reading sharing the next timestamp).
    async fn step(&mut self) -> Result<bool, ReplayError> {
        let Some(ts) = self.cursor.peek()?.map(|r| r.ts) else {
            return Ok(true);
        };
        let mut batch = Vec::new();
        while self.cursor.peek()?.is_some_and(|r| r.ts == ts) {
            batch.extend(self.cursor.pop());
        }
        self.anchor = (Instant::now(), ts);
        self.send(batch).await
    }

    async fn send(&mut self, batch: Vec<Reading>) -> Result<bool, ReplayError> {
        let Some(last) = batch.last() else {
            return Ok(true);
        };
        self.status.position_ms = self.status.position_ms.max(last.ts);
        self.status.sent += batch.len() as u64;
        // The clock first, so the readings are evaluated at their own replayed time.
        Ok(self.announce().await && self.events.send(SourceEvent::readings(batch)).await.is_ok())
    }

    async fn announce(&mut self) -> bool {
        self.events
            .send(SourceEvent::Replay(self.status.clone()))
            .await
            .is_ok()
    }

    /// Carries out a command; false when the engine is gone.
    async fn apply(&mut self, command: ReplayCommand) -> Result<bool, ReplayError> {
        let position = self.status.position_ms;
        match command {
            ReplayCommand::TogglePause => self.set_paused(!self.status.paused),
            ReplayCommand::Pause => self.set_paused(true),
            ReplayCommand::Resume => self.set_paused(false),
            ReplayCommand::SetSpeed(speed) => self.set_speed(speed),
            ReplayCommand::Faster => self.set_speed(self.status.speed.faster()),
            ReplayCommand::Slower => self.set_speed(self.status.speed.slower()),
            ReplayCommand::Step => {
                self.status.paused = true;
                return self.step().await;
            }
            ReplayCommand::Jump(ms) => self.seek(position.saturating_add(ms)),
            ReplayCommand::Seek(ts) => self.seek(ts),
            ReplayCommand::Restart => self.seek(self.status.start_ms),
        }
        Ok(true)
    }

    fn set_paused(&mut self, paused: bool) {
        if !paused {
            self.anchor = (Instant::now(), self.status.position_ms);
        }
        self.status.paused = paused;
    }

    fn set_speed(&mut self, speed: Speed) {
        self.advance_clock();
        self.status.speed = speed;
        self.anchor = (Instant::now(), self.status.position_ms);
    }

    fn seek(&mut self, ts: TimestampMs) {
        let ts = ts.clamp(self.status.start_ms, self.status.end_ms);
        self.cursor.seek(ts);
        self.status.position_ms = ts;
        self.status.finished = false;
        self.status.generation += 1;
        self.anchor = (Instant::now(), ts);
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
