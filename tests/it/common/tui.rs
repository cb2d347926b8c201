//! Fixed data for console tests and benchmarks: a small plant with every
//! kind of tile (in alarm, acknowledged, stale, bad, no data), sources in
//! different states, and a large generated plant.

use floorwatch::alarm::{AlarmState, AlarmView, Priority};
use floorwatch::config::Config;
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::model::{Quality, Reading, SensorMeta};
use floorwatch::source::raw::RawSample;
use floorwatch::source::{LinkState, SourceKind, SourceStatus};
use floorwatch::ui::UiConfig;
use floorwatch::ui::state::UiState;
use floorwatch::ui::theme::ColorSupport;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::path::Path;
use std::sync::Arc;

/// 2025-03-04 05:06:07 UTC.
pub const NOW: i64 = 1_741_064_767_000;

pub const PLANT_TOML: &str = r#"
[plant]
name = "Test plant"
timezone = "UTC"

[[mqtt]]
name = "plant-broker"
url = "mqtt://127.0.0.1:1883"

[[modbus]]
name = "meter-a"
url = "tcp://127.0.0.1:5020"

[[sensor]]
id = "line1.temp"
name = "Line 1 temperature"
unit = "°C"
group = "Line 1"
range = [0, 60]
mqtt = { broker = "plant-broker", topic = "factory/line1/temp", value = "/value" }
alarm = { hh = 40, h = 35 }

[[sensor]]
id = "line1.vibration"
name = "Line 1 vibration"
unit = "mm/s"
group = "Line 1"
range = [0, 10]
sim = { signal = "vibration" }
alarm = { hh = 7, h = 5 }

[[sensor]]
id = "line1.flow"
name = "Line 1 coolant flow"
unit = "l/min"
group = "Line 1"
range = [0, 200]
sim = { signal = "power" }

[[sensor]]
id = "line2.temp"
name = "Line 2 temperature"
unit = "°C"
group = "Line 2"
range = [0, 60]
sim = { signal = "temperature" }
alarm = { hh = 40, h = 35 }

[[sensor]]
id = "line2.pressure"
name = "Line 2 pressure"
unit = "bar"
group = "Line 2"
range = [0, 10]
sim = { signal = "power" }

[[sensor]]
id = "main.power"
name = "Main incomer power"
unit = "kW"
group = "Utilities"
range = [0, 120]
modbus = { device = "meter-a", table = "input", address = 0, type = "f32", order = "ABCD" }

[[sensor]]
id = "tenant-a.kwh"
name = "Tenant A energy"
unit = "kWh"
group = "Utilities"
sim = { signal = "energy" }
"#;

pub fn config(text: &str) -> Config {
    Config::parse(Path::new("test.toml"), text).expect("test config is valid")
}

/// Readings over the last 10 minutes, one every 5 s, a wave around `base`.
fn wave(state: &mut LiveState, id: &str, base: f64, amplitude: f64) {
    for i in 0..120 {
        let ts = NOW - (120 - i) * 5_000;
        let value = base + amplitude * ((i as f64) / 9.0).sin();
        state.apply(&Reading::good(id, ts, value));
    }
}

fn alarm(
    sensor: &str,
    condition: &str,
    priority: Priority,
    state: AlarmState,
    value: f64,
    ago_s: i64,
) -> AlarmView {
    AlarmView {
        key: format!("{sensor}/{condition}"),
        sensor: sensor.into(),
        condition: condition.into(),
        priority,
        state,
        value: Some(value),
        raised_ms: NOW - ago_s * 1000,
        acked_by: (state == AlarmState::Acknowledged).then(|| "ana".to_owned()),
        message: format!("{sensor} {condition}"),
    }
}

