//! Shared by the Modbus end-to-end tests: a simulator on an ephemeral
//! loopback port, the real poller on a config, and waiting on its events.
#![allow(dead_code)]

use floorwatch::config::Config;
use floorwatch::model::{Quality, Reading};
use floorwatch::sim::modbus::{SimOptions, SimServer, Simulator};
use floorwatch::source::raw::RawSample;
use floorwatch::source::{SourceEvent, SourceStatus};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(15);

/// A frozen simulator (values do not move), listening on 127.0.0.1:0.
pub async fn frozen_simulator() -> (Simulator, SimServer) {
    let sim = Simulator::new(SimOptions {
        seed: 42,
        period: None,
        ..Default::default()
    });
    let server = sim
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind the simulator");
    (sim, server)
}

/// The real Modbus source on `toml`, feeding a channel the test reads.
pub struct Polling {
    pub events: mpsc::Receiver<SourceEvent>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    /// Last value and quality per sensor.
    pub latest: HashMap<String, Reading>,
    pub statuses: HashMap<String, SourceStatus>,
    /// The registers behind each sensor's last value.
    pub raw: HashMap<String, RawSample>,
}

impl Polling {
    pub async fn start(toml: &str) -> Polling {
        let config = Config::parse(Path::new("test.toml"), toml).unwrap_or_else(|e| panic!("{e}"));
        let (tx, events) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        floorwatch::source::modbus::spawn(&config, tx, cancel.clone(), &mut tasks)
            .await
            .expect("spawn the Modbus source");
        Polling {
            events,
            cancel,
            tasks,
            latest: HashMap::new(),
            statuses: HashMap::new(),
            raw: HashMap::new(),
        }
    }

    /// Reads events until `done` holds for what has been seen, or panics after [`WAIT`].
    pub async fn until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&Polling, &SourceEvent) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {what}; statuses: {:#?}",
                        self.statuses
                    )
                })
                .expect("source stopped");
            match &event {
                SourceEvent::Readings { readings, .. } => {
                    for r in readings {
                        self.latest.insert(r.sensor.to_string(), r.clone());
                    }
                }
                SourceEvent::Status(status) => {
                    self.statuses.insert(status.name.clone(), status.clone());
                }
                SourceEvent::Raw(samples) => {
                    for (sensor, raw) in samples {
                        self.raw.insert(sensor.to_string(), raw.clone());
                    }
                }
                SourceEvent::Discovered(_)
                | SourceEvent::Replay(_)
                | SourceEvent::ReplayLoading(_)
                | SourceEvent::ReplaySeed(_) => {}
            }
            if done(self, &event) {
                return;
            }
        }
    }

    /// Waits for a batch of good readings that includes every one of `sensors`.
    pub async fn good_batch(&mut self, sensors: &[&str]) -> HashMap<String, f64> {
        let mut batch = HashMap::new();
        self.until("a batch of good readings", |_, event| {
            let SourceEvent::Readings { readings, .. } = event else {
                return false;
            };
            batch = readings
                .iter()
                .filter(|r| r.quality == Quality::Good)
                .map(|r| (r.sensor.to_string(), r.value))
                .collect();
            sensors.iter().all(|s| batch.contains_key(*s))
        })
        .await;
        batch
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// A status detail value, e.g. `detail(status, "timeouts")`; panics when the
/// status has no such key (a renamed key must fail, not read as empty).
pub fn detail<'a>(status: &'a SourceStatus, key: &str) -> &'a str {
    detail_if_any(status, key).unwrap_or_else(|| {
        panic!(
            "status of {} has no {key:?}: {:?}",
            status.name, status.detail
        )
    })
}

/// A status detail that only some states have (e.g. "map errors").
pub fn detail_if_any<'a>(status: &'a SourceStatus, key: &str) -> Option<&'a str> {
    status
        .detail
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A counter of the status; panics when it is missing or not a number.
pub fn count(status: &SourceStatus, key: &str) -> u64 {
    let value = detail(status, key);
    value.parse().unwrap_or_else(|_| {
        panic!(
            "status {key:?} of {} is not a count: {value:?}",
            status.name
        )
    })
}

/// The client may only ever send read function codes 1–4.
pub fn assert_only_reads(sim: &Simulator) {
    let codes = sim.function_codes();
    assert!(!codes.is_empty(), "the simulator received nothing");
    assert!(
        codes.keys().all(|code| (1..=4).contains(code)),
        "non-read function codes received: {codes:?}"
    );
}
