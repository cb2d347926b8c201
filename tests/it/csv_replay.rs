//! Replay end to end: a CSV fixture loaded into a temporary store and played
//! through the real engine. Synchronisation is on the engine's snapshots and
//! the source's events, with timeouts; never on sleeps.

use crate::common;

use floorwatch::app::replay::{ReplayOptions, ReplaySession};
use floorwatch::csvio::import::ImportOptions;
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::source::SourceEvent;
use floorwatch::source::replay::{Player, ReplayCommand, ReplayPlan, Speed};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn factory_day() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/factory_day.csv")
}

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

/// (ts, value) of a sensor in the raw fixture text.
fn raw_series(sensor: &str) -> Vec<(i64, f64)> {
    std::fs::read_to_string(factory_day())
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[1] == sensor).then(|| (ms(f[0]), f[2].parse().unwrap()))
        })
        .collect()
}

fn options(from: &str, speed: Speed, paused: bool) -> ReplayOptions {
    ReplayOptions {
        files: vec![factory_day()],
        import: ImportOptions::default(),
        from: Some(ms(from)),
        to: None,
        speed,
        paused,
        record: None,
    }
}

async fn start(options: ReplayOptions) -> ReplaySession {
    ReplaySession::start(options, &EngineConfig::default(), Vec::new())
        .await
        .expect("starting the replay")
}

async fn wait_for(
    session: &mut ReplaySession,
    what: &str,
    pred: impl FnMut(&Arc<LiveState>) -> bool,
) -> Arc<LiveState> {
    tokio::time::timeout(WAIT, session.snapshots.wait_for(pred))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("engine stopped")
        .clone()
}

fn sent(state: &LiveState) -> u64 {
    state.replay.as_ref().map_or(0, |r| r.sent)
}

#[tokio::test]
async fn the_excursion_reaches_the_engine_at_its_replayed_time_at_x1000() {
    let temp = raw_series("line1.temp");
    let (crossing, peak) = *temp.iter().find(|(_, v)| *v > 35.0).unwrap();
    let mut session = start(options("2025-10-02T09:55:00Z", Speed::Times(1000.0), false)).await;
    let state = wait_for(&mut session, "temperature above 35 °C", |s| {
        s.sensor("line1.temp")
            .and_then(|t| t.last)
            .is_some_and(|p| p.value > 35.0)
    })
    .await;
    let sensor = state.sensor("line1.temp").unwrap();
    let first_hot = sensor.recent.iter().find(|p| p.value > 35.0).unwrap();
    assert_eq!((first_hot.ts, first_hot.value), (crossing, peak));
    // The console's clock shows replayed time, never behind the data it shows.
    let replay = state
        .replay
        .as_ref()
        .expect("replay status in the live state");
    assert_eq!(state.now_ms, replay.position_ms);
    assert!(state.now_ms >= sensor.last.unwrap().ts);
    assert!(
        state.now_ms < crossing + 10 * 60_000,
        "clock {}",
        state.now_ms
    );
    assert!(!replay.paused && !replay.finished);
    session.stop().await.unwrap();
}

