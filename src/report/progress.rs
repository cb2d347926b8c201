//! Progress for long exports: a bar on stderr when it is a terminal, nothing
//! when piped or redirected (so output stays machine-readable).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Rows are reported in chunks so the bar costs nothing per row.
const CHUNK: u64 = 16 * 1024;

pub struct Progress {
    bar: Option<ProgressBar>,
    pending: u64,
}

impl Progress {
    /// Whether a bar would be shown (stderr is a terminal).
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal()
    }

    pub fn hidden() -> Self {
        Progress {
            bar: None,
            pending: 0,
        }
    }

    /// A bar counting rows towards `total` (a spinner when unknown).
    pub fn rows(total: Option<u64>, what: &str) -> Self {
        if !Self::wanted() {
            return Self::hidden();
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "{msg} {wide_bar} {human_pos}/{human_len} rows ({per_sec}, {eta} left)"
        } else {
            "{msg} {spinner} {human_pos} rows ({per_sec})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(what.to_owned());
        Progress {
            bar: Some(bar),
            pending: 0,
        }
    }

    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    pub fn add(&mut self, rows: u64) {
        let Some(bar) = &self.bar else { return };
        self.pending += rows;
        if self.pending >= CHUNK {
            bar.inc(self.pending);
            self.pending = 0;
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.inc(self.pending);
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
