//! Live state: what the console shows now. Cloning is cheap (sensors are
//! behind `Arc`s and copied only when they change), so every published
//! snapshot is an independent, immutable value.

use super::EngineConfig;
use crate::alarm::AlarmView;
use crate::model::{Quality, Reading, SensorId, SensorMeta, TimestampMs};
use crate::source::SourceStatus;
use crate::source::raw::RawSample;
use crate::source::replay::{LoadProgress, ReplayStatus};
use crate::store::CheckOutcome;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts: TimestampMs,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SensorLive {
    pub meta: SensorMeta,
    pub last: Option<Point>,
    pub quality: Quality,
    /// Recent good values for the sparkline, oldest first.
    pub recent: VecDeque<Point>,
    /// The sensor turns stale when nothing arrives for this long.
    pub stale_after_ms: Option<i64>,
    /// When the last reading arrived (wall clock), for stale detection.
    pub last_arrival_ms: Option<TimestampMs>,
    /// The payload or registers behind the latest value, when the source keeps them.
    pub raw: Option<RawSample>,
    /// The pattern or template that discovered the sensor (`mqtt BROKER
    /// pattern FILTER`, `listen URL`, ...), for the detail view.
    pub discovered_from: Option<String>,
}

#[derive(Clone, Debug)]
pub struct LiveState {
    pub plant: String,
    pub sensors: Vec<Arc<SensorLive>>,
    index: Arc<HashMap<SensorId, usize>>,
    pub sources: Vec<SourceStatus>,
    /// Alarms not in the Normal state, most urgent first (kept by the alarm evaluator).
    pub alarms: Arc<Vec<AlarmView>>,
    /// How many new high or critical alarms were raised since start: the UI
    /// rings the terminal bell when it grows (and `[ui] bell` is on).
    pub alarm_bell: u64,
    /// The last operator action the alarm system refused (when, why), for the console to say so.
    pub refused: Option<(TimestampMs, String)>,
    pub received: u64,
    /// What the history writer has committed (stored, duplicates, superseded)
    /// and whether its commits are failing.
    pub history: crate::store::StoreStats,
    /// The console's clock: wall time, or the replayed time during a replay.
    pub now_ms: TimestampMs,
    /// Set while history is being replayed: position, speed, progress.
    pub replay: Option<ReplayStatus>,
    /// Set while a replay's files are being loaded, before it plays.
    pub replay_loading: Option<LoadProgress>,
    /// What the start-up `quick_check` of the history file found; `None`
    /// until it has finished (see [`crate::store::spawn_quick_check`]).
    pub history_check: Option<CheckOutcome>,
    pub version: u64,
    max_points: usize,
    window_ms: i64,
}

impl LiveState {
    pub fn new(config: &EngineConfig, sensors: Vec<SensorMeta>) -> Self {
        let mut state = LiveState {
            plant: config.plant.clone(),
            sensors: Vec::new(),
            index: Arc::new(HashMap::new()),
            sources: Vec::new(),
            alarms: Arc::new(Vec::new()),
            alarm_bell: 0,
            refused: None,
            received: 0,
            history: crate::store::StoreStats::default(),
            now_ms: config.clock.now_ms(),
            replay: None,
            replay_loading: None,
            history_check: None,
            version: 0,
            max_points: config.live_points,
            window_ms: config.live_window_ms,
        };
        for meta in sensors {
            state.ensure_sensor(meta);
        }
        for (id, ms) in &config.stale_after_ms {
            state.set_stale_after(id, *ms);
        }
        state
    }

    pub fn sensor(&self, id: &str) -> Option<&SensorLive> {
        self.index.get(id).map(|i| &*self.sensors[*i])
    }

    /// Adds a sensor unless it exists; returns whether it was added.
    pub fn ensure_sensor(&mut self, meta: SensorMeta) -> bool {
        if self.index.contains_key(meta.id.as_str()) {
            return false;
        }
        Arc::make_mut(&mut self.index).insert(meta.id.clone(), self.sensors.len());
        self.sensors.push(Arc::new(SensorLive {
            meta,
            last: None,
            quality: Quality::Good,
            recent: VecDeque::new(),
            stale_after_ms: None,
            last_arrival_ms: None,
            raw: None,
            discovered_from: None,
        }));
        true
    }

    /// Fills in what sensor `meta.id`'s metadata leaves unset from `meta`
    /// (a configured sensor a pattern also makes); returns whether it changed.
    pub fn fill_meta(&mut self, meta: &SensorMeta) -> bool {
        let Some(i) = self.index.get(meta.id.as_str()).copied() else {
            return false;
        };
        let mut filled = self.sensors[i].meta.clone();
        if !filled.fill_from(meta) {
            return false;
        }
        Arc::make_mut(&mut self.sensors[i]).meta = filled;
        true
    }

