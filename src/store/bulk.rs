//! Bulk loading for imports, whatever the backend. Readings are keyed on
//! (sensor, ts), so loading the same data twice stores it once; each row
//! written is counted as new, already stored, or updated (another value or
//! quality at that key: the later one wins).

use super::Result;
use super::sqlite::bulk::SqliteLoader;
use crate::model::{SensorMeta, TimestampMs};
use std::path::{Path, PathBuf};

/// One reading as stored: `sensor_id` from [`BulkLoader::sensor`], quality as its code.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BulkRow {
    pub sensor_id: i64,
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: i64,
}

/// What writing rows did, row by row: the three add up to the rows written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Inserted: the history had no reading at that sensor and time.
    pub new: u64,
    /// The history already had this value and quality there: nothing changed.
    pub duplicate: u64,
    /// The history had another value or quality there: this row replaced it.
    pub updated: u64,
}

impl WriteCounts {
    /// Rows written: new, duplicate or updated.
    pub fn total(&self) -> u64 {
        self.new + self.duplicate + self.updated
    }
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, other: Self) {
        self.new += other.new;
        self.duplicate += other.duplicate;
        self.updated += other.updated;
    }
}

/// A history opened for a bulk load.
pub struct BulkStore {
    backend: BulkBackend,
}

enum BulkBackend {
    Sqlite {
        conn: rusqlite::Connection,
        path: PathBuf,
    },
}

/// Opens the history file at `path` for a bulk load (creating it if needed).
pub fn open(path: &Path) -> Result<BulkStore> {
    Ok(BulkStore {
        backend: BulkBackend::Sqlite {
            conn: super::sqlite::bulk::open(path)?,
            path: path.to_owned(),
        },
    })
}

impl BulkStore {
    /// Sensor tags already in the history.
    pub fn known_sensors(&self) -> Result<Vec<String>> {
        match &self.backend {
            BulkBackend::Sqlite { conn, path } => super::sqlite::bulk::known_sensors(conn, path),
        }
    }

    /// A loader: explicit transactions, rows written in batches.
    pub fn loader(&self) -> Result<BulkLoader<'_>> {
        Ok(match &self.backend {
            BulkBackend::Sqlite { conn, path } => {
                BulkLoader::Sqlite(SqliteLoader::new(conn, path)?)
            }
        })
    }

    /// The history's name for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            BulkBackend::Sqlite { path, .. } => path.display().to_string(),
        }
    }
}

/// Writes rows in transactions the caller delimits; an unfinished load
/// (dropped between [`BulkLoader::begin`] and [`BulkLoader::commit`]) stores nothing.
pub enum BulkLoader<'c> {
    Sqlite(SqliteLoader<'c>),
}

/// Calls the same method on whichever backend the loader holds.
macro_rules! on_loader {
    ($self:expr, $l:ident => $call:expr) => {
        match $self {
            BulkLoader::Sqlite($l) => $call,
        }
    };
}

impl BulkLoader<'_> {
    pub fn begin(&mut self) -> Result<()> {
        on_loader!(self, l => l.begin())
    }

    pub fn commit(&mut self) -> Result<()> {
        on_loader!(self, l => l.commit())
    }

    /// Throws away everything since [`Self::begin`], including sensors created.
    pub fn rollback(&mut self) -> Result<()> {
        on_loader!(self, l => l.rollback())
    }

    /// Creates a sensor, or fills in its empty name/unit/group; its key.
    pub fn sensor(&mut self, meta: &SensorMeta) -> Result<i64> {
        on_loader!(self, l => l.sensor(meta))
    }

    /// Writes `rows` in the order given and counts what each did. Callers
    /// sort them by (sensor, ts); of two rows with the same key the later one
    /// is stored.
    pub fn write_rows(&mut self, rows: &[BulkRow]) -> Result<WriteCounts> {
        on_loader!(self, l => l.write_rows(rows))
    }
}
