//! Where things go on the dashboard. Shared by drawing and by navigation, so
//! the cursor moves exactly the way the screen is laid out.

use crate::engine::LiveState;
use crate::model::SensorId;
use ratatui::layout::{Constraint, Layout, Rect};
use std::collections::BTreeSet;

/// Below this the console shows "terminal too small" instead of the dashboard.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;
/// Rows of one sensor tile: name, value, gauge, sparkline.
pub const TILE_HEIGHT: u16 = 4;
pub const TILE_MIN_WIDTH: u16 = 24;
/// From this width on the alarm pane sits right of the tiles instead of below.
pub const WIDE: u16 = 120;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DashboardAreas {
    pub header: Rect,
    pub tiles: Rect,
    pub alarms: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect) -> (Rect, Rect, Rect) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    (header, body, footer)
}

pub fn dashboard(area: Rect) -> DashboardAreas {
    let (header, body, footer) = screen(area);
    let (tiles, alarms) = if area.width >= WIDE {
        let pane = (area.width * 2 / 5).min(64);
        let [tiles, alarms] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(pane)]).areas(body);
        (tiles, alarms)
    } else {
        let pane = (body.height / 3).clamp(4, 8);
        let [tiles, alarms] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(pane)]).areas(body);
        (tiles, alarms)
    };
    DashboardAreas {
        header,
        tiles,
        alarms,
        footer,
    }
}

/// Tiles per row for a tile area this wide.
pub fn columns(width: u16) -> usize {
    usize::from((width + 1) / (TILE_MIN_WIDTH + 1)).max(1)
}

/// One line of the tile grid: a group heading or a row of tiles.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Group {
        name: String,
        /// Sensors of the group that pass the filter.
        shown: usize,
        collapsed: bool,
    },
    /// Indexes into `LiveState::sensors`.
    Tiles(Vec<usize>),
}

impl Row {
    pub fn height(&self) -> u16 {
        match self {
            Row::Group { .. } => 1,
            Row::Tiles(_) => TILE_HEIGHT,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Row::Group { .. } => 1,
            Row::Tiles(t) => t.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Case-insensitive match of the filter against id, name and group.
pub fn matches(filter_lower: &str, id: &str, name: &str, group: &str) -> bool {
    filter_lower.is_empty()
        || [id, name, group]
            .iter()
            .any(|s| s.to_lowercase().contains(filter_lower))
}

/// The grid: groups in the order their first sensor appears, headings shown
/// unless every sensor is ungrouped.
pub fn rows(live: &LiveState, filter: &str, collapsed: &BTreeSet<String>, cols: usize) -> Vec<Row> {
    let filter = filter.to_lowercase();
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, sensor) in live.sensors.iter().enumerate() {
        let meta = &sensor.meta;
        let group = meta.group.as_str();
        let pos = match groups.iter().position(|(g, _)| *g == group) {
            Some(pos) => pos,
            None => {
                groups.push((group, Vec::new()));
                groups.len() - 1
            }
        };
        if matches(&filter, meta.id.as_str(), &meta.name, group) {
            groups[pos].1.push(i);
        }
    }
    let headings = groups.len() > 1 || groups.iter().any(|(g, _)| !g.is_empty());
    let mut out = Vec::new();
    for (name, members) in groups {
        if members.is_empty() {
            continue;
        }
        let is_collapsed = collapsed.contains(name);
        if headings {
            out.push(Row::Group {
                name: name.to_owned(),
                shown: members.len(),
                collapsed: is_collapsed,
            });
        }
        if !(headings && is_collapsed) {
            out.extend(members.chunks(cols.max(1)).map(|c| Row::Tiles(c.to_vec())));
        }
    }
    out
}

/// Splits rows into pages that fit `height`; each page holds at least one row.
pub fn pages(rows: &[Row], height: u16) -> Vec<std::ops::Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    let mut used = 0u16;
    for (i, row) in rows.iter().enumerate() {
        if i > start && used + row.height() > height {
            pages.push(start..i);
            start = i;
            used = 0;
        }
        used += row.height();
    }
    if start < rows.len() {
        pages.push(start..rows.len());
    }
    pages
}

/// What the dashboard cursor is on, by identity, so it stays put when
/// sensors are added or the filter changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    Group(String),
    Sensor(SensorId),
}

/// Row and column of the cursor in `rows`, if it is there.
pub fn locate(rows: &[Row], live: &LiveState, cursor: &Cursor) -> Option<(usize, usize)> {
    rows.iter()
        .enumerate()
        .find_map(|(r, row)| match (row, cursor) {
            (Row::Group { name, .. }, Cursor::Group(g)) if name == g => Some((r, 0)),
            (Row::Tiles(tiles), Cursor::Sensor(id)) => tiles
                .iter()
                .position(|i| live.sensors[*i].meta.id == *id)
                .map(|c| (r, c)),
            _ => None,
        })
}

pub fn cursor_at(rows: &[Row], live: &LiveState, row: usize, col: usize) -> Option<Cursor> {
    match rows.get(row)? {
        Row::Group { name, .. } => Some(Cursor::Group(name.clone())),
        Row::Tiles(tiles) => {
            let i = tiles.get(col.min(tiles.len().saturating_sub(1)))?;
            Some(Cursor::Sensor(live.sensors[*i].meta.id.clone()))
        }
    }
}

/// The group a row belongs to (the nearest heading above it).
pub fn group_of(rows: &[Row], row: usize) -> Option<&str> {
    rows[..=row.min(rows.len().saturating_sub(1))]
        .iter()
        .rev()
        .find_map(|r| match r {
            Row::Group { name, .. } => Some(name.as_str()),
            Row::Tiles(_) => None,
        })
}
