//! The console's behaviour, key by key, on fixed data: quitting, alarm
//! commands, filtering, navigation and paging, detail windows.

use crate::common;

use common::tui::{
    NOW, PLANT_TOML, chars, config, large_plant, plant_state, press, render, text, ui_state,
};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::alarm::{AlarmCommand, AlarmState};
use floorwatch::store::StoreError;
use floorwatch::ui::history::HistoryLoadError;
use floorwatch::ui::layout::Cursor;
use floorwatch::ui::state::{Effect, Screen, UiState};
use std::sync::Arc;

fn plant(width: u16, height: u16) -> UiState {
    let config = config(PLANT_TOML);
    ui_state(&config, plant_state(&config), width, height)
}

fn selected(ui: &UiState) -> String {
    match &ui.cursor {
        Some(Cursor::Sensor(id)) => id.to_string(),
        Some(Cursor::Group(g)) => format!("group {g}"),
        None => "none".into(),
    }
}

#[test]
fn q_asks_while_alarms_are_unacknowledged_and_ctrl_c_always_quits() {
    let mut ui = plant(80, 24);
    assert!(chars(&mut ui, "q").is_empty());
    assert!(text(&render(&ui)).contains("2 alarms are not acknowledged"));
    assert!(chars(&mut ui, "n").is_empty(), "any other key stays");
    assert!(ui.overlay.is_none());
    chars(&mut ui, "q");
    assert_eq!(chars(&mut ui, "y"), [Effect::Quit]);

    // Ctrl-C quits from anywhere, even while typing a filter.
    let mut ui = plant(80, 24);
    chars(&mut ui, "/lin");
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(ui.on_event(&ctrl_c), [Effect::Quit]);

    // No unacknowledged alarm: q quits at once.
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    live.alarms = Arc::new(
        live.alarms
            .iter()
            .filter(|a| !a.state.needs_ack())
            .cloned()
            .collect(),
    );
    let mut ui = ui_state(&config, live, 80, 24);
    assert_eq!(chars(&mut ui, "q"), [Effect::Quit]);
}

#[test]
fn alarm_keys_send_commands_with_the_operator_name() {
    let mut ui = plant(80, 24);
    // From the tiles, `a` acknowledges the selected sensor's most urgent alarm.
    assert_eq!(
        chars(&mut ui, "a"),
        [Effect::Alarm(AlarmCommand::Ack {
            key: "line1.temp/hh".into(),
            operator: "ana".into()
        })]
    );
    // In the alarm pane: the highlighted alarm (second row: line1.temp/h).
    press(&mut ui, KeyCode::Tab);
    press(&mut ui, KeyCode::Down);
    // `s` opens the shelve menu on `[ui] shelve` (1h); Enter shelves for that long.
    assert!(chars(&mut ui, "s").is_empty());
    assert!(text(&render(&ui)).contains("Shelve line1.temp/h"));
    assert_eq!(
        press(&mut ui, KeyCode::Enter),
        [Effect::Alarm(AlarmCommand::Shelve {
            key: "line1.temp/h".into(),
            for_ms: 3_600_000,
            operator: "ana".into()
        })]
    );
    assert!(ui.overlay.is_none());
    // The third row is acknowledged already: nothing is sent, the operator is told.
    press(&mut ui, KeyCode::Down);
    assert!(chars(&mut ui, "a").is_empty());
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("already acknowledged")
    );
    // `A` asks first; any key but `y` cancels.
    assert!(chars(&mut ui, "A").is_empty());
    assert!(text(&render(&ui)).contains("Acknowledge 2 alarms in view as ana?"));
    assert!(chars(&mut ui, "n").is_empty());
    assert!(ui.overlay.is_none());
    chars(&mut ui, "A");
    assert_eq!(
        chars(&mut ui, "y"),
        [Effect::Alarm(AlarmCommand::AckAll {
            keys: vec!["line1.temp/hh".into(), "line1.temp/h".into()],
            operator: "ana".into()
        })]
    );
    // "All visible": the filter narrows what A acknowledges.
    press(&mut ui, KeyCode::Esc);
    chars(&mut ui, "/line 2");
    press(&mut ui, KeyCode::Enter);
    assert!(chars(&mut ui, "A").is_empty());
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("no unacknowledged")
    );
}

/// The alarm pane with its cursor on `key`.
fn on_alarm(key: &str) -> UiState {
    let mut ui = plant(120, 40);
    press(&mut ui, KeyCode::Tab);
    let at = ui
        .visible_alarms()
        .iter()
        .position(|a| a.key == key)
        .unwrap_or_else(|| panic!("no alarm {key}"));
    for _ in 0..at {
        press(&mut ui, KeyCode::Down);
    }
    ui
}