#[tokio::test]
async fn the_clock_is_set_to_each_reading_time_before_the_reading_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    floorwatch::app::replay::load(&[factory_day()], &ImportOptions::default(), &db).unwrap();
    let temp = raw_series("line1.temp");
    let (crossing, _) = *temp.iter().find(|(_, v)| *v > 35.0).unwrap();
    let plan = ReplayPlan {
        db,
        label: "factory_day.csv".into(),
        from: Some(ms("2025-10-02T09:55:00Z")),
        to: Some(ms("2025-10-02T10:30:00Z")),
        speed: Speed::Times(1000.0),
        paused: false,
    };
    let (events, mut rx) = tokio::sync::mpsc::channel(16);
    let player = Player::new(&plan, events).unwrap();
    let (_commands, command_rx) = tokio::sync::mpsc::channel(1);
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(player.run(command_rx, cancel.clone()));
    let mut clock = None;
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = rx.recv().await {
            match event {
                SourceEvent::Replay(status) => clock = Some(status.position_ms),
                SourceEvent::Readings { readings, .. } => {
                    for r in &readings {
                        assert!(
                            Some(r.ts) <= clock,
                            "reading at {} before the clock {clock:?}",
                            r.ts
                        );
                        if r.sensor.as_str() == "line1.temp" && r.ts == crossing {
                            return (clock, readings.iter().map(|r| r.ts).max());
                        }
                    }
                }
                _ => {}
            }
        }
        panic!("the replay ended without the excursion");
    })
    .await
    .expect("timed out");
    // The batch is announced at its own last timestamp: the alarm sees replayed time.
    assert_eq!(found.0, found.1);
    cancel.cancel();
    drop(rx);
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn pause_step_seek_jump_and_fast_forward() {
    let temp = raw_series("line1.temp");
    let mut session = start(options("2025-10-02T10:00:00Z", Speed::Times(1.0), true)).await;
    let state = wait_for(&mut session, "the paused replay", |s| s.replay.is_some()).await;
    assert!(state.replay.as_ref().unwrap().paused);
    assert_eq!(sent(&state), 0);

    session.commands.send(ReplayCommand::Step).await.unwrap();
    let state = wait_for(&mut session, "one step", |s| sent(s) == 3).await;
    assert_eq!(state.now_ms, ms("2025-10-02T10:00:00Z"));
    session.commands.send(ReplayCommand::Step).await.unwrap();
    let state = wait_for(&mut session, "a second step", |s| sent(s) == 6).await;
    assert_eq!(state.now_ms, ms("2025-10-02T10:00:30Z"));
    assert_eq!(
        state.sensor("line1.temp").unwrap().last.unwrap().ts,
        ms("2025-10-02T10:00:30Z")
    );

    // Seek forward: the clock moves there and the old values are cleared.
    let at = ms("2025-10-02T14:00:00Z");
    session
        .commands
        .send(ReplayCommand::Seek(at))
        .await
        .unwrap();
    let state = wait_for(&mut session, "the seek", |s| {
        s.replay.as_ref().is_some_and(|r| r.generation == 1)
    })
    .await;
    assert_eq!(state.now_ms, at);
    assert!(state.sensor("line1.temp").unwrap().last.is_none());
    session.commands.send(ReplayCommand::Step).await.unwrap();
    let state = wait_for(&mut session, "a step after the seek", |s| sent(s) == 9).await;
    let expected = temp.iter().find(|(ts, _)| *ts == at).unwrap().1;
    assert_eq!(
        state.sensor("line1.temp").unwrap().last.unwrap().value,
        expected
    );

    // Back one hour, then as fast as possible to the end.
    session
        .commands
        .send(ReplayCommand::Jump(-3_600_000))
        .await
        .unwrap();
    let state = wait_for(&mut session, "the jump back", |s| {
        s.replay.as_ref().is_some_and(|r| r.generation == 2)
    })
    .await;
    assert_eq!(state.now_ms, ms("2025-10-02T13:00:00Z"));
    session
        .commands
        .send(ReplayCommand::SetSpeed(Speed::Max))
        .await
        .unwrap();
    session.commands.send(ReplayCommand::Resume).await.unwrap();
    let last = tokio::time::timeout(WAIT, session.finished())
        .await
        .expect("timed out")
        .expect("finished");
    let from_13h = 3 * temp
        .iter()
        .filter(|(ts, _)| *ts >= ms("2025-10-02T13:00:00Z"))
        .count() as u64;
    assert_eq!(last.sent, 9 + from_13h);
    assert_eq!(last.position_ms, temp.last().unwrap().0);
    assert!((last.progress() - 1.0).abs() < 1e-9);
    session.stop().await.unwrap();
}

#[tokio::test]
async fn pause_stops_a_running_replay_where_it_is() {
    let mut session = start(options(
        "2025-10-02T10:00:00Z",
        Speed::Times(10_000.0),
        false,
    ))
    .await;
    wait_for(&mut session, "some readings", |s| sent(s) >= 30).await;
    session.commands.send(ReplayCommand::Pause).await.unwrap();
    let paused = wait_for(&mut session, "the pause", |s| {
        s.replay.as_ref().is_some_and(|r| r.paused)
    })
    .await;
    let (n, at) = (sent(&paused), paused.now_ms);
    // A step after the pause plays exactly one more instant (3 sensors): the
    // paused player played nothing in between.
    session.commands.send(ReplayCommand::Step).await.unwrap();
    let stepped = wait_for(&mut session, "one step", |s| sent(s) > n).await;
    assert_eq!(sent(&stepped), n + 3);
    assert_eq!(
        stepped.sensor("line1.temp").unwrap().last.unwrap().ts,
        stepped.now_ms
    );
    assert!(stepped.now_ms > at && stepped.now_ms <= at + 30_000);
    session.stop().await.unwrap();
}

