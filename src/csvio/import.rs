//! `floorwatch import`: CSV files into the history, streaming (constant
//! memory), idempotent (one reading per sensor and time: a reading already
//! stored is counted, not stored again; another value at that sensor and
//! time replaces the stored one, counted as updated). Bad rows are skipped
//! and counted by reason; with `strict` the first bad row stops the file and
//! nothing from it is stored.

use super::reader::RawReading;
use super::{BadRow, CsvError, CsvOptions, CsvReader, ReadStats, RowOutcome};
use crate::model::SensorMeta;
use crate::store::StoreError;
use crate::store::bulk::{BulkLoader, BulkRow, BulkStore, WriteCounts};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

/// Readings sorted and written together.
const SORT_CHUNK: usize = 65_536;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub csv: CsvOptions,
    pub strict: bool,
    /// Readings per transaction when not strict (strict: the whole file).
    pub commit_every: u64,
    /// Bad rows kept in the report to show the user.
    pub keep_examples: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            csv: CsvOptions::default(),
            strict: false,
            commit_every: 1_000_000,
            keep_examples: 10,
        }
    }
}

/// What importing one file did.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub file: String,
    pub stats: ReadStats,
    /// What the file's readings did to the history: `written.total()` is
    /// `stats.readings`, `written.new` the rows the history gained.
    pub written: WriteCounts,
    pub sensors: usize,
    /// The first bad rows, in file order.
    pub examples: Vec<BadRow>,
    pub elapsed: Duration,
}

impl FileReport {
    pub fn rows_per_sec(&self) -> f64 {
        self.stats.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line for the terminal or a log (and for scripts, when piped):
    /// rows read, what their readings did to the history, what was skipped.
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let w = &self.written;
        let mut line = format!(
            "{}: {} rows read, {} readings for {} sensor{}: {} new, {} already stored, {} updated; {} missing values skipped",
            self.file,
            s.rows,
            w.total(),
            self.sensors,
            if self.sensors == 1 { "" } else { "s" },
            w.new,
            w.duplicate,
            w.updated,
            s.missing
        );
        if s.empty_rows > 0 {
            line.push_str(&format!(" ({} rows without any value)", s.empty_rows));
        }
        line.push_str(&format!(", {}", bad_rows_summary(s)));
        line.push_str(&format!(
            " in {:.2} s ({:.0} rows/s)",
            self.elapsed.as_secs_f64(),
            self.rows_per_sec()
        ));
        line
    }
}

/// `0 bad rows`, or how many were skipped for which reasons.
fn bad_rows_summary(stats: &ReadStats) -> String {
    let bad = stats.bad_rows();
    if bad == 0 {
        return "0 bad rows".into();
    }
    let reasons: Vec<String> = stats
        .bad
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.label()))
        .collect();
    format!("{bad} bad rows skipped ({})", reasons.join(", "))
}

/// What an import stopped by an unreadable file kept of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// Rolled back: `--strict`, or a damaged gzip whose text cannot be trusted.
    Nothing { strict: bool },
    /// The rows read before the error were good and are stored.
    RowsBefore { rows: u64, written: WriteCounts },
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::Nothing { strict: true } => {
                f.write_str("--strict: nothing from this file was stored")
            }
            Kept::Nothing { strict: false } => f.write_str(
                "nothing from this file was stored: text decompressed from damaged data cannot be trusted",
            ),
            Kept::RowsBefore { rows, written } => write!(
                f,
                "the {rows} rows before it were imported: {} new, {} already stored, {} updated",
                written.new, written.duplicate, written.updated
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// The file cannot be read on (a cut-off or damaged gzip, an
    /// unterminated quote...); what of it was stored is said.
    #[error("{source} ({kept})")]
    Unreadable { source: CsvError, kept: Kept },
    /// `--strict`: the first bad row; nothing from the file was stored.
    #[error("{row} (--strict: nothing from this file was stored)")]
    Strict { row: BadRow, rows_read: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller asked to stop (a replay closed while loading).
    #[error("stopped after {rows_read} rows")]
    Stopped { rows_read: u64 },
}

impl ImportError {
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Csv(e) => e.is_bad_input(),
            ImportError::Unreadable { source, .. } => source.is_bad_input(),
            ImportError::Strict { .. } => true,
            ImportError::Store(_) | ImportError::Stopped { .. } => false,
        }
    }
}

/// Progress of the file being imported, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub bytes: u64,
    pub rows: u64,
}

