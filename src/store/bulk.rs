//! Bulk loading for imports, whatever the backend. Readings are keyed on
//! (sensor, ts), so loading the same data twice stores it once; each row
//! written is counted as new, already stored, or updated (another value or
//! quality at that key: the later one wins).

use super::Result;
use super::location::Location;
use super::postgres::PgConn;
use super::postgres::bulk::PgLoader;
use super::sqlite::bulk::SqliteLoader;
use crate::model::{SensorMeta, TimestampMs};
use std::path::PathBuf;

/// One reading as stored: `sensor_id` from [`BulkLoader::sensor`], quality as its code.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BulkRow {
    pub sensor_id: i64,
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: i64,
}

#[cfg(test)]
impl BulkRow {
    /// A good-quality row.
    pub(crate) fn good(sensor_id: i64, ts: TimestampMs, value: f64) -> Self {
        BulkRow {
            sensor_id,
            ts,
            value,
            quality: 0,
        }
    }
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
    Postgres(Box<PgConn>),
}

/// Opens the history at `location` (a file path, or a [`Location`]) for a
/// bulk load (creating it if needed).
pub fn open(location: impl Into<Location>) -> Result<BulkStore> {
    let backend = match location.into() {
        Location::Sqlite(path) => BulkBackend::Sqlite {
            conn: super::sqlite::bulk::open(&path)?,
            path,
        },
        Location::Postgres(pg) => {
            BulkBackend::Postgres(Box::new(super::postgres::bulk::open(&pg)?))
        }
    };
    Ok(BulkStore { backend })
}

impl BulkStore {
    /// Sensor tags already in the history.
    pub fn known_sensors(&self) -> Result<Vec<String>> {
        match &self.backend {
            BulkBackend::Sqlite { conn, path } => super::sqlite::bulk::known_sensors(conn, path),
            BulkBackend::Postgres(conn) => super::postgres::bulk::known_sensors(conn),
        }
    }

    /// A loader: explicit transactions, rows written in batches.
    pub fn loader(&self) -> Result<BulkLoader<'_>> {
        Ok(match &self.backend {
            BulkBackend::Sqlite { conn, path } => {
                BulkLoader::Sqlite(Box::new(SqliteLoader::new(conn, path)?))
            }
            BulkBackend::Postgres(conn) => BulkLoader::Postgres(PgLoader::new(conn)),
        })
    }

    /// The history's name for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            BulkBackend::Sqlite { path, .. } => path.display().to_string(),
            BulkBackend::Postgres(conn) => conn.describe(),
        }
    }
}

/// Writes rows in transactions the caller delimits; an unfinished load
/// (dropped between [`BulkLoader::begin`] and [`BulkLoader::commit`]) stores nothing.
pub enum BulkLoader<'c> {
    Sqlite(Box<SqliteLoader<'c>>),
    Postgres(PgLoader<'c>),
}

/// Calls the same method on whichever backend the loader holds.
macro_rules! on_loader {
    ($self:expr, $l:ident => $call:expr) => {
        match $self {
            BulkLoader::Sqlite($l) => $call,
            BulkLoader::Postgres($l) => $call,
        }
    };
}

impl BulkLoader<'_> {
    /// Opens an all-or-nothing load: nothing is stored until [`Self::commit`].
    /// On PostgreSQL, writers' batches wait while it is open.
    pub fn begin(&mut self) -> Result<()> {
        on_loader!(self, l => l.begin())
    }

    /// Opens a load whose rows may be stored as they are written (what
    /// [`Self::commit`] keeps at the latest). On PostgreSQL each
    /// [`Self::write_rows`] commits on its own, so that loads and writers
    /// writing the same readings at once never deadlock; SQLite, with one
    /// writer at a time, keeps one transaction until commit.
    pub fn begin_chunked(&mut self) -> Result<()> {
        match self {
            BulkLoader::Sqlite(l) => l.begin(),
            BulkLoader::Postgres(l) => l.begin_chunked(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HistoryReader;

    #[test]
    fn loads_count_new_duplicate_and_updated_rows_alike_on_every_backend() {
        for h in crate::store::test_backends::all() {
            let store = open(&h.location).unwrap();
            let mut loader = store.loader().unwrap();
            loader.begin().unwrap();
            let meta = SensorMeta {
                id: "a".into(),
                ..Default::default()
            };
            let a = loader.sensor(&meta).unwrap();
            let first: Vec<BulkRow> = (0..100).map(|t| BulkRow::good(a, t, t as f64)).collect();
            let counts = |new, duplicate, updated| WriteCounts {
                new,
                duplicate,
                updated,
            };
            assert_eq!(loader.write_rows(&first).unwrap(), counts(100, 0, 0));
            assert_eq!(loader.write_rows(&first).unwrap(), counts(0, 100, 0));
            let mut second: Vec<BulkRow> =
                (50..150).map(|t| BulkRow::good(a, t, t as f64)).collect();
            second[10].value = -60.0;
            second[20].value = -70.0;
            second[30].quality = 2;
            second.insert(0, BulkRow::good(a, 149, 0.5));
            assert_eq!(
                loader.write_rows(&second).unwrap(),
                counts(50, 47, 4),
                "{}",
                h.location
            );
            loader.commit().unwrap();
            // An unfinished load stores nothing.
            loader.begin().unwrap();
            loader.write_rows(&[BulkRow::good(a, 1000, 1.0)]).unwrap();
            drop(loader);
            let reader = HistoryReader::open(&h.location).unwrap();
            assert_eq!(reader.total_readings().unwrap(), 150, "{}", h.location);
            assert_eq!(reader.range("a", 70, 71).unwrap()[0].value, -70.0);
            assert_eq!(reader.range("a", 149, 150).unwrap()[0].value, 149.0);
            assert_eq!(store.known_sensors().unwrap(), vec!["a".to_owned()]);
        }
    }
}