fn replay_cli(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::floorwatch_bin())
        .arg("replay")
        .args(args)
        .env_remove("FLOORWATCH_CONFIG")
        .env_remove("FLOORWATCH_DB")
        .env("FLOORWATCH_CONFIG_DIR", dir)
        .env("FLOORWATCH_DATA_DIR", dir)
        .output()
        .unwrap()
}

#[test]
fn headless_replay_plays_the_range_and_leaves_the_history_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let file = factory_day();
    let out = replay_cli(
        dir.path(),
        &[
            "--headless",
            "--speed",
            "max",
            "--from",
            "2025-10-02 13:00",
            "--to",
            "2025-10-02T14:00:00Z",
            "--db",
            db.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 13:00:00 … 14:00:00 inclusive, every 30 s, three sensors.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "replayed {} readings from 2025-10-02T13:00:00.000Z to 2025-10-02T14:00:00.000Z",
            121 * 3
        )
    );
    assert!(!db.exists(), "replay without --record wrote the history");

    let out = replay_cli(
        dir.path(),
        &[
            "--headless",
            "--speed",
            "max",
            "--record",
            "--db",
            db.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 8640);
}

#[test]
fn replay_rejects_bad_times_and_files_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = factory_day();
    let out = replay_cli(
        dir.path(),
        &["--headless", "--from", "noon", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from \"noon\""));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "timestamp,sensor,value\n").unwrap();
    let out = replay_cli(dir.path(), &["--headless", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no readings to replay"));
}

#[tokio::test]
async fn the_temperature_alarm_is_raised_at_the_replayed_time_at_x1000() {
    let plant = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plant.toml");
    let config = floorwatch::config::Config::load(&plant).unwrap();
    let temp = raw_series("line1.temp");
    let (crossing, _) = *temp.iter().find(|(_, v)| *v > 35.0).unwrap();
    let mut session = ReplaySession::start(
        options("2025-10-02T09:55:00Z", Speed::Times(1000.0), false),
        &EngineConfig::from_config(&config),
        config.sensor_metas(),
    )
    .await
    .unwrap();
    let state = wait_for(&mut session, "the line1.temp high alarm", |s| {
        high_alarm(s).is_some()
    })
    .await;
    let alarm = high_alarm(&state).unwrap();
    // Stamped with the replayed time the condition began (the crossing
    // reading's time, confirmed after the 5 s on-delay), not the wall clock.
    assert_eq!(alarm.raised_ms, crossing);
    assert!(alarm.value.is_some_and(|v| v > 35.0));
    session.stop().await.unwrap();
}

fn high_alarm(state: &LiveState) -> Option<&floorwatch::alarm::AlarmView> {
    state
        .alarms
        .iter()
        .find(|a| a.sensor.as_str() == "line1.temp" && a.condition == "h")
}

#[tokio::test]
async fn seeking_back_resets_alarms_and_playing_again_raises_them_at_the_same_replayed_time() {
    let plant = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plant.toml");
    let config = floorwatch::config::Config::load(&plant).unwrap();
    let temp = raw_series("line1.temp");
    let (crossing, _) = *temp.iter().find(|(_, v)| *v > 35.0).unwrap();
    let before = ms("2025-10-02T09:56:00Z");
    assert!(before < crossing);
    let mut session = ReplaySession::start(
        options("2025-10-02T09:55:00Z", Speed::Times(1000.0), false),
        &EngineConfig::from_config(&config),
        config.sensor_metas(),
    )
    .await
    .unwrap();
    let state = wait_for(&mut session, "the high alarm", |s| high_alarm(s).is_some()).await;
    assert_eq!(high_alarm(&state).unwrap().raised_ms, crossing);

    session.commands.send(ReplayCommand::Pause).await.unwrap();
    session
        .commands
        .send(ReplayCommand::Seek(before))
        .await
        .unwrap();
    let state = wait_for(&mut session, "the seek back", |s| {
        s.replay
            .as_ref()
            .is_some_and(|r| r.generation == 1 && r.paused)
    })
    .await;
    assert_eq!(state.now_ms, before);
    assert!(
        state.alarms.is_empty(),
        "alarms from after the position: {:?}",
        state.alarms
    );

    session.commands.send(ReplayCommand::Resume).await.unwrap();
    let state = wait_for(&mut session, "the high alarm again", |s| {
        high_alarm(s).is_some()
    })
    .await;
    let alarm = high_alarm(&state).unwrap();
    assert_eq!(alarm.raised_ms, crossing);
    assert_eq!(alarm.state, floorwatch::alarm::AlarmState::Unacknowledged);
    session.stop().await.unwrap();
}

#[tokio::test]
async fn a_file_that_cannot_be_read_fails_loading_with_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let mut session = ReplaySession::spawn(
        ReplayOptions {
            files: vec![missing.clone()],
            ..options("2025-10-02T10:00:00Z", Speed::Max, true)
        },
        &EngineConfig::default(),
        Vec::new(),
    )
    .unwrap();
    let err = session.loaded().await.unwrap_err().to_string();
    assert!(err.contains("missing.csv"), "{err}");
    session.stop().await.unwrap();

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "timestamp,sensor,value\n2025-10-02T10:00:00Z,t,23O.1\n",
    )
    .unwrap();
    let err = ReplaySession::start(
        ReplayOptions {
            files: vec![bad],
            ..options("2025-10-02T10:00:00Z", Speed::Max, true)
        },
        &EngineConfig::default(),
        Vec::new(),
    )
    .await
    .err()
    .expect("a file of bad rows only")
    .to_string();
    assert!(
        err.starts_with("bad.csv has no readings to replay (first bad row: "),
        "{err}"
    );
    assert!(
        err.contains("bad.csv:2:24: expected a number in column \"value\", found \"23O.1\""),
        "{err}"
    );
}

