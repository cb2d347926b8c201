use super::*;
use crate::model::{Quality, Reading, SensorId};
use crate::store::Writer;
use crate::store::writer::WriterConfig;

fn meta(id: &str) -> SensorMeta {
    SensorMeta {
        id: SensorId::new(id),
        name: id.to_uppercase(),
        ..Default::default()
    }
}

#[tokio::test]
async fn readings_reach_the_snapshot_and_the_history_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let (writer, store) = Writer::spawn(&path, WriterConfig::default()).unwrap();
    let handles = Engine::spawn(
        &EngineConfig::default(),
        vec![meta("a")],
        Some(store.clone()),
    );
    let mut snapshots = handles.snapshots.clone();
    let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
    handles
        .events
        .send(SourceEvent::Readings {
            readings: vec![
                Reading::good("a", 1_000, 1.5),
                Reading::good("b", 1_000, 9.0),
            ],
            ack: Some(ack_tx),
        })
        .await
        .unwrap();
    ack_rx
        .await
        .expect("the ack fires once the readings are committed");
    // Acknowledged means committed: another connection sees both rows now.
    let committed = crate::store::HistoryReader::open(&path)
        .unwrap()
        .total_readings()
        .unwrap();
    assert_eq!(committed, 2);
    let snap = snapshots
        .wait_for(|s| s.received == 2)
        .await
        .unwrap()
        .clone();
    assert_eq!(snap.sensor("a").unwrap().last.unwrap().value, 1.5);
    assert_eq!(
        snap.sensor("b").unwrap().meta.name,
        "b",
        "unknown sensors are added"
    );
    drop(handles.events);
    let summary = handles.task.await.unwrap();
    assert_eq!(
        summary,
        EngineSummary {
            received: 2,
            forwarded: 2,
            not_stored: 0
        }
    );
    store.flush().await.unwrap();
    drop(store);
    writer.join().unwrap();
    let reader = crate::store::HistoryReader::open(&path).unwrap();
    assert_eq!(reader.total_readings().unwrap(), 2);
    let names: Vec<String> = reader
        .sensors()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, vec!["A".to_owned(), "b".to_owned()]);
}

#[test]
fn ring_buffer_is_bounded_by_count_and_age() {
    let config = EngineConfig {
        live_points: 5,
        live_window_ms: 100,
        ..Default::default()
    };
    let mut state = LiveState::new(&config, vec![meta("a")]);
    for i in 0..10 {
        state.apply(&Reading::good("a", i * 10, i as f64));
    }
    let recent: Vec<i64> = state
        .sensor("a")
        .unwrap()
        .recent
        .iter()
        .map(|p| p.ts)
        .collect();
    assert_eq!(recent, vec![50, 60, 70, 80, 90]);
    state.apply(&Reading::good("a", 300, 1.0));
    let recent: Vec<i64> = state
        .sensor("a")
        .unwrap()
        .recent
        .iter()
        .map(|p| p.ts)
        .collect();
    assert_eq!(recent, vec![300]);
}

#[test]
fn a_late_reading_does_not_replace_the_live_value() {
    let mut state = LiveState::new(&EngineConfig::default(), vec![]);
    state.apply(&Reading::good("a", 200, 2.0));
    state.apply(&Reading::good("a", 100, 1.0));
    assert_eq!(state.sensor("a").unwrap().last.unwrap().value, 2.0);
}

#[test]
fn snapshots_are_independent_of_later_changes() {
    let mut state = LiveState::new(&EngineConfig::default(), vec![meta("a")]);
    state.apply(&Reading::good("a", 1, 1.0));
    let snapshot = state.clone();
    state.apply(&Reading::good("a", 2, 2.0));
    assert_eq!(snapshot.sensor("a").unwrap().last.unwrap().value, 1.0);
    assert_eq!(state.sensor("a").unwrap().last.unwrap().value, 2.0);
}

#[test]
fn silent_sensor_turns_stale() {
    let mut state = LiveState::new(&EngineConfig::default(), vec![meta("a")]);
    state.set_stale_after("a", 1_000);
    state.apply(&Reading::good("a", 1, 1.0));
    let arrived = state.sensor("a").unwrap().last_arrival_ms.unwrap();
    assert!(!state.mark_stale(arrived + 1_000));
    assert!(state.mark_stale(arrived + 1_001));
    assert_eq!(state.sensor("a").unwrap().quality, Quality::Stale);
}

