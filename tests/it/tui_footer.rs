//! The footer's messages: what an alarm action is doing and, once a
//! snapshot shows it, that it is done; messages expire after about 5 s on
//! the state's clock; they are never cut at 80 columns (paths lose their
//! middle); a refusal is not told again when the screen changes engine.

use crate::common;

use common::tui::{NOW, PLANT_TOML, chars, config, plant_state, press, render, text, ui_state};
use crossterm::event::KeyCode;
use floorwatch::alarm::AlarmState;
use floorwatch::engine::LiveState;
use floorwatch::ui::state::{TOAST_MS, UiState};
use std::sync::Arc;

fn plant(width: u16, height: u16) -> UiState {
    let config = config(PLANT_TOML);
    ui_state(&config, plant_state(&config), width, height)
}

fn toast(ui: &UiState) -> String {
    ui.toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// The footer row as text.
fn footer(ui: &UiState) -> String {
    let screen = text(&render(ui));
    screen.lines().last().unwrap_or_default().to_owned()
}

/// The snapshot after the engine changed `key`'s state (and who acknowledged it).
fn with_alarm(ui: &UiState, key: &str, state: AlarmState, by: Option<&str>) -> Arc<LiveState> {
    let mut live = (*ui.live).clone();
    let mut alarms = (*live.alarms).clone();
    for alarm in alarms.iter_mut().filter(|a| a.key == key) {
        alarm.state = state;
        alarm.acked_by = by.map(str::to_owned);
    }
    live.alarms = Arc::new(alarms);
    Arc::new(live)
}

#[test]
fn an_acknowledgement_is_confirmed_when_the_snapshot_shows_it() {
    let mut ui = plant(80, 24);
    chars(&mut ui, "a");
    assert_eq!(toast(&ui), "acknowledging line1.temp/hh as ana…");
    // A snapshot from before the engine took the action confirms nothing.
    ui.on_snapshot(ui.live.clone());
    assert_eq!(toast(&ui), "acknowledging line1.temp/hh as ana…");
    let acked = with_alarm(&ui, "line1.temp/hh", AlarmState::Acknowledged, Some("ana"));
    ui.on_snapshot(acked);
    assert_eq!(toast(&ui), "acknowledged line1.temp/hh as ana");
    assert!(
        footer(&ui).contains("acknowledged line1.temp/hh as ana"),
        "{}",
        footer(&ui)
    );
}

#[test]
fn shelving_and_unshelving_are_confirmed_by_the_alarm_state() {
    let mut ui = plant(80, 24);
    press(&mut ui, KeyCode::Tab);
    press(&mut ui, KeyCode::Down);
    chars(&mut ui, "s");
    press(&mut ui, KeyCode::Enter);
    assert_eq!(toast(&ui), "shelving line1.temp/h for 1h as ana…");
    let shelved = with_alarm(&ui, "line1.temp/h", AlarmState::Shelved, None);
    ui.on_snapshot(shelved);
    assert_eq!(toast(&ui), "shelved line1.temp/h for 1h as ana");
    let row = ui
        .visible_alarms()
        .iter()
        .position(|a| a.key == "line1.temp/h")
        .unwrap();
    ui.alarm_cursor = row;
    chars(&mut ui, "u");
    assert_eq!(toast(&ui), "unshelving line1.temp/h as ana…");
    let back = with_alarm(&ui, "line1.temp/h", AlarmState::Unacknowledged, None);
    ui.on_snapshot(back);
    assert_eq!(toast(&ui), "unshelved line1.temp/h as ana");
}

#[test]
fn a_refused_action_is_not_confirmed_and_an_unanswered_one_is_reported() {
    let mut ui = plant(80, 24);
    chars(&mut ui, "a");
    let mut refused = (*ui.live).clone();
    refused.refused = Some((NOW, "alarm line1.temp/hh: no such alarm".into()));
    ui.on_snapshot(Arc::new(refused));
    assert_eq!(toast(&ui), "refused: alarm line1.temp/hh: no such alarm");
    // The refusal ended the wait: a later ack by someone else is not ours.
    let acked = with_alarm(&ui, "line1.temp/hh", AlarmState::Acknowledged, Some("bob"));
    ui.on_snapshot(acked);
    assert_eq!(toast(&ui), "refused: alarm line1.temp/hh: no such alarm");

    // Nothing answers: after a while the operator is told.
    let mut ui = plant(80, 24);
    chars(&mut ui, "a");
    ui.on_tick(NOW + 9_000);
    ui.on_tick(NOW + 10_000);
    assert_eq!(
        toast(&ui),
        "no confirmation from the engine: acknowledging line1.temp/hh as ana…"
    );
}

#[test]
fn messages_expire_after_five_seconds_of_the_state_clock() {
    let mut ui = plant(80, 24);
    chars(&mut ui, "t");
    assert!(toast(&ui).starts_with("theme: "));
    ui.on_tick(NOW + TOAST_MS - 1);
    assert!(ui.toast.is_some(), "still shown just before 5 s");
    assert!(footer(&ui).contains("theme: "));
    ui.on_tick(NOW + TOAST_MS);
    assert!(ui.toast.is_none());
    assert!(!footer(&ui).contains("theme: "), "{}", footer(&ui));
}

#[test]
fn a_refusal_is_not_told_again_when_the_live_plant_comes_back() {
    let mut ui = plant(80, 24);
    let mut live = (*ui.live).clone();
    live.refused = Some((NOW, "alarm line1.temp/h: cannot reset while unack".into()));
    let live = Arc::new(live);
    ui.on_snapshot(live.clone());
    assert!(toast(&ui).starts_with("refused: "));
    ui.on_tick(NOW + TOAST_MS);
    assert!(ui.toast.is_none());
    // A replay takes the screen (no refusal there), then the plant comes back.
    let mut replay = (*live).clone();
    replay.refused = None;
    ui.switch_engine(Arc::new(replay));
    ui.switch_engine(live.clone());
    assert!(ui.toast.is_none(), "{:?}", ui.toast);
    // A new refusal of the live plant is told.
    let mut newer = (*live).clone();
    newer.refused = Some((NOW + 60_000, "alarm line1.temp/hh: not shelved".into()));
    ui.on_snapshot(Arc::new(newer));
    assert_eq!(toast(&ui), "refused: alarm line1.temp/hh: not shelved");
}

#[test]
fn a_long_message_keeps_both_ends_of_its_path_at_80_columns() {
    let mut ui = plant(80, 24);
    let path =
        "/home/operator/.local/share/floorwatch/exports/readings-tenant-a.kwh-20261201-1.csv";
    ui.on_export(Ok((path.into(), 120)));
    let line = footer(&ui);
    assert!(line.contains("exported 120 rows to /home/"), "{line}");
    assert!(line.trim_end().ends_with("kwh-20261201-1.csv"), "{line}");
    assert!(line.contains('…'), "{line}");
}
