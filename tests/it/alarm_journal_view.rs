//! The console's alarm journal view against a real history file: rows are
//! read with the view's filters, the KPIs cover its range, Enter opens the
//! sensor, and the export key writes what the view shows.

use crate::common;

use common::tui::{NOW, PLANT_TOML, chars, config, plant_state, press, render, text, ui_state};
use crossterm::event::KeyCode;
use floorwatch::alarm::Priority;
use floorwatch::alarm::machine::EventKind;
use floorwatch::report::{CsvStyle, View, ViewTarget, export_view};
use floorwatch::store::Location;
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{AlarmEventRow, WriteMsg, Writer};
use floorwatch::ui::journal::{self, JournalQuery, KindFilter};
use floorwatch::ui::state::{Effect, Screen, UiState};

const MIN: i64 = 60_000;

fn row(ts: i64, sensor: &str, event: &str, state: &str, priority: &str) -> AlarmEventRow {
    AlarmEventRow {
        ts,
        sensor: sensor.into(),
        condition: "h".into(),
        event: event.into(),
        state: state.into(),
        value: Some(36.5),
        priority: priority.into(),
        operator: if event == "raised" || event == "cleared" {
            String::new()
        } else {
            "ana".into()
        },
        comment: if event == "comment" {
            "valve checked".into()
        } else {
            String::new()
        },
        ..Default::default()
    }
}

/// A journal: line1.temp chatters (3 raises within a minute), line2.temp
/// was raised, acknowledged and commented, and one old raise 2 days ago.
fn write_journal(db: &Location) -> Vec<AlarmEventRow> {
    let rows = vec![
        row(
            NOW - 2 * 24 * 60 * MIN,
            "line2.pressure",
            "raised",
            "unack",
            "low",
        ),
        row(NOW - 30 * MIN, "line1.temp", "raised", "unack", "high"),
        row(
            NOW - 30 * MIN + 10_000,
            "line1.temp",
            "cleared",
            "rtn unack",
            "high",
        ),
        row(
            NOW - 30 * MIN + 20_000,
            "line1.temp",
            "raised",
            "unack",
            "high",
        ),
        row(
            NOW - 30 * MIN + 30_000,
            "line1.temp",
            "cleared",
            "rtn unack",
            "high",
        ),
        row(
            NOW - 30 * MIN + 40_000,
            "line1.temp",
            "raised",
            "unack",
            "high",
        ),
        row(NOW - 20 * MIN, "line2.temp", "raised", "unack", "critical"),
        row(NOW - 19 * MIN, "line2.temp", "acked", "acked", "critical"),
        row(NOW - 18 * MIN, "line2.temp", "comment", "acked", "critical"),
    ];
    let (writer, handle) = Writer::spawn(db, WriterConfig::default()).unwrap();
    for r in &rows {
        handle.blocking_send(WriteMsg::Alarm(r.clone())).unwrap();
    }
    drop(handle);
    writer.join().unwrap();
    rows
}

fn journal_query(effects: Vec<Effect>) -> JournalQuery {
    match effects
        .into_iter()
        .rev()
        .find(|e| matches!(e, Effect::LoadJournal(_)))
    {
        Some(Effect::LoadJournal(q)) => q,
        other => panic!("expected a journal load, got {other:?}"),
    }
}

/// Performs the load the update loop would, and hands the answer to the UI.
fn answer(ui: &mut UiState, db: &Location, effects: Vec<Effect>) -> JournalQuery {
    let query = journal_query(effects);
    ui.on_journal(query.request, journal::load(db, &query));
    query
}

fn type_and_load(ui: &mut UiState, db: &Location, keys: &str) -> JournalQuery {
    let effects = chars(ui, keys);
    answer(ui, db, effects)
}

fn plant(width: u16, height: u16) -> UiState {
    let config = config(PLANT_TOML);
    ui_state(&config, plant_state(&config), width, height)
}

