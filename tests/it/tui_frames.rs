//! The console writes a frame only when a cell changes: a redraw of the
//! same screen, or a reading of a sensor on another page, writes no byte;
//! a frame that changes something is written whole inside synchronized-output
//! brackets.

use crate::common;

use common::tui::{NOW, chars, large_plant, ui_state};
use floorwatch::config::Config;
use floorwatch::model::Reading;
use floorwatch::ui::screen::Screen;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

/// Everything written to the terminal.
#[derive(Clone, Default)]
struct Tty(Rc<RefCell<Vec<u8>>>);

impl Write for Tty {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Tty {
    fn written(&self) -> usize {
        self.0.borrow().len()
    }
    fn since(&self, from: usize) -> Vec<u8> {
        self.0.borrow()[from..].to_vec()
    }
}

fn screen(tty: &Tty, width: u16, height: u16) -> Screen<Tty> {
    let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
    let backend = CrosstermBackend::new(tty.clone());
    Screen::new(Terminal::with_options(backend, TerminalOptions { viewport }).unwrap())
}

#[test]
fn only_frames_that_change_a_cell_are_written() {
    let config: Config = toml::from_str("").unwrap();
    let mut ui = ui_state(&config, large_plant(500), 80, 24);
    let tty = Tty::default();
    let mut screen = screen(&tty, 80, 24);

    assert!(screen.show(&ui).unwrap(), "the first frame is written");
    let first = tty.since(0);
    assert!(first.windows(BEGIN_SYNC.len()).any(|w| w == BEGIN_SYNC));
    assert!(first.ends_with(END_SYNC));

    let before = tty.written();
    assert!(!screen.show(&ui).unwrap(), "the same screen again");
    assert_eq!(tty.written(), before, "no byte for an unchanged frame");

    // A new reading of the last sensor, on a page not shown at 80x24.
    let mut live = (*ui.live).clone();
    live.apply(&Reading::good("area24.s499", NOW, 12.5));
    ui.on_snapshot(Arc::new(live));
    assert!(!screen.show(&ui).unwrap(), "an off-screen reading");
    assert_eq!(tty.written(), before);

    // A key that changes the screen: the frame is written, bracketed.
    chars(&mut ui, "?");
    assert!(screen.show(&ui).unwrap(), "help opened");
    let help = tty.since(before);
    assert!(
        help.starts_with(BEGIN_SYNC),
        "{:?}",
        &help[..16.min(help.len())]
    );
    assert!(help.ends_with(END_SYNC));

    let after_help = tty.written();
    assert!(!screen.show(&ui).unwrap());
    assert_eq!(tty.written(), after_help);
}