fn replay_at(generation: u64, position_ms: TimestampMs) -> SourceEvent {
    SourceEvent::Replay(crate::source::replay::ReplayStatus {
        label: "t.csv".into(),
        position_ms,
        start_ms: 0,
        end_ms: 10 * 3_600_000,
        speed: crate::source::replay::Speed::Times(60.0),
        paused: true,
        finished: false,
        sent: 0,
        generation,
    })
}

/// An engine whose sensor `t` has a high limit (35), a 30 s stale timer and
/// a rate-of-change limit of 10/min, as a replay runs it.
fn replay_engine() -> Engine {
    let mut rules =
        crate::alarm::SensorRules::new("t").limit(crate::alarm::Condition::H, 35.0, 0.5);
    rules.stale_ms = Some(30_000);
    rules.roc_per_minute = Some(10.0);
    let config = EngineConfig {
        alarms: crate::alarm::AlarmSetup {
            sensors: vec![rules],
            ..Default::default()
        },
        ..Default::default()
    };
    Engine::new(&config, vec![meta("t")], None).0
}

fn alarm_keys(engine: &mut Engine) -> Vec<String> {
    engine.publish();
    engine.state.alarms.iter().map(|a| a.key.clone()).collect()
}

async fn play(engine: &mut Engine, ts: TimestampMs, value: f64) {
    engine
        .handle(replay_at(
            engine.state.replay.as_ref().map_or(0, |r| r.generation),
            ts,
        ))
        .await;
    engine
        .handle(SourceEvent::readings(vec![Reading::good("t", ts, value)]))
        .await;
}

#[tokio::test]
async fn seeking_back_restarts_alarms_at_the_replayed_position() {
    let mut engine = replay_engine();
    engine.handle(replay_at(0, 0)).await;
    play(&mut engine, 0, 20.0).await;
    play(&mut engine, 60_000, 25.0).await;
    play(&mut engine, 120_000, 36.0).await; // over h, and +11/min
    assert_eq!(alarm_keys(&mut engine), ["t/h", "t/roc"]);
    // Back before the excursion: nothing of it is left, not even the last value for roc.
    engine.handle(replay_at(1, 60_000)).await;
    assert!(alarm_keys(&mut engine).is_empty());
    play(&mut engine, 60_000, 25.0).await;
    assert!(alarm_keys(&mut engine).is_empty());
    play(&mut engine, 120_000, 36.0).await;
    assert_eq!(alarm_keys(&mut engine), ["t/h", "t/roc"]);
    let raised: Vec<_> = engine.state.alarms.iter().map(|a| a.raised_ms).collect();
    assert_eq!(raised, [120_000, 120_000]);
}

#[tokio::test]
async fn a_forward_jump_does_not_count_skipped_time_as_silence() {
    let mut engine = replay_engine();
    engine.handle(replay_at(0, 0)).await;
    play(&mut engine, 0, 20.0).await;
    engine.on_tick(10_000);
    assert!(alarm_keys(&mut engine).is_empty());
    // One hour ahead: the sensor did report in between (those readings were skipped).
    let at = 3_600_000;
    engine.handle(replay_at(1, at)).await;
    engine.on_tick(at);
    engine.on_tick(at + 29_000);
    assert!(alarm_keys(&mut engine).is_empty());
    // The first reading after the jump has no earlier value to make a rate with.
    play(&mut engine, at + 29_000, 30.0).await;
    assert!(alarm_keys(&mut engine).is_empty());
    // Real silence after the jump still turns the sensor stale.
    engine.on_tick(at + 29_000 + 31_000);
    assert_eq!(alarm_keys(&mut engine), ["t/stale"]);
}