#[test]
fn shelve_menu_offers_durations_and_one_shot() {
    let mut ui = on_alarm("line1.temp/hh");
    chars(&mut ui, "s");
    let screen = text(&render(&ui));
    for choice in [
        "1 for 15m",
        "2 for 1h",
        "3 for 4h",
        "4 for 8h",
        "5 until it returns to normal",
    ] {
        assert!(screen.contains(choice), "{choice}:\n{screen}");
    }
    // Down from the default (1h) to 4h.
    press(&mut ui, KeyCode::Down);
    assert_eq!(
        press(&mut ui, KeyCode::Enter),
        [Effect::Alarm(AlarmCommand::Shelve {
            key: "line1.temp/hh".into(),
            for_ms: 4 * 3_600_000,
            operator: "ana".into()
        })]
    );
    chars(&mut ui, "s");
    assert_eq!(
        chars(&mut ui, "5"),
        [Effect::Alarm(AlarmCommand::ShelveOneShot {
            key: "line1.temp/hh".into(),
            operator: "ana".into()
        })]
    );
    // Esc closes the menu and sends nothing.
    chars(&mut ui, "s");
    assert!(press(&mut ui, KeyCode::Esc).is_empty());
    assert!(ui.overlay.is_none());
}

#[test]
fn unshelve_only_acts_on_shelved_alarms() {
    let mut ui = on_alarm("line1.temp/hh");
    assert!(chars(&mut ui, "u").is_empty());
    assert!(ui.toast.as_ref().unwrap().text.contains("is not shelved"));
    let mut ui = on_alarm("line1.flow/stale");
    assert_eq!(
        chars(&mut ui, "u"),
        [Effect::Alarm(AlarmCommand::Unshelve {
            key: "line1.flow/stale".into(),
            operator: "ana".into()
        })]
    );
    // Shelving a shelved alarm is refused with a hint.
    assert!(chars(&mut ui, "s").is_empty());
    assert!(ui.toast.as_ref().unwrap().text.contains("already shelved"));
}

#[test]
fn comments_are_typed_in_a_prompt_and_recorded_with_the_operator() {
    let mut ui = on_alarm("line2.temp/h");
    chars(&mut ui, "c");
    // Letters that are keys elsewhere (q, a, s, J) are text here.
    chars(&mut ui, "valve Jq as seen");
    press(&mut ui, KeyCode::Backspace);
    assert!(text(&render(&ui)).contains("> valve Jq as see_"));
    assert_eq!(
        press(&mut ui, KeyCode::Enter),
        [Effect::Alarm(AlarmCommand::Comment {
            key: "line2.temp/h".into(),
            text: "valve Jq as see".into(),
            operator: "ana".into()
        })]
    );
    assert_eq!(
        ui.toast.as_ref().unwrap().text,
        "recording a comment on line2.temp/h as ana…"
    );
    // The engine's next snapshot (no refusal) is its answer.
    ui.on_snapshot(ui.live.clone());
    assert_eq!(
        ui.toast.as_ref().unwrap().text,
        "comment on line2.temp/h recorded as ana"
    );
    // An empty comment or Esc records nothing.
    chars(&mut ui, "c");
    assert!(press(&mut ui, KeyCode::Enter).is_empty());
    chars(&mut ui, "cnot this");
    assert!(press(&mut ui, KeyCode::Esc).is_empty());
    assert!(ui.overlay.is_none());
}

#[test]
fn reset_sends_the_command_for_the_selected_alarm() {
    let mut ui = on_alarm("line2.temp/h");
    assert_eq!(
        chars(&mut ui, "x"),
        [Effect::Alarm(AlarmCommand::Reset {
            key: "line2.temp/h".into(),
            operator: "ana".into()
        })]
    );
}

#[test]
fn help_scrolls_on_a_short_terminal() {
    let mut ui = plant(50, 24);
    chars(&mut ui, "?");
    let top = text(&render(&ui));
    assert!(
        top.contains("show this help") && top.contains("scroll"),
        "{top}"
    );
    press(&mut ui, KeyCode::PageDown);
    press(&mut ui, KeyCode::PageDown);
    press(&mut ui, KeyCode::PageDown);
    let bottom = text(&render(&ui));
    assert!(!bottom.contains("show this help"), "{bottom}");
    assert!(bottom.contains("export view to CSV"), "{bottom}");
    // Any other key closes it.
    chars(&mut ui, "z");
    assert!(ui.overlay.is_none());
}

