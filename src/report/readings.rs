//! Raw readings: long format (one row per reading) or wide format (one row per
//! timestamp, one column per sensor). Both merge the sensors' range queries in
//! time order, holding one pending reading per sensor: constant memory.

use super::ReportError;
use super::points::{Cursor, Point, StoredSensor, TimeRange, quality_label};
use super::progress::Progress;
use super::table::Table;
use crate::model::{Quality, TimestampMs};
use crate::store::HistoryReader;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `timestamp,sensor,value,unit,quality`, one row per reading.
    Long,
    /// `timestamp,<sensor>_<unit>,...`: good values aligned on timestamps, gaps empty.
    Wide,
}

/// Writes the readings of `sensors` in `range`; returns the number of data rows.
pub fn export_readings<W: Write>(
    history: &HistoryReader,
    sensors: &[StoredSensor],
    range: TimeRange,
    layout: Layout,
    table: &mut Table<W>,
    progress: &mut Progress,
) -> Result<u64, ReportError> {
    let cursors = sensors
        .iter()
        .map(|sensor| Cursor::open(history, sensor, range))
        .collect();
    let mut merge = Merge::new(cursors)?;
    match layout {
        Layout::Long => write_long(&mut merge, sensors, table, progress),
        Layout::Wide => write_wide(&mut merge, sensors, table, progress),
    }
}

fn write_long<W: Write>(
    merge: &mut Merge<'_>,
    sensors: &[StoredSensor],
    table: &mut Table<W>,
    progress: &mut Progress,
) -> Result<u64, ReportError> {
    let time = table.style().time_header("timestamp");
    table.header(&[time.as_str(), "sensor", "value", "unit", "quality"])?;
    let mut rows = 0;
    while let Some((index, p)) = merge.next()? {
        let sensor = &sensors[index];
        table.time(p.ts)?;
        table.text(&sensor.tag)?;
        table.number(p.value)?;
        table.text(&sensor.unit)?;
        table.text(quality_label(p.quality))?;
        table.end_row()?;
        rows += 1;
        progress.add(1);
    }
    Ok(rows)
}

fn write_wide<W: Write>(
    merge: &mut Merge<'_>,
    sensors: &[StoredSensor],
    table: &mut Table<W>,
    progress: &mut Progress,
) -> Result<u64, ReportError> {
    let mut header = vec![table.style().time_header("timestamp")];
    header.extend(sensors.iter().map(wide_column_name));
    table.header(&header)?;
    let mut cells: Vec<Option<f64>> = vec![None; sensors.len()];
    let mut current: Option<TimestampMs> = None;
    let mut rows = 0;
    while let Some((index, p)) = merge.next()? {
        progress.add(1);
        if let Some(ts) = current
            && ts != p.ts
        {
            write_wide_row(table, ts, &mut cells)?;
            rows += 1;
        }
        current = Some(p.ts);
        if p.quality == Quality::Good {
            cells[index] = Some(p.value);
        }
    }
    if let Some(ts) = current {
        write_wide_row(table, ts, &mut cells)?;
        rows += 1;
    }
    Ok(rows)
}

/// `line1.temp_°C`, or just the tag when the sensor has no unit.
pub fn wide_column_name(sensor: &StoredSensor) -> String {
    if sensor.unit.is_empty() {
        sensor.tag.clone()
    } else {
        format!("{}_{}", sensor.tag, sensor.unit)
    }
}

fn write_wide_row<W: Write>(
    table: &mut Table<W>,
    ts: TimestampMs,
    cells: &mut [Option<f64>],
) -> Result<(), ReportError> {
    table.time(ts)?;
    for cell in cells.iter_mut() {
        table.optional_number(cell.take())?;
    }
    table.end_row()?;
    Ok(())
}

/// Merges per-sensor cursors (each already in time order) into one stream
/// ordered by time, then by sensor position.
struct Merge<'s> {
    cursors: Vec<Cursor<'s>>,
    heads: Vec<Option<Point>>,
    heap: BinaryHeap<Reverse<(TimestampMs, usize)>>,
}

impl<'s> Merge<'s> {
    fn new(mut cursors: Vec<Cursor<'s>>) -> Result<Self, ReportError> {
        let mut heads = Vec::with_capacity(cursors.len());
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (index, cursor) in cursors.iter_mut().enumerate() {
            let head = cursor.next_point()?;
            if let Some(p) = head {
                heap.push(Reverse((p.ts, index)));
            }
            heads.push(head);
        }
        Ok(Merge {
            cursors,
            heads,
            heap,
        })
    }

    fn next(&mut self) -> Result<Option<(usize, Point)>, ReportError> {
        let Some(Reverse((_, index))) = self.heap.pop() else {
            return Ok(None);
        };
        let Some(point) = self.heads[index] else {
            return Ok(None);
        };
        let head = self.cursors[index].next_point()?;
        if let Some(p) = head {
            self.heap.push(Reverse((p.ts, index)));
        }
        self.heads[index] = head;
        Ok(Some((index, point)))
    }
}