/// Imports one file into a history opened for bulk loading (see [`crate::store::bulk::open`]).
///
/// Two threads: one parses the file into chunks of readings, this one sorts
/// each chunk and writes it to SQLite, so parsing overlaps the B-tree work.
/// The channel between them holds at most two chunks: memory stays constant.
pub fn import_file(
    store: &BulkStore,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<FileReport, ImportError> {
    let started = Instant::now();
    let reader = CsvReader::open(path, &options.csv)?;
    let file = reader.name().to_owned();
    // A damaged gzip stream may decompress to wrong text before the damage
    // is detected (at worst by the checksum at its end): one transaction,
    // so none of it is kept.
    let one_transaction = options.strict || reader.is_compressed();
    let mut loader = store.loader()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let (strict, keep) = (options.strict, options.keep_examples);
    let (written, stats) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || parse_chunks(reader, strict, keep, &tx));
        let written = write_chunks(&mut loader, &rx, options, one_transaction, progress);
        // Stops the parser at its next chunk when writing failed.
        drop(rx);
        let stats = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (written, stats)
    });
    let written = written?;
    Ok(FileReport {
        file,
        stats,
        written: written.counts,
        sensors: written.sensors,
        examples: written.examples,
        elapsed: started.elapsed(),
    })
}

/// What the parsing thread hands the writer.
enum Parsed {
    Chunk(Chunk),
    /// `strict`: the first bad row, after this many rows.
    Strict(BadRow, u64),
    /// The file cannot be read on after this many rows.
    Failed(CsvError, u64),
}

struct Chunk {
    /// Sensors first seen in this chunk, in index order (before their readings).
    sensors: Vec<SensorMeta>,
    readings: Vec<RawReading>,
    examples: Vec<BadRow>,
    progress: Progress,
}

/// Reads the whole file into chunks of about [`SORT_CHUNK`] readings.
fn parse_chunks(
    mut reader: CsvReader,
    strict: bool,
    keep_examples: usize,
    tx: &SyncSender<Parsed>,
) -> ReadStats {
    let mut kept = 0;
    let mut chunk = new_chunk();
    loop {
        let outcome = match reader.next_row_raw(&mut chunk.readings) {
            Ok(Some(outcome)) => outcome,
            Ok(None) => break,
            Err(e) => {
                let _ = send_chunk(&mut reader, &mut chunk, tx);
                let _ = tx.send(Parsed::Failed(e, reader.stats().rows));
                return reader.stats().clone();
            }
        };
        if let RowOutcome::Skipped(row) = outcome {
            if strict {
                let _ = tx.send(Parsed::Strict(row, reader.stats().rows));
                return reader.stats().clone();
            }
            if kept < keep_examples {
                chunk.examples.push(row);
                kept += 1;
            }
        }
        if chunk.readings.len() >= SORT_CHUNK && send_chunk(&mut reader, &mut chunk, tx).is_err() {
            // The writer has stopped (its error is reported).
            return reader.stats().clone();
        }
    }
    // Also names the sensors of a wide file whose values were all missing.
    let _ = send_chunk(&mut reader, &mut chunk, tx);
    reader.stats().clone()
}

fn new_chunk() -> Chunk {
    Chunk {
        sensors: Vec::new(),
        readings: Vec::with_capacity(SORT_CHUNK + 1024),
        examples: Vec::new(),
        progress: Progress::default(),
    }
}

fn send_chunk(
    reader: &mut CsvReader,
    chunk: &mut Chunk,
    tx: &SyncSender<Parsed>,
) -> Result<(), std::sync::mpsc::SendError<Parsed>> {
    let mut full = std::mem::replace(chunk, new_chunk());
    full.sensors = reader.take_new_sensors();
    full.progress = Progress {
        bytes: reader.bytes_read(),
        rows: reader.stats().rows,
    };
    tx.send(Parsed::Chunk(full))
}

/// What the writer did with the chunks of one file.
struct Written {
    counts: WriteCounts,
    sensors: usize,
    examples: Vec<BadRow>,
}

fn write_chunks(
    loader: &mut BulkLoader<'_>,
    rx: &Receiver<Parsed>,
    options: &ImportOptions,
    one_transaction: bool,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Written, ImportError> {
    let mut written = Written {
        counts: WriteCounts::default(),
        sensors: 0,
        examples: Vec::new(),
    };
    // The file's sensor index → sensor_id in the history.
    let mut ids: Vec<i64> = Vec::new();
    let mut rows = Vec::with_capacity(SORT_CHUNK + 1024);
    let mut since_commit = 0u64;
    let begin = |loader: &mut BulkLoader<'_>| match one_transaction {
        true => loader.begin(),
        false => loader.begin_chunked(),
    };
    begin(loader)?;
    for parsed in rx {
        let chunk = match parsed {
            Parsed::Chunk(chunk) => chunk,
            Parsed::Strict(row, rows_read) => {
                loader.rollback()?;
                return Err(ImportError::Strict { row, rows_read });
            }
            Parsed::Failed(source, rows) => {
                let kept = keep_after_error(loader, &source, options.strict, rows, written.counts)?;
                return Err(ImportError::Unreadable { source, kept });
            }
        };
        for meta in &chunk.sensors {
            ids.push(loader.sensor(meta)?);
        }
        written.examples.extend(chunk.examples);
        sort_chunk(&chunk.readings, &ids, &mut rows);
        written.counts += loader.write_rows(&rows)?;
        since_commit += rows.len() as u64;
        if !one_transaction && since_commit >= options.commit_every {
            loader.commit()?;
            begin(loader)?;
            since_commit = 0;
        }
        if progress(chunk.progress).is_break() {
            // What was read so far is kept (all of it or, with strict, nothing).
            finish_after_error(loader, options.strict)?;
            return Err(ImportError::Stopped {
                rows_read: chunk.progress.rows,
            });
        }
    }
    loader.commit()?;
    ids.sort_unstable();
    ids.dedup();
    written.sensors = ids.len();
    Ok(written)
}

