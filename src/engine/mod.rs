//! The engine: the one place live state changes. Sources send
//! [`SourceEvent`]s over a bounded channel; the engine updates [`LiveState`],
//! forwards readings to the history writer, and publishes an immutable
//! snapshot for the UI through a `watch` channel (readers never block it).

mod clock;
mod live;

pub use clock::Clock;
pub use live::{LiveState, Point, SensorLive};

use crate::alarm::{
    AlarmCommand, AlarmEvent, AlarmSetup, Evaluator, Restored, SeedSeries, SensorRules,
};
use crate::config::AlarmLimits;
use crate::model::{Reading, SensorId, SensorMeta, TimestampMs};
use crate::source::{Discovery, SourceEvent};
use crate::store::{WriteMsg, WriterHandle};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub plant: String,
    pub live_points: usize,
    pub live_window_ms: i64,
    /// Bound of the source → engine channel, in messages.
    pub channel_capacity: usize,
    /// Period of the housekeeping tick (stale detection).
    pub tick: Duration,
    /// Sensors that turn stale after this many ms without a reading.
    pub stale_after_ms: Vec<(String, i64)>,
    /// Alarm rules of every sensor.
    pub alarms: AlarmSetup,
    /// Alarms as the journal left them (restart), applied before the first reading.
    pub restored_alarms: Vec<Restored>,
    /// Recent values from the history (restart) that rate-of-change and
    /// consumption conditions need, fed to the evaluator before the first reading.
    pub alarm_history: Vec<SeedSeries>,
    /// The history's sensors and recent readings (restart): the dashboard
    /// shows them, marked not live, until fresh readings arrive.
    pub restored_sensors: Vec<SensorMeta>,
    pub restored_readings: Vec<Reading>,
    /// What "now" is for arrivals, stale timers and alarm delays.
    pub clock: Clock,
    /// This console's id, written as the origin of its alarm journal rows
    /// (a shared journal tells the consoles' rows apart by it).
    pub console: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            plant: "Plant".into(),
            live_points: 240,
            live_window_ms: 15 * 60 * 1000,
            channel_capacity: 1024,
            tick: Duration::from_millis(500),
            stale_after_ms: Vec::new(),
            alarms: AlarmSetup::default(),
            restored_alarms: Vec::new(),
            alarm_history: Vec::new(),
            restored_sensors: Vec::new(),
            restored_readings: Vec::new(),
            clock: Clock::Wall,
            console: String::new(),
        }
    }
}

impl EngineConfig {
    pub fn from_config(config: &crate::config::Config) -> Self {
        EngineConfig {
            plant: config.plant.name.clone(),
            live_points: config.history.live_points.max(2),
            live_window_ms: config.history.live_window.as_millis_i64(),
            stale_after_ms: config
                .sensor
                .iter()
                .filter_map(|s| {
                    let stale = s.alarm.as_ref()?.get_ref().stale?;
                    Some((s.id.get_ref().clone(), stale.as_millis_i64()))
                })
                .collect(),
            alarms: AlarmSetup::from_config(config),
            ..Default::default()
        }
    }
}

/// What the engine did, returned when its input channel closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineSummary {
    pub received: u64,
    /// Readings handed to the history writer.
    pub forwarded: u64,
    /// Readings the writer could no longer take (it had stopped): not stored,
    /// and not acknowledged to their source.
    pub not_stored: u64,
}

pub struct Engine {
    state: LiveState,
    store: Option<WriterHandle>,
    ui: watch::Sender<Arc<LiveState>>,
    dirty: bool,
    summary: EngineSummary,
    tick: Duration,
    alarms: Evaluator,
    /// Alarm transitions not yet handed to the journal.
    alarm_events: Vec<AlarmEvent>,
    /// Where transitions go besides the journal (shared alarm topic).
    alarm_feed: Option<mpsc::Sender<AlarmEvent>>,
    /// Readings go to the history writer (off for a replay, whose store has them).
    forward_readings: bool,
    /// The history file's start-up check, until its outcome arrives.
    history_check: Option<tokio::sync::oneshot::Receiver<crate::store::CheckOutcome>>,
    /// The clock outside a replay.
    wall: Clock,
    /// Alarms the journal holds for sensors a pattern has not made yet:
    /// restored when their sensor is discovered again.
    restored_later: Vec<Restored>,
    /// The origin of this console's journal rows.
    console: String,
    /// An operator action was journaled: commit it now rather than with the
    /// next batch, so other consoles see it at once.
    commit_soon: bool,
}