/// On tokio's paused clock (no dependence on machine load): a sensor polled
/// every 100 ms that falls silent raises its stale alarm at the first
/// housekeeping tick after `stale` of silence, so within stale + one tick.
#[tokio::test(start_paused = true)]
async fn a_silent_sensor_raises_stale_within_stale_plus_one_tick() {
    const STALE_MS: i64 = 1_000;
    const TICK_MS: i64 = 500;
    let mut rules = crate::alarm::SensorRules::new("dev.v");
    rules.stale_ms = Some(STALE_MS);
    let config = EngineConfig {
        tick: Duration::from_millis(TICK_MS as u64),
        stale_after_ms: vec![("dev.v".into(), STALE_MS)],
        alarms: crate::alarm::AlarmSetup {
            sensors: vec![rules],
            ..Default::default()
        },
        clock: Clock::tokio(1_000_000),
        ..Default::default()
    };
    let handles = Engine::spawn(&config, vec![meta("dev.v")], None);
    let mut snapshots = handles.snapshots.clone();
    for poll in 0..10 {
        let reading = Reading::good("dev.v", 1_000_000 + poll * 100, poll as f64);
        handles
            .events
            .send(SourceEvent::readings(vec![reading]))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    let last_arrival = snapshots
        .wait_for(|s| {
            s.sensor("dev.v")
                .and_then(|x| x.last)
                .is_some_and(|p| p.value == 9.0)
        })
        .await
        .unwrap()
        .sensor("dev.v")
        .and_then(|x| x.last_arrival_ms)
        .unwrap();
    let raised = snapshots
        .wait_for(|s| s.alarms.iter().any(|a| a.key == "dev.v/stale"))
        .await
        .unwrap()
        .alarms
        .iter()
        .find(|a| a.key == "dev.v/stale")
        .unwrap()
        .raised_ms;
    let after = raised - last_arrival;
    assert!(after > STALE_MS, "raised {after} ms after the last reading");
    assert!(
        after <= STALE_MS + TICK_MS,
        "raised {after} ms after the last reading"
    );
    drop(handles.events);
}

/// A pattern's sensor is added with its alarm limits; a configured sensor the
/// pattern also makes keeps what it sets and takes the rest (name, unit,
/// group, limits) from the pattern.
#[tokio::test]
async fn discovered_sensors_get_the_pattern_limits_and_configured_ones_fill_in() {
    let limits = crate::config::AlarmLimits {
        h: Some(35.0),
        ..Default::default()
    };
    let configured = SensorMeta {
        id: SensorId::new("own"),
        name: "own".into(),
        unit: "K".into(),
        ..Default::default()
    };
    let handles = Engine::spawn(&EngineConfig::default(), vec![configured], None);
    let mut snapshots = handles.snapshots.clone();
    for id in ["temp-001", "own"] {
        let found = Discovery {
            meta: SensorMeta {
                id: SensorId::new(id),
                name: "temperature".into(),
                unit: "°C".into(),
                group: "zone-a".into(),
                range: Some((0.0, 60.0)),
            },
            alarm: Some(std::sync::Arc::new(limits.clone())),
            source: Some(format!("mqtt plant-broker pattern factory/{id}")),
        };
        handles
            .events
            .send(SourceEvent::Discovered(found))
            .await
            .unwrap();
    }
    let readings = vec![
        Reading::good("temp-001", 1, 36.2),
        Reading::good("own", 1, 40.0),
    ];
    handles
        .events
        .send(SourceEvent::readings(readings))
        .await
        .unwrap();
    let snap = snapshots
        .wait_for(|s| s.alarms.len() == 2)
        .await
        .unwrap()
        .clone();
    let own = &snap.sensor("own").unwrap().meta;
    assert_eq!(
        (
            own.name.as_str(),
            own.unit.as_str(),
            own.group.as_str(),
            own.range
        ),
        ("temperature", "K", "zone-a", Some((0.0, 60.0)))
    );
    let keys: Vec<&str> = snap.alarms.iter().map(|a| a.key.as_str()).collect();
    assert!(
        keys.contains(&"temp-001/h") && keys.contains(&"own/h"),
        "{keys:?}"
    );
    for id in ["temp-001", "own"] {
        let from = snap.sensor(id).unwrap().discovered_from.clone();
        let want = format!("mqtt plant-broker pattern factory/{id}");
        assert_eq!(
            from,
            Some(want),
            "the detail view says where {id} came from"
        );
    }
}

/// An alarm the journal holds for a pattern's sensor comes back, with its
/// acknowledgement, when the sensor is discovered again after a restart.
#[tokio::test]
async fn a_discovered_sensor_gets_its_alarm_back_from_the_journal() {
    use crate::alarm::{AlarmState, Condition, Phase, Priority, Restored};
    let restored = |sensor: &str| Restored {
        key: format!("{sensor}/h"),
        sensor: sensor.into(),
        condition: Condition::H,
        phase: Phase::Acknowledged,
        priority: Priority::High,
        value: Some(36.2),
        raised_ms: 1_000,
        acked_by: Some("opjane".into()),
        message: "high".into(),
    };
    let config = EngineConfig {
        restored_alarms: vec![restored("temp-001"), restored("temp-002")],
        ..EngineConfig::default()
    };
    let handles = Engine::spawn(&config, Vec::new(), None);
    let mut snapshots = handles.snapshots.clone();
    assert!(
        handles.snapshots.borrow().alarms.is_empty(),
        "no rules yet for a pattern's sensors"
    );
    let found = Discovery {
        meta: SensorMeta {
            id: SensorId::new("temp-001"),
            name: "temperature".into(),
            ..Default::default()
        },
        alarm: Some(std::sync::Arc::new(crate::config::AlarmLimits {
            h: Some(35.0),
            ..Default::default()
        })),
        source: Some("mqtt plant-broker pattern factory/+".into()),
    };
    handles
        .events
        .send(SourceEvent::Discovered(found))
        .await
        .unwrap();
    let restored_alarm = snapshots.wait_for(|s| !s.alarms.is_empty());
    let snap = tokio::time::timeout(Duration::from_secs(10), restored_alarm)
        .await
        .expect("the journal's alarm comes back with its sensor")
        .unwrap()
        .clone();
    let keys: Vec<&str> = snap.alarms.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["temp-001/h"], "temp-002 waits for its own discovery");
    let alarm = &snap.alarms[0];
    assert_eq!(
        (alarm.state, alarm.acked_by.as_deref(), alarm.raised_ms),
        (AlarmState::Acknowledged, Some("opjane"), 1_000)
    );
}

