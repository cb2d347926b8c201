//! Snapshots of every screen (ratatui `TestBackend` + insta) with fixed data,
//! at 80x24 (an SSH window) and 160x48.

use crate::common;

use common::tui::{NOW, PLANT_TOML, config, plant_state, render, text, ui_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::alarm::kpi::compute;
use floorwatch::store::{Aggregate, AlarmEventRow};
use floorwatch::ui::history::{AlarmEvent, DetailData, stats};
use floorwatch::ui::journal::{JournalData, JournalQuery};
use floorwatch::ui::keys::Action;
use floorwatch::ui::state::{Effect, UiState};
use floorwatch::ui::theme::ColorSupport;
use std::sync::Arc;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn dashboard(width: u16, height: u16) -> UiState {
    let config = config(PLANT_TOML);
    ui_state(&config, plant_state(&config), width, height)
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn dashboard_text() {
    for (w, h) in SIZES {
        let screen = text(&render(&dashboard(w, h)));
        insta::assert_snapshot!(format!("dashboard_{w}x{h}"), screen);
    }
}

#[test]
fn dashboard_in_every_theme_with_colours() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        for theme in ["default", "light", "high-contrast", "mono"] {
            ui.theme = ui
                .config
                .themes
                .iter()
                .position(|t| t.name == theme)
                .unwrap();
            insta::assert_debug_snapshot!(format!("theme_{theme}_{w}x{h}"), render(&ui));
        }
    }
}

#[test]
fn no_color_and_16_colour_terminals() {
    let config = config(PLANT_TOML);
    for (colors, name) in [
        (ColorSupport::None, "no_color"),
        (ColorSupport::Ansi16, "ansi16"),
    ] {
        let mut ui = ui_state(&config, plant_state(&config), 80, 24);
        ui.config = Arc::new(common::tui::ui_config(&config, colors));
        let buffer = render(&ui);
        if colors == ColorSupport::None {
            assert!(
                buffer
                    .content
                    .iter()
                    .all(|c| c.fg == ratatui::style::Color::Reset
                        && c.bg == ratatui::style::Color::Reset),
                "NO_COLOR must not emit colours"
            );
        } else {
            assert!(
                buffer
                    .content
                    .iter()
                    .all(|c| !matches!(c.fg, ratatui::style::Color::Rgb(..)))
            );
        }
        insta::assert_debug_snapshot!(format!("colors_{name}_80x24"), buffer);
    }
}

#[test]
fn ascii_fallback_has_no_other_characters() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        let mut config = (*ui.config).clone();
        config.ascii = true;
        ui.config = Arc::new(config);
        let screen = text(&render(&ui));
        assert!(screen.is_ascii(), "{screen}");
        insta::assert_snapshot!(format!("ascii_{w}x{h}"), screen);
    }
}

#[test]
fn help_is_generated_from_the_key_map() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        ui.apply(Action::Help);
        let screen = text(&render(&ui));
        for action in Action::ALL {
            assert!(
                screen.contains(action.description()),
                "{} missing:\n{screen}",
                action.name()
            );
        }
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen);
    }
}

#[test]
fn status_pane() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        ui.apply(Action::Status);
        let screen = text(&render(&ui));
        assert!(screen.contains("connection refused"), "{screen}");
        insta::assert_snapshot!(format!("status_{w}x{h}"), screen);
    }
}

#[test]
fn alarm_pane_focused_and_quit_confirmation() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        ui.on_event(&key(KeyCode::Tab));
        ui.on_event(&key(KeyCode::Down));
        insta::assert_snapshot!(format!("alarms_focused_{w}x{h}"), text(&render(&ui)));
        assert!(
            ui.on_event(&key(KeyCode::Char('q'))).is_empty(),
            "q must ask first"
        );
        insta::assert_snapshot!(format!("confirm_quit_{w}x{h}"), text(&render(&ui)));
    }
}

