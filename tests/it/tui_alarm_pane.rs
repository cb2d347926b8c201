//! The alarm pane at 80x24 and 120x40: column headers, the value at raise
//! beside the value now, names that keep what tells them apart, priorities
//! told apart by symbol and colour role while unacknowledged, and a filter
//! that says what it hides.

use crate::common;

use common::tui::{NOW, PLANT_TOML, chars, config, plant_state, press, render, text, ui_state};
use crossterm::event::KeyCode;
use floorwatch::alarm::{AlarmState, AlarmView, Priority};
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::model::Reading;
use floorwatch::ui::state::UiState;
use ratatui::buffer::Buffer;
use std::sync::Arc;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

const METERS_TOML: &str = r#"
[plant]
name = "Consumption plant"
timezone = "UTC"
"#;

fn meter_name(n: u32) -> String {
    format!("Medidor de energía del edificio administrativo {n}")
}

/// Three consumption alarms on meters whose names differ only at the end.
fn meters(width: u16, height: u16) -> UiState {
    let mut text = METERS_TOML.to_owned();
    for n in 201..=203 {
        text.push_str(&format!(
            "\n[[sensor]]\nid = \"meter.{n}\"\nname = \"{}\"\nunit = \"kWh\"\ngroup = \"Meters\"\n",
            meter_name(n)
        ));
    }
    let config = config(&text);
    let engine = EngineConfig {
        plant: config.plant.name.clone(),
        ..EngineConfig::default()
    };
    let mut live = LiveState::new(&engine, config.sensor_metas());
    let mut alarms = Vec::new();
    for n in 201..=203u32 {
        let id = format!("meter.{n}");
        live.apply(&Reading::good(
            id.as_str(),
            NOW - 1_000,
            100.0 + f64::from(n),
        ));
        alarms.push(AlarmView {
            key: format!("{id}/consumption"),
            sensor: id.as_str().into(),
            condition: "consumption".into(),
            priority: Priority::Medium,
            state: AlarmState::Unacknowledged,
            value: Some(f64::from(n)),
            raised_ms: NOW - 60_000,
            acked_by: None,
            message: format!("{id} consumption"),
        });
    }
    live.alarms = Arc::new(alarms);
    ui_state(&config, live, width, height)
}

/// The rows of the alarm pane (between its top and bottom border).
fn pane_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains("Alarms"))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

#[test]
fn names_keep_their_distinguishing_end_and_columns_have_headers() {
    for (w, h) in SIZES {
        let ui = meters(w, h);
        let screen = text(&render(&ui));
        let rows = pane_rows(&screen).join("\n");
        for n in 201..=203 {
            // The name's end (what differs) is kept; its middle may go.
            let end = format!("vo {n}");
            assert!(
                rows.contains(&end),
                "{w}x{h}: meter {n} not told apart:\n{rows}"
            );
            assert!(
                rows.lines()
                    .any(|l| l.contains(&n.to_string()) && l.contains("Medido")),
                "{w}x{h}: meter {n} has no row with its name:\n{rows}"
            );
        }
        assert!(rows.contains("at raise"), "{w}x{h}:\n{rows}");
        assert!(rows.contains("now"), "{w}x{h}:\n{rows}");
        insta::assert_snapshot!(format!("alarm_pane_meters_{w}x{h}"), screen);
    }
}

#[test]
fn the_value_at_raise_stands_beside_the_value_now() {
    let ui = meters(80, 24);
    let screen = text(&render(&ui));
    let row = pane_rows(&screen)
        .into_iter()
        .find(|l| l.contains("201") && l.contains("CONSUMPTION"))
        .unwrap_or_else(|| panic!("no row for meter 201:\n{screen}"));
    // Raised at 201, now 301.
    let raised = row.find("201.0").expect("value at raise");
    let now = row.find("301.0").expect("value now");
    assert!(raised < now, "{row}");
    let header = pane_rows(&screen)
        .into_iter()
        .find(|l| l.contains("at raise"))
        .unwrap();
    assert!(header.find("at raise") < header.find("now"), "{header}");
}

/// The cells of the first row of the pane containing `marker`.
fn row_cells<'a>(buffer: &'a Buffer, marker: &str) -> Vec<&'a ratatui::buffer::Cell> {
    let width = usize::from(buffer.area.width);
    let screen = text(buffer);
    let y = screen
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no row with {marker}:\n{screen}"));
    buffer.content[y * width..(y + 1) * width].iter().collect()
}

#[test]
fn unacknowledged_crit_and_med_differ_beyond_the_word() {
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    let alarm = |sensor: &str, condition: &str, priority| AlarmView {
        key: format!("{sensor}/{condition}"),
        sensor: sensor.into(),
        condition: condition.into(),
        priority,
        state: AlarmState::Unacknowledged,
        value: Some(1.0),
        raised_ms: NOW - 60_000,
        acked_by: None,
        message: String::new(),
    };
    live.alarms = Arc::new(vec![
        alarm("line1.temp", "hh", Priority::Critical),
        alarm("line2.temp", "l", Priority::Medium),
    ]);
    for theme in 0..4 {
        let mut ui = ui_state(&config, live.clone(), 80, 24);
        ui.theme = theme;
        let buffer = render(&ui);
        let crit = row_cells(&buffer, "CRIT");
        let med = row_cells(&buffer, "MED");
        // Symbol: the cell before the word.
        let symbol = |cells: &[&ratatui::buffer::Cell]| cells[2].symbol().to_owned();
        assert_ne!(symbol(&crit), symbol(&med), "theme {theme}");
        // Style of the priority cell and of the name.
        let style = |cells: &[&ratatui::buffer::Cell], x: usize| {
            (cells[x].fg, cells[x].bg, cells[x].modifier)
        };
        assert_ne!(
            style(&crit, 2),
            style(&med, 2),
            "theme {theme}: priority cell"
        );
        assert_ne!(style(&crit, 20), style(&med, 20), "theme {theme}: row");
    }
}

#[test]
fn a_filter_that_hides_every_alarm_says_so() {
    let config = config(PLANT_TOML);
    let mut ui = ui_state(&config, plant_state(&config), 80, 24);
    chars(&mut ui, "/zzz");
    press(&mut ui, KeyCode::Enter);
    let screen = text(&render(&ui));
    assert!(screen.contains("0 of 4 alarms match \"zzz\""), "{screen}");
    assert!(!screen.contains("no active alarms"), "{screen}");
    // A filter that keeps some says how many of how many.
    press(&mut ui, KeyCode::Esc);
    chars(&mut ui, "/line 2");
    press(&mut ui, KeyCode::Enter);
    let screen = text(&render(&ui));
    assert!(screen.contains("Alarms 1 of 4"), "{screen}");
    // No alarm at all: nothing is hidden.
    let mut live = plant_state(&config);
    live.alarms = Arc::new(Vec::new());
    let ui = ui_state(&config, live, 80, 24);
    assert!(text(&render(&ui)).contains("no active alarms"));
}