/// Handles to a spawned engine.
pub struct EngineHandles {
    pub events: mpsc::Sender<SourceEvent>,
    /// Operator actions (acknowledge, shelve, ...) from the UI.
    pub commands: mpsc::Sender<AlarmCommand>,
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    pub task: tokio::task::JoinHandle<EngineSummary>,
}

impl Engine {
    pub fn new(
        config: &EngineConfig,
        sensors: Vec<SensorMeta>,
        store: Option<WriterHandle>,
    ) -> (Engine, watch::Receiver<Arc<LiveState>>) {
        let mut state = LiveState::new(config, sensors);
        for meta in &config.restored_sensors {
            state.ensure_sensor(meta.clone());
        }
        state.restore(&config.restored_readings);
        let mut alarms = Evaluator::new(config.alarms.clone(), config.clock.now_ms());
        let restored_later = alarms.restore(&config.restored_alarms);
        alarms.seed(&config.alarm_history);
        if let Some(views) = alarms.take_views() {
            state.alarms = Arc::new(views);
        }
        let (ui, rx) = watch::channel(Arc::new(state.clone()));
        let engine = Engine {
            state,
            store,
            ui,
            dirty: false,
            summary: EngineSummary::default(),
            tick: config.tick,
            alarms,
            alarm_events: Vec::new(),
            alarm_feed: None,
            forward_readings: true,
            history_check: None,
            wall: config.clock,
            restored_later,
            console: config.console.clone(),
            commit_soon: false,
        };
        (engine, rx)
    }

    /// Also sends every alarm transition to `feed` (never waits for it: a slow
    /// consumer loses transitions, the engine and the journal do not).
    pub fn with_alarm_feed(mut self, feed: mpsc::Sender<AlarmEvent>) -> Self {
        self.alarm_feed = Some(feed);
        self
    }

    /// Shows the outcome of the history file's check (run in the background
    /// at start) in the live state once it arrives.
    pub fn with_history_check(
        mut self,
        check: tokio::sync::oneshot::Receiver<crate::store::CheckOutcome>,
    ) -> Self {
        self.history_check = Some(check);
        self
    }

    /// Journals alarm transitions in the store but does not write readings to
    /// it: a replay plays from a store that holds them already.
    pub fn journal_only(mut self) -> Self {
        self.forward_readings = false;
        self
    }

    /// Starts the engine task. It runs until every sender of `events` is dropped,
    /// then hands the last readings to the writer and returns.
    pub fn spawn(
        config: &EngineConfig,
        sensors: Vec<SensorMeta>,
        store: Option<WriterHandle>,
    ) -> EngineHandles {
        let (engine, snapshots) = Engine::new(config, sensors, store);
        Self::start(engine, snapshots, config)
    }