#[test]
fn shelve_menu_comment_prompt_and_ack_all_confirmation() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        ui.on_event(&key(KeyCode::Tab));
        ui.on_event(&key(KeyCode::Char('s')));
        insta::assert_snapshot!(format!("shelve_menu_{w}x{h}"), text(&render(&ui)));
        ui.on_event(&key(KeyCode::Esc));
        ui.on_event(&key(KeyCode::Char('c')));
        for c in "pump noisy, maintenance called".chars() {
            ui.on_event(&key(KeyCode::Char(c)));
        }
        insta::assert_snapshot!(format!("comment_prompt_{w}x{h}"), text(&render(&ui)));
        ui.on_event(&key(KeyCode::Esc));
        ui.on_event(&key(KeyCode::Char('A')));
        insta::assert_snapshot!(format!("confirm_ack_all_{w}x{h}"), text(&render(&ui)));
    }
}

/// A journal as the reader returns it: a chattering alarm, an acknowledged
/// and commented one, a standing one from two days ago.
fn journal_data(query: &JournalQuery) -> JournalData {
    let row = |ago_s: i64,
               sensor: &str,
               cond: &str,
               event: &str,
               state: &str,
               prio: &str,
               op: &str,
               comment: &str| {
        AlarmEventRow {
            ts: NOW - ago_s * 1000,
            sensor: sensor.into(),
            condition: cond.into(),
            event: event.into(),
            state: state.into(),
            value: Some(36.5),
            priority: prio.into(),
            operator: op.into(),
            comment: comment.into(),
            ..Default::default()
        }
    };
    let history = vec![
        row(
            172_800,
            "line2.pressure",
            "bad",
            "raised",
            "unack",
            "medium",
            "",
            "",
        ),
        row(1_800, "line1.temp", "h", "raised", "unack", "high", "", ""),
        row(
            1_790,
            "line1.temp",
            "h",
            "cleared",
            "rtn unack",
            "high",
            "",
            "",
        ),
        row(1_780, "line1.temp", "h", "raised", "unack", "high", "", ""),
        row(
            1_770,
            "line1.temp",
            "h",
            "cleared",
            "rtn unack",
            "high",
            "",
            "",
        ),
        row(1_760, "line1.temp", "h", "raised", "unack", "high", "", ""),
        row(
            1_200,
            "line2.temp",
            "hh",
            "raised",
            "unack",
            "critical",
            "",
            "",
        ),
        row(
            1_140,
            "line2.temp",
            "hh",
            "acked",
            "acked",
            "critical",
            "ana",
            "",
        ),
        row(
            1_080,
            "line2.temp",
            "hh",
            "comment",
            "acked",
            "critical",
            "ana",
            "valve checked, flow ok",
        ),
        row(
            600,
            "line1.flow",
            "stale",
            "shelved",
            "shelved",
            "medium",
            "ben",
            "sensor swap",
        ),
    ];
    let from = query.filter.from_ms.unwrap_or(i64::MIN);
    let start = history
        .iter()
        .position(|r| r.ts >= from)
        .unwrap_or(history.len());
    let kpis = compute(&history[start..], &history, from, query.kpi_to);
    let mut rows = history[start..].to_vec();
    rows.reverse();
    JournalData { rows, kpis }
}

#[test]
fn alarm_journal_with_kpis() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        let effects = ui.on_event(&key(KeyCode::Char('J')));
        let Some(Effect::LoadJournal(query)) = effects.into_iter().next() else {
            panic!("J must load the journal");
        };
        ui.on_journal(query.request, Ok(journal_data(&query)));
        let screen = text(&render(&ui));
        assert!(screen.contains("chattering"), "{screen}");
        insta::assert_snapshot!(format!("journal_{w}x{h}"), screen);
    }
}

#[test]
fn too_small_at_several_sizes() {
    for (w, h) in [(49, 24), (80, 13), (20, 5)] {
        let screen = text(&render(&dashboard(w, h)));
        assert!(screen.contains("too small"), "{w}x{h}:\n{screen}");
        insta::assert_snapshot!(format!("too_small_{w}x{h}"), screen);
    }
}