#[test]
fn an_action_the_engine_refused_is_told_to_the_operator() {
    let mut ui = plant(80, 24);
    let mut live = (*ui.live).clone();
    live.refused = Some((NOW, "alarm line1.temp/h: cannot reset while unack".into()));
    ui.on_snapshot(Arc::new(live.clone()));
    let toast = ui.toast.clone().unwrap().text;
    assert_eq!(
        toast,
        "refused: alarm line1.temp/h: cannot reset while unack"
    );
    // The same refusal in the next snapshot is not told again.
    ui.toast = None;
    ui.on_snapshot(Arc::new(live));
    assert!(ui.toast.is_none());
}

#[test]
fn esc_run_together_with_a_key_is_esc_then_the_key() {
    let mut ui = plant(80, 24);
    chars(&mut ui, "S");
    assert_eq!(ui.screen, Screen::Status);
    // Esc then `?` within the terminal's escape timeout reads as Alt-?.
    let alt = Event::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::ALT));
    ui.on_event(&alt);
    assert_eq!(ui.screen, Screen::Dashboard, "Esc went back");
    assert_eq!(
        ui.overlay,
        Some(floorwatch::ui::state::Overlay::Help),
        "then ? opened the help"
    );
}

#[test]
fn toasts_show_and_expire() {
    let mut ui = plant(80, 24);
    assert!(chars(&mut ui, "t").is_empty());
    let toast = ui.toast.clone().unwrap().text;
    assert!(toast.contains("theme"), "{toast}");
    assert!(text(&render(&ui)).contains(&toast));
    // Toasts expire on the idle tick.
    ui.on_tick(NOW + 10_000);
    assert!(ui.toast.is_none());
}

#[test]
fn filter_narrows_tiles_and_alarms_and_esc_clears_it() {
    let mut ui = plant(80, 24);
    chars(&mut ui, "/line 2");
    press(&mut ui, KeyCode::Enter);
    let screen = text(&render(&ui));
    assert!(
        screen.contains("Line 2 temperature") && !screen.contains("Line 1 vibration"),
        "{screen}"
    );
    assert!(screen.contains("Alarms 1 of 4 · 0 unack"), "{screen}");
    assert!(screen.contains("filter: line 2"), "{screen}");
    chars(&mut ui, "/");
    press(&mut ui, KeyCode::Backspace);
    press(&mut ui, KeyCode::Esc);
    assert_eq!(ui.filter, "");
    assert!(text(&render(&ui)).contains("Line 1 vibration"));
}

#[test]
fn arrows_move_through_the_grid_and_groups_fold() {
    let mut ui = plant(80, 24);
    assert_eq!(selected(&ui), "none");
    press(&mut ui, KeyCode::Right);
    assert_eq!(selected(&ui), "line1.vibration");
    chars(&mut ui, "l");
    assert_eq!(selected(&ui), "line1.flow");
    chars(&mut ui, "l");
    assert_eq!(
        selected(&ui),
        "group Line 2",
        "past the row end: the next row"
    );
    chars(&mut ui, "j");
    assert_eq!(selected(&ui), "line2.temp");
    chars(&mut ui, "]");
    assert_eq!(selected(&ui), "group Utilities");
    chars(&mut ui, "[");
    assert_eq!(selected(&ui), "group Line 2");
    press(&mut ui, KeyCode::Enter);
    assert!(ui.collapsed.contains("Line 2"));
    let screen = text(&render(&ui));
    assert!(
        screen.contains("▸ Line 2 3 sensors (folded)") && !screen.contains("Line 2 pressure"),
        "{screen}"
    );
    chars(&mut ui, "j");
    assert_eq!(selected(&ui), "group Utilities");
    chars(&mut ui, "G");
    assert_eq!(selected(&ui), "tenant-a.kwh");
    chars(&mut ui, "g");
    assert_eq!(selected(&ui), "group Line 1");
}

#[test]
fn five_hundred_sensors_page_and_filter() {
    let config = config(PLANT_TOML);
    let mut ui = ui_state(&config, large_plant(500), 80, 24);
    let screen = text(&render(&ui));
    assert!(screen.contains("page 1/"), "{screen}");
    let pages: usize = screen
        .split("page 1/")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(pages >= 40, "{pages} pages for 500 sensors");
    press(&mut ui, KeyCode::PageDown);
    assert!(text(&render(&ui)).contains(&format!("page 2/{pages}")));
    for _ in 0..100 {
        press(&mut ui, KeyCode::PageDown);
    }
    let screen = text(&render(&ui));
    assert!(
        screen.contains(&format!("page {pages}/{pages}")) && screen.contains("sensor 499"),
        "{screen}"
    );
    chars(&mut ui, "/s250");
    press(&mut ui, KeyCode::Enter);
    let screen = text(&render(&ui));
    assert!(
        screen.contains("Area 12 sensor 250") && !screen.contains("page "),
        "{screen}"
    );
}

