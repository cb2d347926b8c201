//! The invoice preview in the console: `i` on a meter asks the invoice
//! worker (the real one, on a real history file) for last month's invoice and
//! the consumption panel, `h`/`l` switch the month, `w` saves it.

use crate::billing_support;

use billing_support::*;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::ui::UiConfig;
use floorwatch::ui::invoice::{InvoiceAnswer, InvoiceJob, InvoiceRequest, spawn};
use floorwatch::ui::layout::Cursor;
use floorwatch::ui::state::{Effect, Screen, UiState};
use floorwatch::ui::theme::ColorSupport;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::Duration;

const CONFIG_EXTRA: &str = r#"
[[sensor]]
id = "line.temp"
name = "Line temperature"
unit = "°C"
sim = { signal = "temperature" }
"#;

const TARIFF: &str = "currency = \"BRL\"\nenergy = [ { price = 0.89 } ]\nmonthly_fee = 25.00";

fn press(ui: &mut UiState, c: char) -> Vec<Effect> {
    ui.on_event(&Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn screen_text(ui: &UiState) -> String {
    let mut terminal = Terminal::new(TestBackend::new(ui.size.width, ui.size.height)).unwrap();
    terminal
        .draw(|frame| floorwatch::ui::draw::draw(frame, ui))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
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

fn requests(effects: Vec<Effect>) -> Vec<InvoiceRequest> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Invoice(r) => Some(r),
            _ => None,
        })
        .collect()
}

struct Console {
    ui: UiState,
    tx: tokio::sync::mpsc::UnboundedSender<InvoiceJob>,
    db: std::path::PathBuf,
    rx: tokio::sync::mpsc::UnboundedReceiver<InvoiceAnswer>,
    runtime: tokio::runtime::Runtime,
}

impl Console {
    /// Sends the requests to the worker and feeds every answer to the state.
    fn perform(&mut self, requests: Vec<InvoiceRequest>) {
        let n = requests.len();
        for r in requests {
            self.tx.send((self.db.clone().into(), r)).unwrap();
        }
        for _ in 0..n {
            let rx = &mut self.rx;
            let answer = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), rx.recv()).await })
                .expect("the invoice worker answers within 20 s")
                .expect("the invoice worker is running");
            self.ui.on_invoice(answer);
        }
    }
}