/// One-minute buckets over the hour before NOW, as the history worker would return them.
fn detail_data(ui: &mut UiState) -> DetailData {
    let effects = ui.apply(Action::Detail);
    let Some(Effect::LoadDetail(query)) = effects.into_iter().next() else {
        panic!("Enter on a tile must load its history");
    };
    assert_eq!((query.to, query.to - query.from), (NOW, 3_600_000));
    let buckets: Vec<Aggregate> = (0..60)
        .map(|i| {
            let start = query.from + i * 60_000;
            let avg = 34.0 + 6.0 * (i as f64 / 8.0).sin();
            Aggregate {
                start,
                count: 12,
                min: avg - 0.5,
                max: avg + 0.5,
                avg,
                first: avg - 0.2,
                last: avg + 0.2,
                first_ts: start,
                last_ts: start + 55_000,
            }
        })
        .collect();
    DetailData {
        sensor: query.sensor.clone(),
        from: query.from,
        to: query.to,
        stats: stats(&buckets),
        buckets,
        events: vec![
            AlarmEvent {
                ts: NOW - 45_000,
                condition: "hh".into(),
                event: "raised".into(),
                state: "unack".into(),
                value: Some(41.8),
                priority: "critical".into(),
                operator: String::new(),
            },
            AlarmEvent {
                ts: NOW - 1_800_000,
                condition: "h".into(),
                event: "acked".into(),
                state: "acked".into(),
                value: Some(36.0),
                priority: "high".into(),
                operator: "ana".into(),
            },
        ],
    }
}

#[test]
fn sensor_detail_with_history() {
    for (w, h) in SIZES {
        let mut ui = dashboard(w, h);
        // The cursor starts on the first sensor, Line 1 temperature.
        let data = detail_data(&mut ui);
        let request = ui.detail.as_ref().unwrap().request;
        ui.on_history(request, Ok(data));
        let screen = text(&render(&ui));
        assert!(screen.contains("Line 1 temperature"), "{screen}");
        insta::assert_snapshot!(format!("detail_{w}x{h}"), &screen);
        // The source and its payload: on screen, or further down the side panel.
        let mut seen = screen;
        for _ in 0..30 {
            ui.on_event(&key(KeyCode::Down));
            seen.push_str(&text(&render(&ui)));
        }
        assert!(seen.contains("mqtt plant-broker"), "{seen}");
        assert!(seen.contains("{\"v\": 41.8"), "{seen}");
    }
}

/// A sensor a topic pattern found (with or without a `[[sensor]]` of its
/// own that has no binding) names the pattern it came from.
#[test]
fn detail_of_a_discovered_sensor_names_its_pattern() {
    let text_with_unbound =
        format!("{PLANT_TOML}\n[[sensor]]\nid = \"line3.level\"\nunit = \"m\"\n");
    let config = config(&text_with_unbound);
    let pattern = "mqtt plant-broker pattern plant/+/+/value";
    let mut live = plant_state(&config);
    for id in ["line3.level", "line2.speed"] {
        assert!(live.set_discovered_from(id, pattern.to_owned()));
    }
    for id in ["line3.level", "line2.speed"] {
        let mut ui = ui_state(&config, live.clone(), 120, 40);
        ui.open_detail(id.into());
        let screen = text(&render(&ui));
        // The side panel wraps it after "pattern".
        let named = screen.contains("source  mqtt plant-broker pattern")
            && screen.contains("plant/+/+/value");
        assert!(named, "{id}: {screen}");
        insta::assert_snapshot!(format!("detail_discovered_{id}_120x40"), screen);
    }
}

/// The dashboard with an alarm of every priority and state on live sensors.
fn every_alarm_kind(w: u16, h: u16) -> UiState {
    use floorwatch::alarm::{AlarmState, AlarmView, Priority};
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    // Acknowledged ones alone on a tile each; unacknowledged and shelved
    // ones of every priority on the first and on a stale tile.
    let acked = [
        "line1.vibration",
        "line2.temp",
        "main.power",
        "tenant-a.kwh",
    ];
    let priorities = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];
    let conditions = ["hh", "h", "l", "ll"];
    let alarm = |sensor: &str, condition: &str, priority, state| AlarmView {
        key: format!("{sensor}/{condition}"),
        sensor: sensor.into(),
        condition: condition.into(),
        priority,
        state,
        value: Some(1.0),
        raised_ms: NOW - 60_000,
        acked_by: (state == AlarmState::Acknowledged).then(|| "ana".to_owned()),
        message: format!("{sensor} {condition}"),
    };
    let mut alarms = Vec::new();
    for (i, priority) in priorities.into_iter().enumerate() {
        let condition = conditions[i];
        alarms.push(alarm(
            acked[i],
            condition,
            priority,
            AlarmState::Acknowledged,
        ));
        alarms.push(alarm(
            "line1.temp",
            condition,
            priority,
            AlarmState::Unacknowledged,
        ));
        alarms.push(alarm(
            "line1.flow",
            condition,
            priority,
            AlarmState::Shelved,
        ));
    }
    live.alarms = Arc::new(alarms);
    ui_state(&config, live, w, h)
}

