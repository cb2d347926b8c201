//! Random terminal sizes, resize storms and key sequences never panic the
//! console, on a small plant and on a 500-sensor plant.

use crate::common;

use common::tui::{PLANT_TOML, config, large_plant, plant_state, render, ui_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::ui::history::DetailData;
use floorwatch::ui::state::Effect;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Key(KeyCode, KeyModifiers),
    Resize(u16, u16),
    Tick(i64),
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        prop::sample::select("?q/aAsrietjklhgG[] +-=xyzS0Ü".chars().collect::<Vec<_>>())
            .prop_map(KeyCode::Char),
        prop::sample::select(vec![
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::F(1),
        ]),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (key_code(), prop::sample::select(vec![KeyModifiers::NONE, KeyModifiers::SHIFT, KeyModifiers::ALT]))
            .prop_map(|(c, m)| Step::Key(c, m)),
        2 => (0u16..=260, 0u16..=90).prop_map(|(w, h)| Step::Resize(w, h)),
        1 => (0i64..20_000).prop_map(Step::Tick),
    ]
}

fn run(steps: Vec<Step>, large: bool, width: u16, height: u16) {
    let config = config(PLANT_TOML);
    let live = if large {
        large_plant(500)
    } else {
        plant_state(&config)
    };
    let mut ui = ui_state(&config, live, width, height);
    render(&ui);
    for step in steps {
        let effects = match step {
            // Ctrl-C would end the session; everything else keeps it going.
            Step::Key(code, modifiers) => ui.on_event(&Event::Key(KeyEvent::new(code, modifiers))),
            Step::Resize(w, h) => ui.on_event(&Event::Resize(w, h)),
            Step::Tick(dt) => ui.on_tick(ui.now_ms + dt),
        };
        for effect in effects {
            if let Effect::LoadDetail(query) = effect {
                // Answer with an empty window: the console must draw it too.
                let data = DetailData {
                    sensor: query.sensor,
                    from: query.from,
                    to: query.to,
                    buckets: Vec::new(),
                    stats: None,
                    events: Vec::new(),
                };
                ui.on_history(query.request, Ok(data));
            }
        }
        render(&ui);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_size_and_key_sequence_is_safe(
        steps in prop::collection::vec(step(), 1..40),
        large in any::<bool>(),
        width in 0u16..=260,
        height in 0u16..=90,
    ) {
        run(steps, large, width, height);
    }
}

#[test]
fn degenerate_sizes() {
    for (w, h) in [
        (0, 0),
        (1, 1),
        (0, 24),
        (80, 0),
        (50, 14),
        (49, 14),
        (50, 13),
        (500, 3),
        (3, 200),
    ] {
        let steps = vec![
            Step::Key(KeyCode::Enter, KeyModifiers::NONE),
            Step::Key(KeyCode::Char('?'), KeyModifiers::NONE),
            Step::Key(KeyCode::Esc, KeyModifiers::NONE),
            Step::Key(KeyCode::Tab, KeyModifiers::NONE),
            Step::Key(KeyCode::Tab, KeyModifiers::NONE),
        ];
        run(steps.clone(), false, w, h);
        run(steps, true, w, h);
    }
}
