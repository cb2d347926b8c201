//! Snapshots of every screen (ratatui `TestBackend` + insta) with fixed data,
//! at 80x24 (an SSH window) and 160x48.

mod common;

use common::tui::{NOW, PLANT_TOML, config, plant_state, render, text, ui_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::store::Aggregate;
use floorwatch::ui::history::{AlarmEvent, DetailData, stats};
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
        assert!(screen.contains("mqtt plant-broker"), "{screen}");
        assert!(screen.contains("{\"v\": 41.8"), "{screen}");
        insta::assert_snapshot!(format!("detail_{w}x{h}"), screen);
    }
}