#[tokio::test]
async fn another_console_s_action_is_applied_and_not_journaled_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    // A batching latency far beyond the test: only the engine's request for
    // a prompt commit gets an operator action journaled in time.
    let (writer, store) = Writer::spawn(
        &path,
        WriterConfig {
            max_latency: Duration::from_secs(3_600),
            ..Default::default()
        },
    )
    .unwrap();
    let config = EngineConfig {
        alarms: crate::alarm::AlarmSetup {
            sensors: vec![crate::alarm::SensorRules::new("t").limit(
                crate::alarm::Condition::H,
                35.0,
                0.5,
            )],
            ..Default::default()
        },
        console: "console-b".into(),
        ..Default::default()
    };
    let mut engine = Engine::new(&config, vec![meta("t")], Some(store.clone())).0;
    engine
        .handle(SourceEvent::readings(vec![Reading::good("t", 1_000, 40.0)]))
        .await;
    engine.journal_alarm_events().await;
    let shared = crate::alarm::AlarmCommand::FromJournal {
        key: "t/h".into(),
        action: crate::alarm::SharedAction::Ack,
        at_ms: engine.clock(),
        operator: "ana".into(),
        console: "console-a".into(),
    };
    engine.on_command(shared);
    engine.journal_alarm_events().await;
    assert_eq!(
        engine.alarms.alarm_state("t/h"),
        Some(crate::alarm::AlarmState::Acknowledged)
    );
    engine.on_command(crate::alarm::AlarmCommand::Comment {
        key: "t/h".into(),
        text: "valve checked".into(),
        operator: "bob".into(),
    });
    engine.journal_alarm_events().await;
    let mut stats = store.watch_stats();
    tokio::time::timeout(
        Duration::from_secs(15),
        stats.wait_for(|s| s.alarm_events == 2),
    )
    .await
    .expect("the comment is committed without waiting for the batching latency")
    .unwrap();
    let rows = crate::alarm::journal::query(&path, &Default::default()).unwrap();
    let seen: Vec<_> = rows
        .iter()
        .rev()
        .map(|r| (r.event.as_str(), r.operator.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("raised", "", "console-b"), ("comment", "bob", "console-b")]
    );
    drop((engine, store));
    writer.join().unwrap();
}
