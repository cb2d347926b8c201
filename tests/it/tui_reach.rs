//! Nothing essential out of reach at 80x24: a journal row's comment and a
//! source's last error through the `Enter` row popup, the detail side
//! panel's statistics and alarm events through its order and scrolling.

use crate::common;

use common::tui::{NOW, PLANT_TOML, config, plant_state, press, render, text, ui_state};
use crossterm::event::KeyCode;
use floorwatch::store::{Aggregate, AlarmEventRow};
use floorwatch::ui::history::{AlarmEvent, DetailData, stats};
use floorwatch::ui::journal::JournalData;
use floorwatch::ui::keys::Action;
use floorwatch::ui::state::{Effect, Overlay, Screen, UiState};

const COMMENT: &str = "valve V-204 on line 2 replaced after the third trip; flow back to nominal, watch the seal for a week";
const LAST_ERROR: &str = "connect to 127.0.0.1:5020: connection refused (after 7 retries, next in 30 s; check that the meter gateway is powered)";

fn plant() -> UiState {
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    let modbus = live
        .sources
        .iter()
        .find(|s| s.name == "meter-a")
        .cloned()
        .map(|mut s| {
            s.last_error = Some(LAST_ERROR.into());
            s
        })
        .unwrap();
    live.set_source_status(modbus);
    ui_state(&config, live, 80, 24)
}

/// The screen's text with its rows joined and box borders and runs of
/// spaces removed, so wrapped text reads as one line.
fn flat(screen: &str) -> String {
    let text: String = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn journal_row(ago_s: i64, sensor: &str, event: &str, comment: &str) -> AlarmEventRow {
    AlarmEventRow {
        ts: NOW - ago_s * 1000,
        sensor: sensor.into(),
        condition: "hh".into(),
        event: event.into(),
        state: "acked".into(),
        value: Some(36.5),
        priority: "critical".into(),
        operator: "ana".into(),
        comment: comment.into(),
        origin: String::new(),
        occurrence: None,
    }
}

#[test]
fn a_journal_comment_is_reachable_at_80x24_through_the_row_popup() {
    let mut ui = plant();
    let effects = ui.apply(Action::Journal);
    let Some(Effect::LoadJournal(query)) = effects.into_iter().next() else {
        panic!("J must load the journal");
    };
    let rows = vec![
        journal_row(60, "line2.temp", "comment", COMMENT),
        journal_row(120, "line2.temp", "acked", ""),
    ];
    let kpis = floorwatch::alarm::kpi::compute(&rows, &rows, NOW - 86_400_000, NOW);
    ui.on_journal(query.request, Ok(JournalData { rows, kpis }));
    let table = text(&render(&ui));
    assert!(!flat(&table).contains(COMMENT), "the table itself cuts it");
    press(&mut ui, KeyCode::Enter);
    let screen = text(&render(&ui));
    assert!(flat(&screen).contains(COMMENT), "{screen}");
    assert!(flat(&screen).contains("Enter sensor detail"), "{screen}");
    insta::assert_snapshot!("journal_row_popup_80x24", screen);
    // Enter again opens the row's sensor.
    let effects = press(&mut ui, KeyCode::Enter);
    assert!(
        matches!(effects.first(), Some(Effect::LoadDetail(_))),
        "{effects:?}"
    );
    assert_eq!(ui.screen, Screen::Detail);
    assert_eq!(ui.detail.as_ref().unwrap().sensor.as_str(), "line2.temp");
}

#[test]
fn a_sources_last_error_is_reachable_at_80x24_through_the_row_popup() {
    let mut ui = plant();
    ui.apply(Action::Status);
    let position = ui
        .live
        .sources
        .iter()
        .position(|s| s.name == "meter-a")
        .unwrap();
    for _ in 0..position {
        press(&mut ui, KeyCode::Down);
    }
    press(&mut ui, KeyCode::Enter);
    assert!(matches!(ui.overlay, Some(Overlay::RowDetail(_))));
    let screen = text(&render(&ui));
    assert!(flat(&screen).contains(LAST_ERROR), "{screen}");
    assert!(flat(&screen).contains("errors 7"), "{screen}");
    insta::assert_snapshot!("status_row_popup_80x24", screen);
    // Any key closes it.
    press(&mut ui, KeyCode::Esc);
    assert!(ui.overlay.is_none());
    assert_eq!(ui.screen, Screen::Status);
}

/// A window of history and `events` alarm events for the detail view open in `ui`.
fn detail_data(ui: &mut UiState, events: usize) -> DetailData {
    let effects = ui.apply(Action::Detail);
    let Some(Effect::LoadDetail(query)) = effects.into_iter().next() else {
        panic!("Enter on a tile must load its history");
    };
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
                first: avg,
                last: avg,
                first_ts: start,
                last_ts: start + 55_000,
            }
        })
        .collect();
    let events = (0..events)
        .map(|i| AlarmEvent {
            ts: NOW - 60_000 * (i as i64 + 1),
            condition: "hh".into(),
            event: if i % 2 == 0 { "raised" } else { "cleared" }.into(),
            state: "unack".into(),
            value: Some(41.0 + i as f64 / 10.0),
            priority: "critical".into(),
            operator: String::new(),
        })
        .collect();
    DetailData {
        sensor: query.sensor.clone(),
        from: query.from,
        to: query.to,
        stats: stats(&buckets),
        buckets,
        events,
    }
}

#[test]
fn the_detail_panel_shows_statistics_first_and_scrolls_to_every_event_at_80x24() {
    let mut ui = plant();
    // line1.temp: the MQTT sensor whose raw payload takes several rows.
    let data = detail_data(&mut ui, 12);
    let request = ui.detail.as_ref().unwrap().request;
    ui.on_history(request, Ok(data));
    let top = text(&render(&ui));
    for label in ["min ", "max ", "avg ", "points"] {
        assert!(top.contains(label), "{label} not shown:\n{top}");
    }
    assert!(
        top.contains("Detail ↑↓"),
        "the panel says it scrolls:\n{top}"
    );
    insta::assert_snapshot!("detail_panel_top_80x24", top);
    // Down scrolls the panel (not the chart): the oldest event and the
    // source's payload come into view.
    let mut seen = flat(&top);
    for _ in 0..40 {
        assert!(
            press(&mut ui, KeyCode::Down).is_empty(),
            "scrolling loads nothing"
        );
        seen.push_str(&flat(&text(&render(&ui))));
    }
    let oldest = format!("HH raised {:.2}", 41.0 + 10.0 / 10.0);
    assert!(seen.contains(&oldest), "{oldest} never shown");
    assert!(seen.contains("factory/line1/temp"));
    let bottom = text(&render(&ui));
    insta::assert_snapshot!("detail_panel_bottom_80x24", bottom);
    // Home goes back to the top.
    press(&mut ui, KeyCode::Home);
    assert_eq!(text(&render(&ui)), top);
}
