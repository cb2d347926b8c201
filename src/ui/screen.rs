//! Puts frames on the terminal: each frame drawn only into ratatui's buffer
//! first, and written — inside synchronized-output brackets — only when a
//! cell differs from what the terminal shows. A redraw that changes nothing
//! (a tick, a reading of an off-screen sensor, the same value again) costs
//! the drawing and one buffer comparison, and writes no byte.

use super::draw;
use super::state::UiState;
use anyhow::{Context, Result};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use std::io::Write;

pub struct Screen<W: Write> {
    terminal: Terminal<CrosstermBackend<W>>,
    /// What the terminal shows (the last frame written).
    shown: Option<Buffer>,
    /// The `tui_terminal` bench's baseline: repaint every cell of every frame.
    full_redraw: bool,
}

impl<W: Write> Screen<W> {
    pub fn new(terminal: Terminal<CrosstermBackend<W>>) -> Self {
        Screen {
            terminal,
            shown: None,
            full_redraw: full_redraw_requested(),
        }
    }

    /// Draws `ui`; returns whether anything was written to the terminal.
    pub fn show(&mut self, ui: &UiState) -> Result<bool> {
        self.terminal
            .autoresize()
            .context("reading the terminal size")?;
        let mut frame = self.terminal.get_frame();
        draw::draw(&mut frame, ui);
        let drawn = self.terminal.current_buffer_mut();
        let unchanged = (self.shown.as_ref())
            .is_some_and(|shown| shown.area == drawn.area && shown.diff(drawn).is_empty());
        if unchanged && !self.full_redraw {
            // As after a written frame, the next one is drawn on a blank buffer.
            drawn.reset();
            return Ok(false);
        }
        let first = self.shown.replace(drawn.clone()).is_none();
        if first {
            // Hidden once (ratatui's own draw hides it again every frame);
            // dropping the terminal shows it again.
            self.terminal
                .hide_cursor()
                .context("writing to the terminal")?;
        }
        self.write_frame()?;
        Ok(true)
    }

    /// Writes the drawn buffer's changed cells, bracketed so the terminal
    /// shows the frame at once.
    fn write_frame(&mut self) -> Result<()> {
        crossterm::queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate)
            .context("writing to the terminal")?;
        self.terminal.flush().context("writing to the terminal")?;
        if self.full_redraw {
            repaint_every_cell(&mut self.terminal)?;
        }
        self.terminal.swap_buffers();
        crossterm::execute!(self.terminal.backend_mut(), EndSynchronizedUpdate)
            .context("writing to the terminal")?;
        Ok(())
    }
}

/// The `tui_terminal` bench's baseline (a console that repaints every cell of
/// every frame): only in a build with `--features bench-full-redraw`, and then
/// only with `FLOORWATCH_FULL_REDRAW=1`.
fn full_redraw_requested() -> bool {
    cfg!(feature = "bench-full-redraw") && std::env::var_os("FLOORWATCH_FULL_REDRAW").is_some()
}

#[cfg(feature = "bench-full-redraw")]
fn repaint_every_cell<W: Write>(terminal: &mut Terminal<CrosstermBackend<W>>) -> Result<()> {
    use ratatui::backend::Backend;
    let buffer = terminal.current_buffer_mut().clone();
    let cells = buffer.content.iter().enumerate().map(|(i, cell)| {
        let (x, y) = buffer.pos_of(i);
        (x, y, cell)
    });
    terminal
        .backend_mut()
        .draw(cells)
        .context("writing to the terminal")
}

#[cfg(not(feature = "bench-full-redraw"))]
fn repaint_every_cell<W: Write>(_terminal: &mut Terminal<CrosstermBackend<W>>) -> Result<()> {
    Ok(())
}