/// The small plant: every tile state, three alarms, three sources.
pub fn plant_state(config: &Config) -> LiveState {
    let engine = EngineConfig {
        plant: config.plant.name.clone(),
        ..EngineConfig::default()
    };
    let mut state = LiveState::new(&engine, config.sensor_metas());
    wave(&mut state, "line1.temp", 39.0, 3.0);
    wave(&mut state, "line1.vibration", 3.0, 1.0);
    wave(&mut state, "line1.flow", 120.0, 10.0);
    wave(&mut state, "line2.temp", 36.0, 0.5);
    wave(&mut state, "main.power", 80.0, 25.0);
    for i in 0..120 {
        state.apply(&Reading::good(
            "tenant-a.kwh",
            NOW - (120 - i) * 5_000,
            12_000.0 + i as f64 * 0.7,
        ));
    }
    let mut bad = Reading::good("line2.pressure", NOW - 2_000, 9999.0);
    bad.quality = Quality::Bad;
    state.apply(&bad);
    // The flow meter went silent: its last value must not look live.
    let flow = state
        .sensors
        .iter()
        .position(|s| s.meta.id.as_str() == "line1.flow")
        .unwrap();
    Arc::make_mut(&mut state.sensors[flow]).quality = Quality::Stale;
    // What the broker last delivered for line 1's temperature (detail view).
    state.set_raw(
        "line1.temp",
        RawSample::Mqtt {
            topic: "factory/line1/temp".into(),
            payload: bytes::Bytes::from_static(b"{\"v\": 41.8, \"unit\": \"C\"}"),
        },
    );
    let temp = state
        .sensors
        .iter()
        .position(|s| s.meta.id.as_str() == "line1.temp")
        .unwrap();
    Arc::make_mut(&mut state.sensors[temp]).last_arrival_ms = Some(NOW - 1_000);
    state.ensure_sensor(SensorMeta {
        id: "line2.speed".into(),
        name: "Line 2 conveyor speed".into(),
        unit: "m/s".into(),
        group: "Line 2".into(),
        range: None,
    });
    let mut mqtt = SourceStatus::new("plant-broker", SourceKind::Mqtt);
    mqtt.state = LinkState::Connected;
    mqtt.messages = 5234;
    mqtt.rate = 12.5;
    mqtt.last_message_ms = Some(NOW - 300);
    mqtt.detail = vec![("subscriptions".into(), "3".into())];
    let mut modbus = SourceStatus::new("meter-a", SourceKind::Modbus);
    modbus.state = LinkState::BackingOff;
    modbus.errors = 7;
    modbus.messages = 120;
    modbus.last_message_ms = Some(NOW - 65_000);
    modbus.last_error = Some("connect to 127.0.0.1:5020: connection refused".into());
    let mut sim = SourceStatus::new("simulated", SourceKind::Simulated);
    sim.state = LinkState::Connected;
    sim.messages = 480;
    sim.rate = 4.0;
    sim.last_message_ms = Some(NOW - 1000);
    state.set_source_status(mqtt);
    state.set_source_status(modbus);
    state.set_source_status(sim);
    state.alarms = Arc::new(vec![
        alarm(
            "line2.temp",
            "h",
            Priority::High,
            AlarmState::Acknowledged,
            36.2,
            600,
        ),
        alarm(
            "line1.temp",
            "hh",
            Priority::Critical,
            AlarmState::Unacknowledged,
            41.8,
            45,
        ),
        alarm(
            "line1.temp",
            "h",
            Priority::High,
            AlarmState::Unacknowledged,
            36.1,
            120,
        ),
        alarm(
            "line1.flow",
            "stale",
            Priority::Medium,
            AlarmState::Shelved,
            118.0,
            900,
        ),
    ]);
    state.received = 6123;
    state.history.stored = 6100;
    state.history.duplicates = 20;
    state.history.superseded = 3;
    state.history.failing = Some("history file h.sqlite: database or disk is full".into());
    state.now_ms = NOW;
    state
}

/// `n` sensors in groups of 20, all with values and sparklines.
pub fn large_plant(n: usize) -> LiveState {
    let metas = (0..n)
        .map(|i| SensorMeta {
            id: format!("area{}.s{i:03}", i / 20).into(),
            name: format!("Area {} sensor {i}", i / 20),
            unit: "°C".into(),
            group: format!("Area {}", i / 20),
            range: Some((0.0, 100.0)),
        })
        .collect();
    let engine = EngineConfig {
        plant: "Large plant".into(),
        ..EngineConfig::default()
    };
    let mut state = LiveState::new(&engine, metas);
    let ids: Vec<String> = state
        .sensors
        .iter()
        .map(|s| s.meta.id.to_string())
        .collect();
    for (n, id) in ids.iter().enumerate() {
        for i in 0..60i64 {
            let value = 50.0 + 30.0 * ((i as usize + n) as f64 / 7.0).sin();
            state.apply(&Reading::good(id.as_str(), NOW - (60 - i) * 1000, value));
        }
    }
    let mut sim = SourceStatus::new("simulated", SourceKind::Simulated);
    sim.state = LinkState::Connected;
    state.set_source_status(sim);
    state.now_ms = NOW;
    state
}

pub fn ui_config(config: &Config, colors: ColorSupport) -> UiConfig {
    let (mut ui, warnings) = UiConfig::from_config(config, colors, None).expect("ui config");
    assert!(warnings.is_empty(), "{warnings:?}");
    ui.operator = "ana".into();
    ui.ascii = false;
    ui
}

pub fn ui_state(config: &Config, live: LiveState, width: u16, height: u16) -> UiState {
    let mut ui = UiState::new(
        Arc::new(ui_config(config, ColorSupport::TrueColor)),
        Arc::new(live),
        NOW,
    );
    ui.size = ratatui::layout::Rect::new(0, 0, width, height);
    ui
}

pub fn render(ui: &UiState) -> Buffer {
    let mut terminal =
        Terminal::new(TestBackend::new(ui.size.width, ui.size.height)).expect("test terminal");
    terminal
        .draw(|frame| floorwatch::ui::draw::draw(frame, ui))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row.
pub fn text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    let mut out = String::new();
    for (i, cell) in buffer.content.iter().enumerate() {
        out.push_str(cell.symbol());
        if (i + 1) % width == 0 {
            out.push('\n');
        }
    }
    out
}

/// One key press into the console's state.
pub fn press(
    ui: &mut UiState,
    code: crossterm::event::KeyCode,
) -> Vec<floorwatch::ui::state::Effect> {
    use crossterm::event::{Event, KeyEvent, KeyModifiers};
    ui.on_event(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Each character as a key press, in order.
pub fn chars(ui: &mut UiState, keys: &str) -> Vec<floorwatch::ui::state::Effect> {
    keys.chars()
        .flat_map(|c| press(ui, crossterm::event::KeyCode::Char(c)))
        .collect()
}