fn console(plant: &Plant, save_dir: std::path::PathBuf) -> Console {
    let (ui_config, _) =
        UiConfig::from_config(&plant.config, ColorSupport::TrueColor, None).unwrap();
    let live = LiveState::new(&EngineConfig::default(), plant.config.sensor_metas());
    // 2026-11-10 12:00 UTC: the last complete month is October.
    let mut ui = UiState::new(
        Arc::new(ui_config),
        Arc::new(live),
        ts("2026-11-10T12:00:00Z"),
    );
    ui.size = ratatui::layout::Rect::new(0, 0, 100, 40);
    let (tx, rx) = spawn(Arc::new(plant.config.clone()), save_dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    Console {
        ui,
        tx,
        db: plant.db.clone(),
        rx,
        runtime,
    }
}

#[test]
fn i_previews_last_months_invoice_h_switches_month_and_w_saves_it() {
    let config = one_meter_config("UTC", "", TARIFF) + CONFIG_EXTRA;
    let plant = Plant::new(
        &config,
        steady(
            "m1",
            "2026-09-01T00:00:00Z",
            "2026-11-10T00:00:00Z",
            HOUR,
            0.5,
        ),
    );
    let save_dir = plant.dir.path().join("saved");
    let mut c = console(&plant, save_dir.clone());
    c.ui.cursor = Some(Cursor::Sensor("m1".into()));

    let asked = requests(press(&mut c.ui, 'i'));
    assert_eq!(c.ui.screen, Screen::Invoice);
    assert!(matches!(
        &asked[..],
        [
            InvoiceRequest::Preview { months_back: 1, .. },
            InvoiceRequest::Consumption { .. }
        ]
    ));
    assert!(screen_text(&c.ui).contains("computing the invoice"));
    c.perform(asked);
    // October: 372 kWh × 0.89 = 331.08 + 25.00 = 356.08
    let shown = screen_text(&c.ui);
    assert!(
        shown.contains("Invoice m1 · 2026-10 · total BRL 356.08"),
        "{shown}"
    );
    assert!(shown.contains("TOTAL DUE"), "{shown}");
    // The panel: November so far (9 days to the last reading) vs October.
    assert!(shown.contains("2026-11 so far 108.0 kWh"), "{shown}");
    assert!(shown.contains("2026-10 372.0 kWh"), "{shown}");

    let asked = requests(press(&mut c.ui, 'h'));
    assert!(matches!(
        &asked[..],
        [InvoiceRequest::Preview { months_back: 2, .. }]
    ));
    c.perform(asked);
    // September: 1 Sep 00:00 is the first reading; 720 h × 0.5 = 360 kWh → 320.40 + 25.00
    assert!(screen_text(&c.ui).contains("2026-09 · total BRL 345.40"));

    let asked = requests(press(&mut c.ui, 'w'));
    assert!(matches!(&asked[..], [InvoiceRequest::Save(_)]));
    c.perform(asked);
    let toast = c.ui.toast.clone().unwrap().text;
    let saved = save_dir.join("c1-m1-2026-09.txt");
    assert_eq!(toast, format!("saved {}", saved.display()));
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("BRL 345.40"), "{text}");

    press(&mut c.ui, 'l');
    let effects =
        c.ui.on_event(&Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert!(effects.is_empty());
    assert_eq!(c.ui.screen, Screen::Dashboard);
}

/// Meter m1 read hourly (0.5 kWh an hour) from 1 October to 10 November.
fn october_to_now() -> Plant {
    let config = one_meter_config("UTC", "", TARIFF) + CONFIG_EXTRA;
    Plant::new(
        &config,
        steady(
            "m1",
            "2026-10-01T00:00:00Z",
            "2026-11-10T00:00:00Z",
            HOUR,
            0.5,
        ),
    )
}

#[test]
fn i_on_a_sensor_that_is_not_a_meter_says_so_and_a_month_without_data_shows_why() {
    let plant = october_to_now();
    let mut c = console(&plant, plant.dir.path().join("saved"));
    c.ui.cursor = Some(Cursor::Sensor("line.temp".into()));
    assert!(press(&mut c.ui, 'i').is_empty());
    assert!(
        c.ui.toast
            .clone()
            .unwrap()
            .text
            .contains("line.temp is not a meter")
    );
    assert!(press(&mut c.ui, 'w').is_empty());
    assert!(
        c.ui.toast
            .clone()
            .unwrap()
            .text
            .contains("no invoice to save")
    );

    c.ui.cursor = Some(Cursor::Sensor("m1".into()));
    let asked = requests(press(&mut c.ui, 'i'));
    c.perform(asked);
    let asked = requests(press(&mut c.ui, 'h'));
    c.perform(asked);
    let shown = screen_text(&c.ui);
    assert!(
        shown.contains("meter \"m1\" has no readings in 2026-09"),
        "{shown}"
    );
}

#[test]
fn each_request_reads_the_history_file_it_names() {
    // What a replay on screen does: the same worker, another store.
    let plant = october_to_now();
    let mut c = console(&plant, plant.dir.path().join("saved"));
    c.ui.cursor = Some(Cursor::Sensor("m1".into()));
    let asked = requests(press(&mut c.ui, 'i'));
    c.perform(asked);
    assert!(screen_text(&c.ui).contains("2026-10 · total BRL"));

    let other = tempfile::tempdir().unwrap();
    c.db = other.path().join("replay.sqlite");
    press(&mut c.ui, 'l'); // back to this month and again to October
    let asked = requests(press(&mut c.ui, 'h'));
    c.perform(asked);
    let shown = screen_text(&c.ui);
    assert!(
        shown.contains("meter \"m1\" has no readings in 2026-10"),
        "{shown}"
    );
}