    pub fn set_raw(&mut self, id: &str, raw: RawSample) {
        if let Some(i) = self.index.get(id).copied() {
            Arc::make_mut(&mut self.sensors[i]).raw = Some(raw);
        }
    }

    /// Records the pattern or template sensor `id` came from; returns
    /// whether that changed.
    pub fn set_discovered_from(&mut self, id: &str, source: String) -> bool {
        let Some(i) = self.index.get(id).copied() else {
            return false;
        };
        if self.sensors[i].discovered_from.as_ref() == Some(&source) {
            return false;
        }
        Arc::make_mut(&mut self.sensors[i]).discovered_from = Some(source);
        true
    }

    pub fn set_stale_after(&mut self, id: &str, ms: i64) {
        if let Some(i) = self.index.get(id).copied() {
            Arc::make_mut(&mut self.sensors[i]).stale_after_ms = Some(ms);
        }
    }

    /// Shows readings from the history (a restart) as they were, but not live:
    /// every sensor with one is stale until a fresh reading arrives.
    pub fn restore(&mut self, readings: &[Reading]) {
        for reading in readings {
            let Some(i) = self.index.get(reading.sensor.as_str()).copied() else {
                continue;
            };
            let sensor = Arc::make_mut(&mut self.sensors[i]);
            if sensor.last.is_some_and(|p| reading.ts < p.ts) {
                continue;
            }
            let point = Point {
                ts: reading.ts,
                value: reading.value,
            };
            sensor.last = Some(point);
            sensor.quality = Quality::Stale;
            sensor.last_arrival_ms = Some(reading.ts);
            let recent = reading.quality == Quality::Good && reading.value.is_finite();
            if recent && sensor.recent.len() < self.max_points {
                sensor.recent.push_back(point);
            }
        }
    }

    /// Applies one reading, arrived at [`LiveState::now_ms`] (the engine sets
    /// it before each batch); unknown sensors are added with their id as name.
    pub fn apply(&mut self, reading: &Reading) {
        let i = match self.index.get(reading.sensor.as_str()) {
            Some(i) => *i,
            None => {
                self.ensure_sensor(SensorMeta {
                    id: reading.sensor.clone(),
                    name: reading.sensor.to_string(),
                    ..Default::default()
                });
                self.sensors.len() - 1
            }
        };
        let (max_points, window_ms) = (self.max_points, self.window_ms);
        let arrival = self.now_ms;
        let sensor = Arc::make_mut(&mut self.sensors[i]);
        // An older reading (late delivery, replayed backlog) goes to history only.
        if sensor.last.is_some_and(|p| reading.ts < p.ts) {
            return;
        }
        sensor.last = Some(Point {
            ts: reading.ts,
            value: reading.value,
        });
        sensor.quality = reading.quality;
        sensor.last_arrival_ms = Some(arrival);
        if reading.quality == Quality::Good && reading.value.is_finite() {
            sensor.recent.push_back(Point {
                ts: reading.ts,
                value: reading.value,
            });
        }
        while sensor.recent.len() > max_points
            || sensor
                .recent
                .front()
                .is_some_and(|p| reading.ts - p.ts > window_ms)
        {
            sensor.recent.pop_front();
        }
    }

    /// Marks sensors stale whose last reading is older than their limit.
    /// Returns whether anything changed.
    pub fn mark_stale(&mut self, now: TimestampMs) -> bool {
        let mut changed = false;
        for sensor in &mut self.sensors {
            let overdue = match (sensor.stale_after_ms, sensor.last_arrival_ms) {
                (Some(limit), Some(at)) => now - at > limit,
                _ => false,
            };
            if overdue && sensor.quality != Quality::Stale {
                Arc::make_mut(sensor).quality = Quality::Stale;
                changed = true;
            }
        }
        changed
    }

    /// Moves the clock to the replayed time. After a seek or restart the values
    /// shown belong to another time, so they are cleared. Returns whether the
    /// replay jumped (its first status, a seek, a jump or a restart).
    pub fn set_replay(&mut self, status: ReplayStatus) -> bool {
        let jumped = self
            .replay
            .as_ref()
            .is_none_or(|old| old.generation != status.generation);
        if jumped {
            for sensor in &mut self.sensors {
                let sensor = Arc::make_mut(sensor);
                sensor.last = None;
                sensor.recent.clear();
                sensor.quality = Quality::Good;
                sensor.last_arrival_ms = None;
            }
        }
        self.now_ms = status.position_ms;
        self.replay = Some(status);
        self.replay_loading = None;
        jumped
    }

    pub fn set_source_status(&mut self, status: SourceStatus) {
        match self
            .sources
            .iter_mut()
            .find(|s| s.name == status.name && s.kind == status.kind)
        {
            Some(existing) => *existing = status,
            None => self.sources.push(status),
        }
    }

    /// (up, total) over all sources.
    pub fn source_health(&self) -> (usize, usize) {
        let up = self.sources.iter().filter(|s| s.state.is_up()).count();
        (up, self.sources.len())
    }
}
