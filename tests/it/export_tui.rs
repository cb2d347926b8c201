//! The console's export key: what each view exports, the toast with the path
//! or the error, and the file that view produces from a real history file.

use crate::common;
use crate::export_support;

use common::tui::{NOW, PLANT_TOML, config, plant_state, render, text, ui_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use export_support::{meta, parse_csv, write_history};
use floorwatch::model::Reading;
use floorwatch::report::{CsvStyle, ReportError, TimeRange, View, ViewTarget, export_view};
use floorwatch::store::AlarmEventRow;
use floorwatch::ui::state::{Effect, UiState};

fn press(ui: &mut UiState, code: KeyCode) -> Vec<Effect> {
    ui.on_event(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn key(ui: &mut UiState, c: char) -> Vec<Effect> {
    press(ui, KeyCode::Char(c))
}

fn plant() -> UiState {
    let config = config(PLANT_TOML);
    ui_state(&config, plant_state(&config), 100, 30)
}

fn exported(effects: Vec<Effect>) -> View {
    match effects.as_slice() {
        [Effect::Export(view)] => view.clone(),
        other => panic!("expected one export, got {other:?}"),
    }
}

const ALL: [&str; 7] = [
    "line1.temp",
    "line1.vibration",
    "line1.flow",
    "line2.temp",
    "line2.pressure",
    "main.power",
    "tenant-a.kwh",
];

#[test]
fn each_view_exports_what_it_shows() {
    let mut ui = plant();
    let live_window = 15 * 60_000; // [history] live_window default
    // Every sensor on the dashboard, the discovered `line2.speed` included.
    let mut shown: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
    shown.push("line2.speed".into());
    assert_eq!(
        exported(key(&mut ui, 'e')),
        View::Readings {
            sensors: shown,
            range: TimeRange {
                from: NOW - live_window,
                to: NOW + 1
            },
        }
    );
    assert!(ui.toast.as_ref().unwrap().text.contains("exporting"));

    // The filter narrows the dashboard, and so the export.
    key(&mut ui, '/');
    for c in "line 2".chars() {
        key(&mut ui, c);
    }
    press(&mut ui, KeyCode::Enter);
    match exported(key(&mut ui, 'e')) {
        View::Readings { sensors, .. } => {
            assert_eq!(sensors, ["line2.temp", "line2.pressure", "line2.speed"])
        }
        other => panic!("{other:?}"),
    }
    press(&mut ui, KeyCode::Esc);
    key(&mut ui, '/');
    press(&mut ui, KeyCode::Esc);

    // The detail view: its sensor over its window (1 h by default).
    press(&mut ui, KeyCode::Enter);
    assert_eq!(
        exported(key(&mut ui, 'e')),
        View::Readings {
            sensors: vec!["line1.temp".into()],
            range: TimeRange {
                from: NOW - 3_600_000,
                to: NOW + 1
            },
        }
    );
    press(&mut ui, KeyCode::Esc);

    // The alarm pane: the journal of the alarms it lists, since the oldest was raised.
    press(&mut ui, KeyCode::Tab);
    assert_eq!(
        exported(key(&mut ui, 'e')),
        View::AlarmJournal {
            range: TimeRange {
                from: NOW - 900_000,
                to: NOW + 1
            },
            priorities: vec![],
            sensors: vec![
                "line1.flow".into(),
                "line1.temp".into(),
                "line2.temp".into()
            ],
            events: vec![],
            states: vec![],
        }
    );
}

#[test]
fn the_toast_shows_the_path_or_the_error() {
    let mut ui = plant();
    ui.on_export(Ok((
        "/var/exports/dashboard-20250304-050607.csv".into(),
        840,
    )));
    let screen = text(&render(&ui));
    assert!(
        screen.contains("exported 840 rows to /var/exports/dashboard-20250304-050607.csv"),
        "{screen}"
    );
    ui.on_export(Err(ReportError::File {
        path: "/var/exports".into(),
        source: std::io::Error::from_raw_os_error(13),
    }));
    let screen = text(&render(&ui));
    assert!(
        screen.contains("export failed: /var/exports: Permission denied"),
        "{screen}"
    );
    // The status screen has nothing to export, and says so.
    key(&mut ui, 'S');
    assert!(key(&mut ui, 'e').is_empty());
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("nothing to export")
    );
}

#[test]
fn the_views_exports_land_in_timestamped_files_with_just_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let mut readings = Vec::new();
    for s in ALL {
        // Every minute for the last 2 hours, and one reading in the future.
        for m in 0..=120 {
            readings.push(Reading::good(s, NOW - m * 60_000, m as f64));
        }
        readings.push(Reading::good(s, NOW + 60_000, -1.0));
    }
    let alarm = |ts: i64, sensor: &str, event: &str| AlarmEventRow {
        ts,
        sensor: sensor.into(),
        condition: "h".into(),
        event: event.into(),
        state: String::new(),
        value: Some(36.0),
        priority: "high".into(),
        operator: "ana".into(),
        comment: String::new(),
        ..Default::default()
    };
    write_history(
        &db,
        ALL.iter().map(|s| meta(s, "u")).collect(),
        readings,
        vec![
            alarm(NOW - 2_000_000, "line2.temp", "raised"),
            alarm(NOW - 600_000, "line2.temp", "raised"),
            alarm(NOW - 60_000, "main.power", "raised"),
            alarm(NOW - 30_000, "line1.temp", "acked"),
        ],
    );
    let target = ViewTarget {
        db: db.into(),
        dir: dir.path().join("exports"),
        style: CsvStyle::default(),
    };
    let mut ui = plant();

    let (path, rows) = export_view(&target, &exported(key(&mut ui, 'e')), NOW).unwrap();
    assert_eq!(
        path,
        dir.path().join("exports/dashboard-20250304-050607.csv")
    );
    // 15 minutes back from NOW inclusive: 16 readings per sensor.
    assert_eq!(rows, 16 * 7);
    let (_, csv_rows) = parse_csv(&std::fs::read_to_string(&path).unwrap(), b',');
    assert_eq!(csv_rows.len(), 16 * 7);

    press(&mut ui, KeyCode::Enter);
    let (path, rows) = export_view(&target, &exported(key(&mut ui, 'e')), NOW).unwrap();
    assert!(
        path.ends_with("readings-line1.temp-20250304-050607.csv"),
        "{path:?}"
    );
    assert_eq!(rows, 61, "the 1 h window as shown: both ends included");
    press(&mut ui, KeyCode::Esc);

    press(&mut ui, KeyCode::Tab);
    let (path, rows) = export_view(&target, &exported(key(&mut ui, 'e')), NOW).unwrap();
    assert!(path.ends_with("alarms-20250304-050607.csv"), "{path:?}");
    let (_, journal) = parse_csv(&std::fs::read_to_string(&path).unwrap(), b',');
    let events: Vec<(&str, &str)> = journal
        .iter()
        .map(|r| (r[1].as_str(), r[3].as_str()))
        .collect();
    // Since the oldest listed alarm was raised (15 min ago), listed sensors only.
    assert_eq!(events, [("line2.temp", "raised"), ("line1.temp", "acked")]);
    assert_eq!(rows, 2);
}
