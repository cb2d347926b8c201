//! Replay in the console, on fixed data: the `r` picker, the replay keys, the
//! REPLAY badge and the replayed clock in the header.

use crate::common;

use common::tui::{PLANT_TOML, config, plant_state, render, text, ui_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::source::replay::{ReplayCommand, ReplayStatus, Speed};
use floorwatch::ui::state::{Effect, UiState};
use std::path::PathBuf;
use std::sync::Arc;

fn press(ui: &mut UiState, code: KeyCode) -> Vec<Effect> {
    ui.on_event(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn replaying(paused: bool) -> UiState {
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    live.set_replay(ReplayStatus {
        label: Arc::from("factory_day.csv"),
        position_ms: ms("2025-10-02T13:00:00Z"),
        start_ms: ms("2025-10-02T00:00:00Z"),
        end_ms: ms("2025-10-03T00:00:00Z"),
        speed: Speed::Times(60.0),
        paused,
        finished: false,
        sent: 0,
        generation: 0,
    });
    ui_state(&config, live, 100, 30)
}

#[test]
fn r_opens_the_picker_and_enter_replays_the_chosen_file() {
    let config = config(PLANT_TOML);
    let mut ui = ui_state(&config, plant_state(&config), 100, 30);
    assert_eq!(
        press(&mut ui, KeyCode::Char('r')),
        [Effect::OpenReplayPicker]
    );
    let files = vec![
        PathBuf::from("fixtures/bad_rows.csv"),
        PathBuf::from("fixtures/factory_day.csv"),
    ];
    ui.open_replay_picker(files, "fixtures");
    let screen = text(&render(&ui));
    assert!(screen.contains("Replay a CSV file"), "{screen}");
    assert!(screen.contains("fixtures/factory_day.csv"), "{screen}");
    assert!(press(&mut ui, KeyCode::Down).is_empty());
    assert_eq!(
        press(&mut ui, KeyCode::Enter),
        [Effect::StartReplay(PathBuf::from(
            "fixtures/factory_day.csv"
        ))]
    );
    assert!(ui.overlay.is_none());
    // Esc closes the picker without replaying; with no files there is a toast.
    ui.open_replay_picker(vec![PathBuf::from("a.csv")], "fixtures");
    assert!(press(&mut ui, KeyCode::Esc).is_empty());
    assert!(ui.overlay.is_none());
    ui.open_replay_picker(Vec::new(), "fixtures");
    assert!(
        ui.toast
            .as_ref()
            .unwrap()
            .text
            .contains("no CSV files in fixtures")
    );
}

#[test]
fn replay_keys_send_replay_commands() {
    let mut ui = replaying(false);
    let cases = [
        (KeyCode::Char(' '), ReplayCommand::TogglePause),
        (KeyCode::Char('>'), ReplayCommand::Faster),
        (KeyCode::Char('<'), ReplayCommand::Slower),
        (KeyCode::Char('n'), ReplayCommand::Step),
        (KeyCode::Char('f'), ReplayCommand::Jump(60_000)),
        (KeyCode::Char('b'), ReplayCommand::Jump(-60_000)),
        (KeyCode::Char('F'), ReplayCommand::Jump(3_600_000)),
        (KeyCode::Char('B'), ReplayCommand::Jump(-3_600_000)),
        (KeyCode::Char('0'), ReplayCommand::Restart),
    ];
    for (key, command) in cases {
        assert_eq!(press(&mut ui, key), [Effect::Replay(command)], "{key:?}");
    }
    // Seek: T, a time on the replayed day (in the plant zone, UTC here), Enter.
    assert!(press(&mut ui, KeyCode::Char('T')).is_empty());
    for c in "14:30".chars() {
        assert!(press(&mut ui, KeyCode::Char(c)).is_empty());
    }
    assert!(text(&render(&ui)).contains("seek to: 14:30"));
    assert_eq!(
        press(&mut ui, KeyCode::Enter),
        [Effect::Replay(ReplayCommand::Seek(ms(
            "2025-10-02T14:30:00Z"
        )))]
    );
    // Esc leaves a replay view started from the console.
    ui.replay_view = true;
    assert_eq!(press(&mut ui, KeyCode::Esc), [Effect::StopReplay]);
}

#[test]
fn the_header_shows_the_replay_badge_and_the_replayed_clock() {
    let ui = replaying(true);
    let screen = text(&render(&ui));
    let header = screen.lines().next().unwrap();
    assert!(header.contains(" REPLAY "), "{header}");
    assert!(header.contains("‖ paused ×60 54%"), "{header}");
    // The replayed time, not the wall clock.
    assert!(header.contains("2025-10-02 13:00:00 UTC"), "{header}");
    assert!(screen.contains("Space pause"), "{screen}");
}

/// At 80 columns (and the 50-column minimum) the replay's play state, speed
/// and progress stay whole, and a space stands before the replayed clock;
/// the source count goes first, then the plant's name shrinks.
#[test]
fn the_replay_header_keeps_speed_state_and_progress_at_80_columns() {
    for (paused, state) in [(false, "▶ ×60 54%"), (true, "‖ paused ×60 54%")] {
        for width in [80, 60, 50] {
            let mut ui = replaying(paused);
            ui.size = ratatui::layout::Rect::new(0, 0, width, 24);
            let screen = text(&render(&ui));
            let header = screen.lines().next().unwrap().to_owned();
            assert!(header.contains(state), "{width}: {header}");
            assert!(header.contains(" REPLAY "), "{width}: {header}");
            // The replayed date goes before the replay's state does; the time stays.
            let clock = header
                .find("2025-10-02 13:00:00")
                .or_else(|| header.find("13:00:00"))
                .expect("the replayed clock");
            assert!(header[..clock].ends_with(' '), "{width}: {header}");
            if width == 80 && !paused {
                insta::assert_snapshot!("replay_header_80x24", header);
            }
        }
    }
}

fn detail_query(effects: Vec<Effect>) -> floorwatch::ui::history::DetailQuery {
    match effects.as_slice() {
        [Effect::LoadDetail(q)] => q.clone(),
        other => panic!("expected one history request, got {other:?}"),
    }
}

#[test]
fn detail_and_export_in_a_replay_cover_the_replayed_time_not_the_wall_clock() {
    use floorwatch::report::{TimeRange, View};
    let mut ui = replaying(true);
    let at = ms("2025-10-02T13:00:00Z");
    let query = detail_query(press(&mut ui, KeyCode::Enter));
    assert_eq!((query.from, query.to), (at - 3_600_000, at));
    // Panning goes back from the replayed time, and the title says so.
    let panned = detail_query(press(&mut ui, KeyCode::Left));
    assert_eq!(panned.to, at - 1_800_000);
    let screen = text(&render(&ui));
    assert!(screen.contains("1h to 10-02 12:30"), "{screen}");
    detail_query(press(&mut ui, KeyCode::End));
    match press(&mut ui, KeyCode::Char('e')).as_slice() {
        [Effect::Export(View::Readings { sensors, range })] => {
            assert_eq!(sensors, &[query.sensor.to_string()]);
            assert_eq!(
                *range,
                TimeRange {
                    from: at - 3_600_000,
                    to: at + 1
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // The dashboard exports the live window before the replayed time.
    press(&mut ui, KeyCode::Esc);
    match press(&mut ui, KeyCode::Char('e')).as_slice() {
        [Effect::Export(View::Readings { range, .. })] => {
            assert_eq!(range.to, at + 1);
            assert_eq!(range.from, at - 15 * 60_000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_detail_view_follows_the_replayed_clock_both_ways() {
    let mut ui = replaying(false);
    let at = ms("2025-10-02T13:00:00Z");
    detail_query(press(&mut ui, KeyCode::Enter));
    let mut live = (*ui.live).clone();
    let mut moved = |ui: &mut UiState, position_ms: i64| {
        let mut status = live.replay.clone().unwrap();
        status.position_ms = position_ms;
        status.generation += 1;
        live.set_replay(status);
        ui.on_snapshot(Arc::new(live.clone()));
        ui.on_tick(ui.now_ms + 1_000)
    };
    // Ten replayed minutes later (wall clock: one second) the window moves on…
    let query = detail_query(moved(&mut ui, at + 600_000));
    assert_eq!(query.to, at + 600_000);
    // …and after a seek back it moves back.
    let query = detail_query(moved(&mut ui, at - 3_600_000));
    assert_eq!(query.to, at - 3_600_000);
    // A small step does not reload the history.
    assert!(moved(&mut ui, at - 3_600_000 + 1_000).is_empty());
}

#[test]
fn loading_shows_progress_and_esc_cancels() {
    use floorwatch::source::replay::LoadProgress;
    let config = config(PLANT_TOML);
    let mut live = plant_state(&config);
    live.replay_loading = Some(LoadProgress {
        file: Arc::from("factory_day.csv"),
        bytes: 42,
        total_bytes: 100,
        rows: 1_200_000,
    });
    let mut ui = ui_state(&config, live, 100, 30);
    ui.replay_view = true;
    let screen = text(&render(&ui));
    let header = screen.lines().next().unwrap();
    assert!(header.contains(" REPLAY  loading 42%"), "{header}");
    let footer = screen.lines().last().unwrap();
    assert!(
        footer.contains("loading factory_day.csv 42% (1.2 M rows)  Esc cancel"),
        "{footer}"
    );
    // Nothing to pause yet; Esc goes back to the live plant.
    assert!(
        !press(&mut ui, KeyCode::Char(' '))
            .iter()
            .any(|e| matches!(e, Effect::Replay(_)))
    );
    assert_eq!(press(&mut ui, KeyCode::Esc), [Effect::StopReplay]);
}

#[test]
fn a_replay_starts_on_its_dashboard_and_leaving_restores_the_live_detail() {
    use floorwatch::ui::state::Screen;
    use floorwatch::ui::state::replay::{enter, leave};
    let config = config(PLANT_TOML);
    let mut ui = ui_state(&config, plant_state(&config), 100, 30);
    let live_query = detail_query(press(&mut ui, KeyCode::Enter));
    let saved = enter(&mut ui);
    assert_eq!(ui.screen, Screen::Dashboard);
    assert!(ui.detail.is_none() && ui.replay_view);
    // Back: the same sensor's detail, asked again of the (live) history.
    let again = detail_query(leave(&mut ui, saved));
    assert_eq!(ui.screen, Screen::Detail);
    assert!(!ui.replay_view);
    assert_eq!(
        (&again.sensor, again.from, again.to),
        (&live_query.sensor, live_query.from, live_query.to)
    );
    assert!(again.request > live_query.request);
}
