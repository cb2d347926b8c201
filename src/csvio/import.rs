//! `floorwatch import`: CSV files into the history, streaming (constant
//! memory), idempotent (readings upsert on sensor + time). Bad rows are
//! skipped and counted by reason; with `strict` the first bad row stops the
//! file and nothing from it is stored.

use super::{BadRow, CsvError, CsvOptions, CsvReader, ReadStats, RowOutcome};
use crate::store::StoreError;
use crate::store::bulk::BulkLoader;
use rusqlite::Connection;
use std::path::Path;
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
    /// Readings written (re-imported readings count again; they are stored once).
    pub stored: u64,
    pub sensors: usize,
    /// The first bad rows, in file order.
    pub examples: Vec<BadRow>,
    pub elapsed: Duration,
}

impl FileReport {
    pub fn rows_per_sec(&self) -> f64 {
        self.stats.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line for the terminal or a log: what was stored and what was skipped.
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let mut line = format!(
            "{}: {} rows, {} readings stored for {} sensor{}, {} missing values skipped",
            self.file,
            s.rows,
            self.stored,
            self.sensors,
            if self.sensors == 1 { "" } else { "s" },
            s.missing
        );
        if s.empty_rows > 0 {
            line.push_str(&format!(" ({} rows without any value)", s.empty_rows));
        }
        let bad = s.bad_rows();
        if bad == 0 {
            line.push_str(", 0 bad rows");
        } else {
            let reasons: Vec<String> = s
                .bad
                .iter()
                .map(|(reason, n)| format!("{n} {}", reason.label()))
                .collect();
            line.push_str(&format!(
                ", {bad} bad rows skipped ({})",
                reasons.join(", ")
            ));
        }
        line.push_str(&format!(
            " in {:.2} s ({:.0} rows/s)",
            self.elapsed.as_secs_f64(),
            self.rows_per_sec()
        ));
        line
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// `--strict`: the first bad row; nothing from the file was stored.
    #[error("{row} (--strict: nothing from this file was stored)")]
    Strict { row: BadRow, rows_read: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Csv(e) => e.is_bad_input(),
            ImportError::Strict { .. } => true,
            ImportError::Store(_) => false,
        }
    }
}

/// Progress of the file being imported, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub bytes: u64,
    pub rows: u64,
}

/// Imports one file into an open history connection (see [`crate::store::bulk::open`]).
pub fn import_file(
    conn: &Connection,
    db: &Path,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<FileReport, ImportError> {
    let started = Instant::now();
    let mut reader = CsvReader::open(path, &options.csv)?;
    let mut loader = BulkLoader::new(conn, db)?;
    let mut examples = Vec::new();
    let mut batch = Vec::with_capacity(256);
    // Readings wait here to be sorted and written together (bounded: constant memory).
    let mut pending = Vec::with_capacity(SORT_CHUNK);
    let mut stored = 0u64;
    let mut since_commit = 0u64;
    let mut sensors = std::collections::HashSet::new();
    loader.begin()?;
    loop {
        batch.clear();
        let outcome = match reader.next_row(&mut batch) {
            Ok(Some(outcome)) => outcome,
            Ok(None) => break,
            Err(e) => {
                if !options.strict {
                    loader.readings(&pending)?;
                }
                finish_after_error(&mut loader, options.strict)?;
                return Err(e.into());
            }
        };
        if let RowOutcome::Skipped(row) = outcome {
            if options.strict {
                loader.rollback()?;
                return Err(ImportError::Strict {
                    row,
                    rows_read: reader.stats().rows,
                });
            }
            if examples.len() < options.keep_examples {
                examples.push(row);
            }
            continue;
        }
        for meta in reader.take_new_sensors() {
            loader.sensor(&meta)?;
            sensors.insert(meta.id);
        }
        pending.append(&mut batch);
        if pending.len() >= SORT_CHUNK {
            loader.readings(&pending)?;
            stored += pending.len() as u64;
            since_commit += pending.len() as u64;
            pending.clear();
        }
        if !options.strict && since_commit >= options.commit_every {
            loader.commit()?;
            loader.begin()?;
            since_commit = 0;
        }
        if reader.stats().rows % 8192 == 0 {
            progress(Progress {
                bytes: reader.bytes_read(),
                rows: reader.stats().rows,
            });
        }
    }
    // Wide files name their sensors in the header, even when every value is missing.
    for meta in reader.take_new_sensors() {
        loader.sensor(&meta)?;
        sensors.insert(meta.id);
    }
    loader.readings(&pending)?;
    stored += pending.len() as u64;
    loader.commit()?;
    progress(Progress {
        bytes: reader.bytes_read(),
        rows: reader.stats().rows,
    });
    Ok(FileReport {
        file: reader.name().to_owned(),
        stats: reader.stats().clone(),
        stored,
        sensors: sensors.len(),
        examples,
        elapsed: started.elapsed(),
    })
}

/// A file that cannot be read to its end: strict stores nothing, otherwise
/// what was read so far is kept (it was good).
fn finish_after_error(loader: &mut BulkLoader, strict: bool) -> Result<(), StoreError> {
    if strict {
        loader.rollback()
    } else {
        loader.commit()
    }
}