#[test]
fn detail_windows_zoom_and_pan() {
    let mut ui = plant(80, 24);
    // The newest load wins (the worker skips superseded requests).
    let load = |effects: Vec<Effect>| match effects.last() {
        Some(Effect::LoadDetail(q)) => (q.from, q.to, q.request),
        other => panic!("expected a history load, got {other:?}"),
    };
    let (from, to, first) = load(press(&mut ui, KeyCode::Enter));
    assert_eq!(ui.screen, Screen::Detail);
    assert_eq!((to, to - from), (NOW, 3_600_000));
    let (from, to, _) = load(chars(&mut ui, "+"));
    assert_eq!((to, to - from), (NOW, 15 * 60_000));
    chars(&mut ui, "+");
    let (from, to, _) = load(chars(&mut ui, "---"));
    assert_eq!(to - from, 24 * 3_600_000);
    let (from, to, _) = load(chars(&mut ui, "-"));
    assert_eq!(to - from, 7 * 24 * 3_600_000);
    chars(&mut ui, "-");
    assert_eq!(
        ui.detail.as_ref().unwrap().window,
        4,
        "7d is the longest window"
    );
    chars(&mut ui, "++");
    let (from, to, _) = load(press(&mut ui, KeyCode::Left));
    assert_eq!((to, to - from), (NOW - 4 * 3_600_000, 8 * 3_600_000));
    let (_, to, _) = load(press(&mut ui, KeyCode::Right));
    assert_eq!(to, NOW, "panning past the present follows it again");
    assert!(ui.detail.as_ref().unwrap().end_ms.is_none());
    // An answer to an old request is dropped.
    let old = HistoryLoadError::Buckets(StoreError::WriterGone);
    ui.on_history(first, Err(old));
    assert!(ui.detail.as_ref().unwrap().error.is_none());
    press(&mut ui, KeyCode::Esc);
    assert_eq!(ui.screen, Screen::Dashboard);
}

#[test]
fn a_new_unacknowledged_alarm_rings_the_bell_when_enabled() {
    let config = config(&format!("{PLANT_TOML}\n[ui]\nbell = true\n"));
    let live = plant_state(&config);
    let mut ui = ui_state(&config, live.clone(), 80, 24);
    assert!(
        ui.on_snapshot(Arc::new(live.clone())).is_empty(),
        "nothing new"
    );
    let mut next = live.clone();
    let mut alarms = (*next.alarms).clone();
    let mut raised = alarms[0].clone();
    raised.key = "line2.temp/hh".into();
    raised.state = AlarmState::Unacknowledged;
    alarms.push(raised);
    next.alarms = Arc::new(alarms);
    assert_eq!(ui.on_snapshot(Arc::new(next)), [Effect::Bell]);
}

#[test]
fn a_new_medium_or_low_alarm_does_not_ring_the_bell() {
    let config = config(&format!("{PLANT_TOML}\n[ui]\nbell = true\n"));
    let live = plant_state(&config);
    let mut ui = ui_state(&config, live.clone(), 80, 24);
    ui.on_snapshot(Arc::new(live.clone()));
    let mut next = live.clone();
    let mut alarms = (*next.alarms).clone();
    for (key, priority) in [
        ("line2.temp/roc", floorwatch::alarm::Priority::Medium),
        ("tenant-a.kwh/consumption", floorwatch::alarm::Priority::Low),
    ] {
        let mut raised = alarms[0].clone();
        raised.key = key.into();
        raised.priority = priority;
        raised.state = AlarmState::Unacknowledged;
        alarms.push(raised);
    }
    next.alarms = Arc::new(alarms);
    assert!(ui.on_snapshot(Arc::new(next)).is_empty());
}

#[test]
fn a_history_server_being_reconnected_shows_in_the_header_and_the_status_pane() {
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    live.history.reconnecting = true;
    live.history.failing =
        Some("PostgreSQL server 127.0.0.1:5999 unreachable: connection refused".into());
    let mut ui = ui_state(&config, live, 120, 40);
    let screen = text(&render(&ui));
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("history: reconnecting"), "{header}");
    ui.apply(floorwatch::ui::keys::Action::Status);
    let status = text(&render(&ui));
    assert!(
        status.contains(
            "history: reconnecting, readings held back: PostgreSQL server 127.0.0.1:5999"
        ),
        "{status}"
    );

    let mut live = plant_state(&config);
    live.history.failing = Some("history file h.sqlite: database or disk is full".into());
    let ui = ui_state(&config, live, 120, 40);
    let header = text(&render(&ui))
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !header.contains("reconnecting"),
        "a file is never reconnected: {header}"
    );
}