#[test]
fn the_journal_view_reads_filters_and_computes_kpis_on_every_backend() {
    for h in common::histories() {
        let db = h.location.clone();
        write_journal(&db);
        let mut ui = plant(160, 48);

        // J opens the last 24 h of every sensor, newest first.
        let query = type_and_load(&mut ui, &db, "J");
        assert_eq!(ui.screen, Screen::Journal);
        assert_eq!(query.filter.from_ms, Some(NOW - 24 * 60 * MIN));
        let view = ui.journal.as_ref().unwrap();
        let events: Vec<(&str, &str)> = view
            .rows()
            .iter()
            .map(|r| (r.sensor.as_str(), r.event.as_str()))
            .collect();
        assert_eq!(
            events,
            [
                ("line2.temp", "comment"),
                ("line2.temp", "acked"),
                ("line2.temp", "raised"),
                ("line1.temp", "raised"),
                ("line1.temp", "cleared"),
                ("line1.temp", "raised"),
                ("line1.temp", "cleared"),
                ("line1.temp", "raised"),
            ],
            "the raise two days ago is outside the 24 h range"
        );
        let kpis = &view.data.as_ref().unwrap().kpis;
        assert_eq!(kpis.raised, 4);
        assert_eq!(kpis.chattering, ["line1.temp/h"]);
        assert_eq!(
            kpis.standing,
            ["line2.pressure/h"],
            "raised 48 h ago, never cleared"
        );
        assert_eq!(kpis.priority_mix[0], (Priority::Critical, 1));
        assert_eq!(kpis.priority_mix[1], (Priority::High, 3));
        let screen = text(&render(&ui));
        for shown in [
            "Alarm journal · 24h to now · 8 rows",
            "valve checked",
            "chattering  1: line1.temp/h",
            "standing    1: line2.pressure/h",
            "CRIT 25% HIGH 75%",
        ] {
            assert!(screen.contains(shown), "{shown}:\n{screen}");
        }

        // p: critical only.
        type_and_load(&mut ui, &db, "p");
        let view = ui.journal.as_ref().unwrap();
        assert_eq!(view.priority, Some(Priority::Critical));
        assert!(view.rows().iter().all(|r| r.sensor == "line2.temp"));
        assert_eq!(view.rows().len(), 3);

        // v: only "raised" events (of critical alarms).
        type_and_load(&mut ui, &db, "v");
        let view = ui.journal.as_ref().unwrap();
        assert_eq!(view.kind, Some(KindFilter::Event(EventKind::Raised)));
        assert_eq!(view.rows().len(), 1);

        // Back to every priority and event; the sensor filter is typed with `/`,
        // case-insensitive, and reloads as it is typed.
        for _ in 0..4 {
            chars(&mut ui, "p");
        }
        let mut kind_presses = 0;
        while ui.journal.as_ref().unwrap().kind.is_some() {
            chars(&mut ui, "v");
            kind_presses += 1;
            assert!(kind_presses < 20, "the event filter cycles back to all");
        }
        chars(&mut ui, "/");
        let effects = chars(&mut ui, "LINE1");
        let query = answer(&mut ui, &db, effects);
        assert_eq!(query.filter.sensor.as_deref(), Some("LINE1"));
        press(&mut ui, KeyCode::Enter);
        let view = ui.journal.as_ref().unwrap();
        assert_eq!(view.rows().len(), 5);
        assert!(view.rows().iter().all(|r| r.sensor == "line1.temp"));
        assert_eq!(ui.screen, Screen::Journal, "Enter ends the typing only");

        // e exports the view's range and sensors.
        match chars(&mut ui, "e").as_slice() {
            [Effect::Export(View::AlarmJournal { range, sensors, .. })] => {
                assert_eq!(sensors, &["line1.temp".to_string()]);
                assert_eq!(range.from, NOW - 24 * 60 * MIN);
            }
            other => panic!("expected an alarm export, got {other:?}"),
        }

        // `/` then Esc clears the sensor filter; - widens the range to 7 days,
        // which brings in the raise of two days ago.
        chars(&mut ui, "/");
        press(&mut ui, KeyCode::Esc);
        assert_eq!(ui.journal.as_ref().unwrap().sensor, "");
        let query = type_and_load(&mut ui, &db, "-");
        assert_eq!(query.filter.from_ms, Some(NOW - 7 * 24 * 60 * MIN));
        assert_eq!(ui.journal.as_ref().unwrap().rows().len(), 9);

        // Enter on a row shows it whole; Enter again opens that sensor's detail.
        assert!(press(&mut ui, KeyCode::Enter).is_empty());
        assert!(matches!(
            ui.overlay,
            Some(floorwatch::ui::state::Overlay::RowDetail(_))
        ));
        let effects = press(&mut ui, KeyCode::Enter);
        assert!(
            matches!(effects.as_slice(), [Effect::LoadDetail(q)] if q.sensor.as_str() == "line2.temp")
        );
        assert_eq!(ui.screen, Screen::Detail);
    }
}

