//! Replay in the console, on fixed data: the `r` picker, the replay keys, the
//! REPLAY badge and the replayed clock in the header.

mod common;

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
    assert!(header.contains("paused 54%"), "{header}");
    // The replayed time, not the wall clock.
    assert!(header.contains("2025-10-02 13:00:00 UTC"), "{header}");
    assert!(screen.contains("Space pause"), "{screen}");
}
