//! Throwaway schemas on a real server, for tests: each [`Scratch`] is a new
//! uniquely named schema, selected through the url's `search_path`, and
//! dropped with everything in it when the value is dropped.

use super::{PgConn, wait};
use crate::store::location::{Location, PgLocation};
use crate::store::{Result, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};

/// The server tests use: `FLOORWATCH_TEST_PG`, else the machine's own.
pub fn base_url() -> String {
    std::env::var("FLOORWATCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct Scratch {
    admin: PgConn,
    schema: String,
    url: String,
}

impl Scratch {
    /// Creates a schema on [`base_url`]'s server. An error when the server
    /// cannot be reached ([`StoreError::Unreachable`]) or refuses.
    pub fn create() -> Result<Scratch> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = base_url();
        let admin = PgConn::connect(&parse(&base)?)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!(
            "fw_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        wait(
            admin
                .client
                .batch_execute(&format!("CREATE SCHEMA {schema}")),
        )
        .map_err(|e| admin.err(e))?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        Ok(Scratch { admin, schema, url })
    }

    /// The url selecting this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn location(&self) -> Location {
        // The url was built from one that parsed, and only gained options.
        Location::Postgres(Box::new(
            parse(&self.url).unwrap_or_else(|_| self.admin.location.clone()),
        ))
    }

    /// Runs SQL in the schema (for tests that look under the interface).
    pub fn query_i64(&self, sql: &str) -> Result<Vec<i64>> {
        let sql = format!("SET search_path TO {}; {sql}", self.schema);
        let messages = wait(self.admin.client.simple_query(&sql)).map_err(|e| self.admin.err(e))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
                _ => None,
            })
            .collect())
    }
}

fn parse(url: &str) -> Result<PgLocation> {
    PgLocation::parse(url, None).map_err(|e| StoreError::Location(e.to_string()))
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = wait(
            self.admin
                .client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)),
        );
    }
}