#[test]
fn opening_the_journal_from_an_alarm_starts_on_its_sensor_and_back_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Location::from(dir.path().join("h.sqlite"));
    write_journal(&db);
    let mut ui = plant(80, 24);
    press(&mut ui, KeyCode::Tab);
    // The most urgent alarm is line1.temp/hh.
    let query = type_and_load(&mut ui, &db, "J");
    assert_eq!(query.filter.sensor.as_deref(), Some("line1.temp"));
    let screen = text(&render(&ui));
    assert!(screen.contains("sensor ~ \"line1.temp\""), "{screen}");
    assert!(screen.contains("chattering 1: line1.temp/h"), "{screen}");
    press(&mut ui, KeyCode::Esc);
    assert_eq!(ui.screen, Screen::Dashboard);
}

#[test]
fn a_journal_that_follows_the_present_is_read_again_on_the_tick() {
    let dir = tempfile::tempdir().unwrap();
    let db = Location::from(dir.path().join("h.sqlite"));
    write_journal(&db);
    let mut ui = plant(80, 24);
    type_and_load(&mut ui, &db, "J");
    assert!(ui.on_tick(NOW + 1_000).is_empty(), "not yet due");
    let query = journal_query(ui.on_tick(NOW + 6_000));
    assert_eq!(query.filter.to_ms, Some(NOW + 6_000 + 1));
    // A panned (fixed) range is not reloaded.
    let effects = press(&mut ui, KeyCode::Left);
    answer(&mut ui, &db, effects);
    assert!(ui.on_tick(NOW + 60_000).is_empty());
}

/// The rows the view shows, as the export writes them: `(sensor, event,
/// state, priority)`, oldest first.
fn shown(ui: &UiState) -> Vec<[String; 4]> {
    let rows = ui.journal.as_ref().unwrap().rows().iter().rev();
    let fields =
        |r: &AlarmEventRow| [&r.sensor, &r.event, &r.state, &r.priority].map(|f| f.to_owned());
    rows.map(fields).collect()
}

/// Presses the export key and writes the export the update loop would;
/// returns its rows as [`shown`] does (none when nothing is exported).
fn export_rows(ui: &mut UiState, target: &ViewTarget) -> Vec<[String; 4]> {
    let view = match chars(ui, "e").as_slice() {
        [Effect::Export(view)] => view.clone(),
        [] => return Vec::new(),
        other => panic!("expected an export, got {other:?}"),
    };
    let (path, written) = export_view(target, &view, NOW).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (header, rows) = crate::export_support::parse_csv(&text, b',');
    assert_eq!(
        header[1..6],
        ["sensor", "condition", "event", "state", "priority"]
    );
    assert_eq!(written, rows.len() as u64);
    let fields = |r: &Vec<String>| [1, 3, 4, 5].map(|i| r[i].clone());
    rows.iter().map(fields).collect()
}

/// Under every filter of the view (event or state, priority, sensor,
/// range), `e` writes exactly the rows the view shows.
#[test]
fn the_export_writes_exactly_the_rows_in_view_under_every_filter() {
    let dir = tempfile::tempdir().unwrap();
    let db = Location::from(dir.path().join("h.sqlite"));
    write_journal(&db);
    let target = ViewTarget {
        db: db.clone(),
        dir: dir.path().join("exports"),
        style: CsvStyle::default(),
    };
    let mut ui = plant(160, 48);
    type_and_load(&mut ui, &db, "J");
    let mut checked = 0;
    let mut check = |ui: &mut UiState, what: &str| {
        let shown = shown(ui);
        assert_eq!(export_rows(ui, &target), shown, "{what}");
        checked += 1;
    };
    check(&mut ui, "no filter");
    // Every event, then every state, then all again.
    loop {
        type_and_load(&mut ui, &db, "v");
        let Some(kind) = ui.journal.as_ref().unwrap().kind else {
            break;
        };
        check(&mut ui, &format!("{kind:?}"));
    }
    // Every priority, then all again.
    for _ in 0..5 {
        type_and_load(&mut ui, &db, "p");
        let priority = ui.journal.as_ref().unwrap().priority;
        check(&mut ui, &format!("{priority:?}"));
    }
    // A sensor, with one event kind (raised) on top.
    chars(&mut ui, "/");
    let effects = chars(&mut ui, "line1");
    answer(&mut ui, &db, effects);
    press(&mut ui, KeyCode::Enter);
    check(&mut ui, "sensor ~ line1");
    type_and_load(&mut ui, &db, "v");
    check(&mut ui, "sensor ~ line1, raised");
    // A wider range brings in the raise of two days ago.
    chars(&mut ui, "/");
    press(&mut ui, KeyCode::Esc);
    type_and_load(&mut ui, &db, "-");
    check(&mut ui, "7 days, raised");
    assert!(shown(&ui).iter().any(|r| r[0] == "line2.pressure"));
    assert!(checked > 10, "{checked} filters checked");
}
