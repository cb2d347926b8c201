//! The dashboard's tile grid: moving the cursor, pages, groups, and opening
//! a sensor's detail view. (The alarm pane beside it is in `alarms`.)

use super::{Effect, Focus, Screen, UiState};
use crate::ui::keys::Action;
use crate::ui::layout::{self, Cursor, Row};

impl UiState {
    /// The dashboard grid for the current size and filter.
    pub fn grid(&self) -> (Vec<Row>, layout::DashboardAreas) {
        let areas = layout::dashboard(self.size);
        let cols = layout::columns(areas.tiles.width);
        let rows = layout::rows(&self.live, &self.filter, &self.collapsed, cols);
        (rows, areas)
    }

    /// What the cursor is on as shown (the first sensor when it is lost).
    pub fn effective_cursor(&self) -> Option<Cursor> {
        let (rows, _) = self.grid();
        let (r, c) = self.cursor_position(&rows);
        layout::cursor_at(&rows, &self.live, r, c)
    }

    /// Row and column of the cursor; on the first sensor when it is lost.
    pub fn cursor_position(&self, rows: &[Row]) -> (usize, usize) {
        self.cursor
            .as_ref()
            .and_then(|c| layout::locate(rows, &self.live, c))
            .or_else(|| {
                rows.iter()
                    .position(|r| matches!(r, Row::Tiles(_)))
                    .map(|r| (r, 0))
            })
            .unwrap_or((0, 0))
    }

    pub(super) fn dashboard_action(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::NextPane {
            self.focus = match self.focus {
                Focus::Tiles => Focus::Alarms,
                Focus::Alarms => {
                    self.screen = Screen::Status;
                    Focus::Tiles
                }
            };
            return Vec::new();
        }
        if action == Action::Back {
            if self.focus == Focus::Alarms {
                self.focus = Focus::Tiles;
            } else {
                self.filter.clear();
            }
            return Vec::new();
        }
        if self.focus == Focus::Alarms {
            self.move_alarm_cursor(action);
            return Vec::new();
        }
        self.tiles_action(action)
    }

    fn tiles_action(&mut self, action: Action) -> Vec<Effect> {
        let (rows, areas) = self.grid();
        if rows.is_empty() {
            return Vec::new();
        }
        let (r, c) = self.cursor_position(&rows);
        let last_row = rows.len() - 1;
        let width = |row: usize| rows[row].len().max(1);
        let (nr, nc) = match action {
            Action::Down => ((r + 1).min(last_row), c),
            Action::Up => (r.saturating_sub(1), c),
            Action::Right if c + 1 < width(r) => (r, c + 1),
            Action::Right => ((r + 1).min(last_row), if r < last_row { 0 } else { c }),
            Action::Left if c > 0 => (r, c - 1),
            Action::Left if r > 0 => (r - 1, width(r - 1) - 1),
            Action::Left => (r, c),
            Action::PageDown | Action::PageUp => {
                let pages = layout::pages(&rows, areas.tiles.height);
                let page = pages.iter().position(|p| p.contains(&r)).unwrap_or(0);
                let target = if action == Action::PageDown {
                    (page + 1).min(pages.len().saturating_sub(1))
                } else {
                    page.saturating_sub(1)
                };
                (pages.get(target).map_or(r, |p| p.start), 0)
            }
            Action::First => (0, 0),
            Action::Last => (last_row, width(last_row) - 1),
            Action::NextGroup => (
                (r + 1..rows.len())
                    .find(|i| matches!(rows[*i], Row::Group { .. }))
                    .unwrap_or(r),
                0,
            ),
            Action::PrevGroup => {
                let heading = (0..=r)
                    .rev()
                    .find(|i| matches!(rows[*i], Row::Group { .. }));
                let before = heading
                    .and_then(|h| (0..h).rev().find(|i| matches!(rows[*i], Row::Group { .. })));
                // On a tile, go to its own heading first; on a heading, to the one before.
                let target = if heading == Some(r) { before } else { heading };
                (target.unwrap_or(r), 0)
            }
            Action::ToggleGroup => {
                self.toggle_group(&rows, r);
                return Vec::new();
            }
            Action::Detail => {
                return match &rows[r] {
                    Row::Group { .. } => {
                        self.toggle_group(&rows, r);
                        Vec::new()
                    }
                    Row::Tiles(tiles) => {
                        let i = tiles[c.min(tiles.len() - 1)];
                        let id = self.live.sensors[i].meta.id.clone();
                        self.open_detail(id)
                    }
                };
            }
            _ => (r, c),
        };
        let nc = nc.min(width(nr) - 1);
        self.cursor = layout::cursor_at(&rows, &self.live, nr, nc);
        Vec::new()
    }

    fn toggle_group(&mut self, rows: &[Row], row: usize) {
        let Some(group) = layout::group_of(rows, row).map(str::to_owned) else {
            return;
        };
        if !self.collapsed.remove(&group) {
            self.collapsed.insert(group.clone());
        }
        self.cursor = Some(Cursor::Group(group));
    }
}
