//! Render time of one console frame (ratatui `TestBackend`, the same drawing
//! code the terminal uses): the 160x48 dashboard with 200 sensors, against a
//! baseline measured in the same run at the same size (the same terminal
//! filled with one styled blank frame, i.e. the cost of ratatui's buffer and
//! diff alone): 160x48 frames against the 160x48 blank, 80x24 against 80x24.
//!
//!     cargo bench --bench tui_render -- --warm-up-time 1 --measurement-time 3

#[allow(dead_code)]
#[path = "../tests/it/common/tui.rs"]
mod fixture;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{PLANT_TOML, config, large_plant, plant_state, ui_state};
use floorwatch::ui::keys::Action;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::Block;
use std::hint::black_box;

fn frames(c: &mut Criterion) {
    let config = config(PLANT_TOML);
    let mut group = c.benchmark_group("tui_frame");

    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let base = ui_state(&config, large_plant(200), 160, 48);
    let style = base.theme().base;
    group.bench_function("baseline_blank_160x48", |b| {
        b.iter(|| {
            terminal
                .draw(|f| f.render_widget(Block::new().style(black_box(style)), f.area()))
                .unwrap();
        })
    });

    let ui = ui_state(&config, large_plant(200), 160, 48);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    group.bench_function("dashboard_200_sensors_160x48", |b| {
        b.iter(|| {
            terminal
                .draw(|f| floorwatch::ui::draw::draw(f, black_box(&ui)))
                .unwrap();
        })
    });

    let ui = ui_state(&config, plant_state(&config), 80, 24);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    group.bench_function("baseline_blank_80x24", |b| {
        b.iter(|| {
            terminal
                .draw(|f| f.render_widget(Block::new().style(black_box(style)), f.area()))
                .unwrap();
        })
    });
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    group.bench_function("dashboard_plant_80x24", |b| {
        b.iter(|| {
            terminal
                .draw(|f| floorwatch::ui::draw::draw(f, black_box(&ui)))
                .unwrap();
        })
    });

    let mut ui = ui_state(&config, large_plant(500), 160, 48);
    ui.apply(Action::Filter);
    for c in "sensor 4".chars() {
        ui.filter.push(c);
    }
    ui.filter_editing = false;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    group.bench_function("dashboard_500_sensors_filtered_160x48", |b| {
        b.iter(|| {
            terminal
                .draw(|f| floorwatch::ui::draw::draw(f, black_box(&ui)))
                .unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