/// Calls `visit` with every screen state the snapshots show, named:
/// dashboard, alarm pane with each alarm selected, dialogs, help, status,
/// journal rows, detail.
fn visit_screen_states(w: u16, h: u16, visit: &mut dyn FnMut(&str, &mut UiState)) {
    let mut ui = every_alarm_kind(w, h);
    // The cursor on each tile and group heading in turn (Right wraps).
    for step in 0..16 {
        visit(&format!("dashboard cursor {step}"), &mut ui);
        ui.on_event(&key(KeyCode::Right));
    }
    ui.on_event(&key(KeyCode::Tab));
    for row in 0..ui.live.alarms.len() {
        visit(&format!("alarm row {row} selected"), &mut ui);
        ui.on_event(&key(KeyCode::Down));
    }
    for (name, keys) in [
        ("shelve menu", "s"),
        ("comment prompt", "cnoisy"),
        ("ack all", "A"),
        ("quit", "q"),
    ] {
        let mut dialog = dashboard(w, h);
        dialog.on_event(&key(KeyCode::Tab));
        for c in keys.chars() {
            dialog.on_event(&key(KeyCode::Char(c)));
        }
        visit(name, &mut dialog);
    }
    for action in [Action::Help, Action::Status] {
        let mut screen = dashboard(w, h);
        screen.apply(action);
        visit(&format!("{action:?}"), &mut screen);
    }
    let mut journal = dashboard(w, h);
    if let Some(Effect::LoadJournal(query)) = journal.apply(Action::Journal).into_iter().next() {
        journal.on_journal(query.request, Ok(journal_data(&query)));
    }
    for row in 0..3 {
        visit(&format!("journal row {row}"), &mut journal);
        journal.on_event(&key(KeyCode::Down));
    }
    let mut detail = dashboard(w, h);
    let data = detail_data(&mut detail);
    let request = detail.detail.as_ref().unwrap().request;
    detail.on_history(request, Ok(data));
    visit("detail", &mut detail);
}

/// Cells whose text has the same foreground and background colour: `x,y
/// 'symbol' colour` for each.
fn invisible_text(buffer: &ratatui::buffer::Buffer) -> Vec<String> {
    use ratatui::style::Color;
    let area = buffer.area;
    let mut found = Vec::new();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &buffer[(x, y)];
            let text = cell.symbol().chars().any(is_text);
            if text && cell.fg == cell.bg && cell.fg != Color::Reset {
                found.push(format!("{x},{y} {:?} {:?}", cell.symbol(), cell.fg));
            }
        }
    }
    found
}

/// A character that reads as text: not blank, not a line, block or braille
/// dot of a border, gauge or chart.
fn is_text(c: char) -> bool {
    let graphics = matches!(c, '\u{2500}'..='\u{259F}' | '\u{2800}'..='\u{28FF}');
    !c.is_whitespace() && !graphics
}

/// No text is drawn in its background colour, in any built-in theme and
/// screen state (alarm badges on a selected row were, in `light` and
/// `high-contrast`).
#[test]
fn every_screen_state_in_every_theme_keeps_its_text_visible() {
    let plant = config(PLANT_TOML);
    let mut problems = Vec::new();
    for colors in [ColorSupport::TrueColor, ColorSupport::Ansi16] {
        let ui_config = Arc::new(common::tui::ui_config(&plant, colors));
        for (w, h) in SIZES {
            visit_screen_states(w, h, &mut |state, ui| {
                ui.config = ui_config.clone();
                for (theme, t) in ui_config.themes.iter().enumerate() {
                    ui.theme = theme;
                    let invisible = invisible_text(&render(ui));
                    if let Some(first) = invisible.first() {
                        let (name, n) = (&t.name, invisible.len());
                        let at = format!("{name} {colors:?} {w}x{h} {state}");
                        problems.push(format!("{at}: {n} cells, first {first}"));
                    }
                }
            });
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