    /// Starts an engine built with [`Engine::new`] (and options such as
    /// [`Engine::with_alarm_feed`]).
    pub fn start(
        engine: Engine,
        snapshots: watch::Receiver<Arc<LiveState>>,
        config: &EngineConfig,
    ) -> EngineHandles {
        let (events, rx) = mpsc::channel(config.channel_capacity.max(1));
        let (commands, command_rx) = mpsc::channel(64);
        let task = tokio::spawn(engine.run(rx, command_rx));
        EngineHandles {
            events,
            commands,
            snapshots,
            task,
        }
    }

    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<SourceEvent>,
        mut commands: mpsc::Receiver<AlarmCommand>,
    ) -> EngineSummary {
        self.register_configured_sensors().await;
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some(event) = event else { break };
                    self.handle(event).await;
                    // Coalesce whatever else is already queued into one snapshot.
                    for _ in 0..256 {
                        match rx.try_recv() {
                            Ok(event) => self.handle(event).await,
                            Err(_) => break,
                        }
                    }
                }
                Some(command) = commands.recv() => self.on_command(command),
                _ = tick.tick() => self.on_tick(self.clock()),
            }
            self.journal_alarm_events().await;
            self.publish();
        }
        self.journal_alarm_events().await;
        self.publish();
        self.summary
    }

    /// The writer, for readings and sensors (none when it only journals alarms).
    fn history(&self) -> Option<&WriterHandle> {
        self.store.as_ref().filter(|_| self.forward_readings)
    }

    async fn register_configured_sensors(&mut self) {
        let Some(store) = self.history() else { return };
        for sensor in self.state.sensors.iter() {
            if store
                .send(WriteMsg::Sensor(sensor.meta.clone()))
                .await
                .is_err()
            {
                tracing::error!("history writer stopped; readings will not be stored");
                return;
            }
        }
    }

    async fn handle(&mut self, event: SourceEvent) {
        match event {
            SourceEvent::Readings { readings, ack } => {
                self.summary.received += readings.len() as u64;
                let now = self.clock();
                self.state.now_ms = now;
                for reading in &readings {
                    self.state.apply(reading);
                    self.alarms.on_reading(reading, now, &mut self.alarm_events);
                }
                self.dirty |= !readings.is_empty();
                self.forward(readings, ack).await;
            }
            SourceEvent::Raw(samples) => {
                for (sensor, raw) in samples {
                    self.state.set_raw(sensor.as_str(), raw);
                }
                self.dirty = true;
            }
            SourceEvent::Discovered(found) => self.on_discovered(found).await,
            SourceEvent::Status(status) => {
                let now = self.clock();
                self.alarms.on_status(&status, now, &mut self.alarm_events);
                self.state.set_source_status(status);
                self.dirty = true;
            }
            SourceEvent::Replay(status) => {
                let position = status.position_ms;
                if self.state.set_replay(status) {
                    self.restart_alarms(position);
                }
                self.dirty = true;
            }
            SourceEvent::ReplaySeed(history) => self.alarms.seed(&history),
            SourceEvent::ReplayLoading(progress) => {
                self.state.replay_loading = Some(progress);
                self.dirty = true;
            }
        }
    }

    /// A sensor a pattern or template made: added, or for a configured one,
    /// completed where its config leaves name, unit, group, range or alarm unset.
    async fn on_discovered(&mut self, found: Discovery) {
        let Discovery {
            meta,
            alarm,
            source,
        } = found;
        let changed = self.state.ensure_sensor(meta.clone()) || self.state.fill_meta(&meta);
        if let Some(source) = source {
            self.dirty |= self.state.set_discovered_from(meta.id.as_str(), source);
        }
        if let Some(limits) = alarm {
            self.adopt_alarm(&meta.id, &limits);
        }
        if !changed {
            return;
        }
        self.dirty = true;
        if let (Some(store), Some(sensor)) = (self.history(), self.state.sensor(meta.id.as_str())) {
            let _ = store.send(WriteMsg::Sensor(sensor.meta.clone())).await;
        }
    }

    /// Pattern or template alarm limits for a sensor that has none of its own.
    fn adopt_alarm(&mut self, id: &SensorId, limits: &AlarmLimits) {
        let Some(sensor) = self.state.sensor(id.as_str()) else {
            return;
        };
        let (name, unit) = (&sensor.meta.name, &sensor.meta.unit);
        let stale_unset = sensor.stale_after_ms.is_none();
        let rules = SensorRules::from_limits(id, name, unit, limits);
        if !self.alarms.adopt(rules, self.clock()) {
            return;
        }
        let (now_known, later): (Vec<Restored>, Vec<Restored>) =
            std::mem::take(&mut self.restored_later)
                .into_iter()
                .partition(|r| r.sensor == id.as_str());
        self.restored_later = later;
        // An alarm of a condition the pattern no longer has stays in the
        // journal only, as for a configured sensor at start.
        self.alarms.restore(&now_known);
        if let Some(stale) = limits.stale.filter(|_| stale_unset) {
            self.state
                .set_stale_after(id.as_str(), stale.as_millis_i64());
        }
        self.dirty = true;
    }

    /// A replay moved to another time (start, seek, jump, restart): alarms are
    /// evaluated afresh from there, on replayed time. Nothing carries over from
    /// the time left behind: no alarm states, pending delays or stale timers;
    /// the rate-of-change and consumption history before the new position
    /// follows from the player ([`SourceEvent::ReplaySeed`]).
    fn restart_alarms(&mut self, position: TimestampMs) {
        self.alarms = Evaluator::new(self.alarms.setup().clone(), position);
    }

    /// Hands readings to the writer. `ack` fires once the transaction holding
    /// them has committed (at once when nothing is to be stored); it is dropped
    /// unanswered when the writer is gone, so the source does not acknowledge.
    async fn forward(
        &mut self,
        readings: Vec<crate::model::Reading>,
        ack: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        let Some(store) = self.history() else {
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            return;
        };
        let n = readings.len() as u64;
        let store = store.clone();
        // Awaiting here is the backpressure: a slow writer slows the sources.
        let sent = if n == 0 {
            Ok(())
        } else {
            self.send_to_history(&store, WriteMsg::Readings(readings))
                .await
        };
        let sent = match (sent, ack) {
            (Ok(()), Some(ack)) => {
                self.send_to_history(&store, WriteMsg::AfterCommit(ack))
                    .await
            }
            (sent, _) => sent,
        };
        match sent {
            Ok(()) => self.summary.forwarded += n,
            Err(_) => self.writer_gone(n),
        }
    }

    /// Sends to the writer, waiting while its channel is full (a slow or
    /// unreachable history): the sources wait too. Meanwhile the engine keeps
    /// ticking and publishing, so the console shows the history's state
    /// (`history: reconnecting`) and stale timers run.
    async fn send_to_history(
        &mut self,
        store: &WriterHandle,
        msg: WriteMsg,
    ) -> Result<(), crate::store::StoreError> {
        let Some(msg) = store.try_send(msg)? else {
            return Ok(());
        };
        let send = store.send(msg);
        tokio::pin!(send);
        let start = tokio::time::Instant::now() + self.tick;
        let mut beat = tokio::time::interval_at(start, self.tick);
        loop {
            tokio::select! {
                sent = &mut send => return sent,
                _ = beat.tick() => {
                    self.on_tick(self.clock());
                    self.publish();
                }
            }
        }
    }

    fn writer_gone(&mut self, lost: u64) {
        if self.summary.not_stored == 0 {
            tracing::error!(
                "history writer stopped; readings from now on are not stored (and not acknowledged)"
            );
        }
        self.summary.not_stored += lost;
    }

    fn on_command(&mut self, command: AlarmCommand) {
        tracing::debug!(?command, "operator action");
        let now = self.clock();
        if let AlarmCommand::FromJournal { console, .. } = &command {
            // The console that took it journaled it: applied here, not journaled again.
            let mut applied = Vec::new();
            if let Err(e) = self.alarms.command(&command, now, &mut applied) {
                tracing::debug!(%console, "shared alarm action not applicable here: {e}");
            }
            return;
        }
        let before = self.alarm_events.len();
        let result = self.alarms.command(&command, now, &mut self.alarm_events);
        self.commit_soon |= self.alarm_events.len() > before;
        if let Err(e) = result {
            tracing::warn!(operator = command.operator(), "alarm action refused: {e}");
            self.state.refused = Some((now, e.to_string()));
            self.dirty = true;
        }
    }

    /// Journals the transitions of the last step, rings the bell for new
    /// high/critical alarms, and passes them on to the alarm feed.
    async fn journal_alarm_events(&mut self) {
        if self.alarm_events.is_empty() {
            return;
        }
        for event in std::mem::take(&mut self.alarm_events) {
            if event.rings_bell() {
                self.state.alarm_bell += 1;
            }
            let mut row = event.to_row();
            row.origin.clone_from(&self.console);
            if let Some(store) = &self.store
                && store.send(WriteMsg::Alarm(row)).await.is_err()
            {
                tracing::error!(alarm = %event.key, event = event.kind.label(), "history writer stopped; alarm transition not journaled");
            }
            if let Some(feed) = &self.alarm_feed
                && feed.try_send(event).is_err()
            {
                tracing::warn!("shared alarm topic is behind; a transition was not published");
            }
        }
        if std::mem::take(&mut self.commit_soon)
            && let Some(store) = &self.store
        {
            // Nobody waits for the answer: the writer commits as soon as its
            // channel runs dry instead of after its batching latency.
            let (prompt, _) = tokio::sync::oneshot::channel();
            let _ = store.send(WriteMsg::AfterCommit(prompt)).await;
        }
        self.dirty = true;
    }

    /// The time alarms and stale timers run on: the replayed time during a
    /// replay, else the wall clock.
    pub fn clock(&self) -> TimestampMs {
        self.state
            .replay
            .as_ref()
            .map_or_else(|| self.wall.now_ms(), |r| r.position_ms)
    }

    fn on_tick(&mut self, now: TimestampMs) {
        self.state.now_ms = now;
        self.take_history_check();
        self.alarms.on_tick(now, &mut self.alarm_events);
        if self.state.mark_stale(now) {
            self.dirty = true;
        }
        if let Some(store) = &self.store {
            let history = store.stats();
            if history != self.state.history {
                self.state.history = history;
                self.dirty = true;
            }
        }
    }

    fn take_history_check(&mut self) {
        use tokio::sync::oneshot::error::TryRecvError;
        let Some(check) = &mut self.history_check else {
            return;
        };
        match check.try_recv() {
            Ok(outcome) => {
                self.state.history_check = Some(outcome);
                self.history_check = None;
                self.dirty = true;
            }
            Err(TryRecvError::Closed) => self.history_check = None,
            Err(TryRecvError::Empty) => {}
        }
    }

    fn publish(&mut self) {
        if let Some(views) = self.alarms.take_views() {
            self.state.alarms = Arc::new(views);
            self.dirty = true;
        }
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.state.version += 1;
        self.state.received = self.summary.received;
        self.ui.send_replace(Arc::new(self.state.clone()));
    }
}

#[cfg(test)]
mod tests;
