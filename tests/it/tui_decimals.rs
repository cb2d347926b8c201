//! `decimals`: a GPS coordinate on the dashboard keeps the digits its
//! sensor (or frame field) asks for, instead of being rounded to ~1 km;
//! sensors without it keep the default formatting.

use crate::common;

use common::tui::{NOW, config, render, text, ui_state};
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::model::Reading;
use std::path::Path;

#[test]
fn gps_coordinates_are_shown_to_their_configured_decimals() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/valid/frames.toml");
    let config = config(&std::fs::read_to_string(path).unwrap());
    let mut live = LiveState::new(&EngineConfig::from_config(&config), config.sensor_metas());
    live.now_ms = NOW;
    // A discovered sensor of the /messenger pattern (field decimals = 6),
    // a configured one (decimals = 6) and one without decimals.
    live.apply(&Reading::good("0A3F73.lat", NOW - 1_000, -23.550_52));
    live.apply(&Reading::good("truck7.lat", NOW - 1_000, 51.507_351));
    live.apply(&Reading::good("0A3F73.speed", NOW - 1_000, 52.3));
    let screen = text(&render(&ui_state(&config, live, 100, 30)));
    assert!(screen.contains("-23.550520"), "{screen}");
    assert!(screen.contains("51.507351"), "{screen}");
    assert!(screen.contains(" 52.30 "), "{screen}");
}