#[tokio::test]
async fn after_a_seek_a_rate_is_judged_on_the_reading_before_the_new_position() {
    use floorwatch::alarm::{AlarmSetup, SensorRules};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("level.csv");
    std::fs::write(
        &file,
        "timestamp,sensor,value\n\
         2025-10-02T10:00:00Z,level,10\n\
         2025-10-02T10:01:00Z,level,12\n\
         2025-10-02T10:02:00Z,level,30\n\
         2025-10-02T10:03:00Z,level,31\n",
    )
    .unwrap();
    let mut rules = SensorRules::new("level");
    rules.roc_per_minute = Some(5.0);
    let engine = EngineConfig {
        alarms: AlarmSetup {
            sensors: vec![rules],
            ..Default::default()
        },
        ..Default::default()
    };
    let mut session = ReplaySession::start(
        ReplayOptions {
            files: vec![file],
            ..options("2025-10-02T10:00:00Z", Speed::Times(1.0), true)
        },
        &engine,
        Vec::new(),
    )
    .await
    .unwrap();
    let jump = ms("2025-10-02T10:02:00Z");
    session
        .commands
        .send(ReplayCommand::Seek(jump))
        .await
        .unwrap();
    session.commands.send(ReplayCommand::Step).await.unwrap();
    let state = wait_for(&mut session, "the reading at the new position", |s| {
        s.sensor("level")
            .and_then(|l| l.last)
            .is_some_and(|p| p.ts == jump)
    })
    .await;
    // 12 at 10:01 (before the seek position) → 30 at 10:02: +18/min.
    let alarm = state.alarms.iter().find(|a| a.key == "level/roc");
    assert!(alarm.is_some(), "{:#?}", state.alarms);
    assert_eq!(alarm.unwrap().raised_ms, jump);
    session.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_progress_reaches_the_caller_up_to_the_whole_file() {
    let mut seen = Vec::new();
    let session = ReplaySession::start_reporting(
        options("2025-10-02T06:00:00Z", Speed::Max, true),
        &EngineConfig::default(),
        Vec::new(),
        |p| seen.push(p.clone()),
    )
    .await
    .expect("starting the replay");
    let size = std::fs::metadata(factory_day()).unwrap().len();
    let rows = std::fs::read_to_string(factory_day())
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert!(!seen.is_empty(), "at least one progress report");
    // The caller sees the newest report of each snapshot: some, in order, within the file.
    for p in &seen {
        assert_eq!(p.total_bytes, size, "{p:?}");
        assert!(p.bytes <= size && p.rows <= rows, "{p:?}");
        assert_eq!(&*p.file, "factory_day.csv");
    }
    assert!(
        seen.windows(2)
            .all(|w| w[0].bytes <= w[1].bytes && w[0].rows <= w[1].rows),
        "progress only moves forward: {seen:?}"
    );
    session.stop().await.unwrap();
}