/// Orders a chunk by (sensor_id, ts) so the B-tree fills page by page: a
/// stable counting sort on the file's sensor index, then a stable sort of
/// any sensor whose times are not already ascending (files are usually in
/// time order, so that is rare). Stable: of two readings with the same key
/// the later one in the file is written last, and stored.
///
/// Every `sensor` index of `readings` is below `ids.len()`: the parser hands
/// out a sensor (in the chunk's `sensors`) before or with its first reading,
/// and the writer registers it before sorting, so the indexing cannot panic.
fn sort_chunk(readings: &[RawReading], ids: &[i64], out: &mut Vec<BulkRow>) {
    out.clear();
    out.resize(readings.len(), BulkRow::default());
    // Buckets in history-id order; `start[index]` is where that sensor's rows go.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| ids[i]);
    let mut start = vec![0usize; ids.len() + 1];
    for r in readings {
        start[r.sensor as usize] += 1;
    }
    let mut bounds = Vec::with_capacity(ids.len());
    let mut offset = 0;
    for &i in &order {
        let count = start[i];
        start[i] = offset;
        bounds.push(offset..offset + count);
        offset += count;
    }
    for r in readings {
        let slot = &mut start[r.sensor as usize];
        out[*slot] = BulkRow {
            sensor_id: ids[r.sensor as usize],
            ts: r.ts,
            value: r.value,
            quality: r.quality.code(),
        };
        *slot += 1;
    }
    for range in bounds {
        let bucket = &mut out[range];
        if !bucket.windows(2).all(|w| w[0].ts <= w[1].ts) {
            bucket.sort_by_key(|row| row.ts);
        }
    }
}

/// A file that cannot be read to its end: strict stores nothing, nor does a
/// damaged gzip (what it decompressed to may be wrong); otherwise the rows
/// read before the error are good and kept.
fn keep_after_error(
    loader: &mut BulkLoader<'_>,
    error: &CsvError,
    strict: bool,
    rows: u64,
    written: WriteCounts,
) -> Result<Kept, StoreError> {
    if strict || error.taints_what_was_read() {
        loader.rollback()?;
        Ok(Kept::Nothing { strict })
    } else {
        loader.commit()?;
        Ok(Kept::RowsBefore { rows, written })
    }
}

/// Stopped by the caller: strict stores nothing, otherwise what was read so
/// far is kept (it was good).
fn finish_after_error(loader: &mut BulkLoader<'_>, strict: bool) -> Result<(), StoreError> {
    if strict {
        loader.rollback()
    } else {
        loader.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Quality;

    fn raw(sensor: u32, ts: i64, value: f64) -> RawReading {
        RawReading {
            sensor,
            ts,
            value,
            quality: Quality::Good,
        }
    }

    #[test]
    fn chunks_sort_by_history_id_then_time_keeping_file_order_of_equal_keys() {
        // File sensors 0, 1, 2 are history ids 30, 10, 20.
        let ids = [30, 10, 20];
        let readings = [
            raw(0, 5, 1.0),
            raw(1, 7, 2.0),
            raw(2, 1, 3.0),
            raw(1, 3, 4.0), // out of time order for sensor 1
            raw(0, 6, 5.0),
            raw(1, 7, 6.0), // same key as the second reading: must come after it
        ];
        let mut out = Vec::new();
        sort_chunk(&readings, &ids, &mut out);
        let got: Vec<(i64, i64, f64)> = out.iter().map(|r| (r.sensor_id, r.ts, r.value)).collect();
        assert_eq!(
            got,
            vec![
                (10, 3, 4.0),
                (10, 7, 2.0),
                (10, 7, 6.0),
                (20, 1, 3.0),
                (30, 5, 1.0),
                (30, 6, 5.0),
            ]
        );
    }
}
