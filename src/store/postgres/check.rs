//! `db check` on PostgreSQL. The server guards the pages itself, so what
//! floorwatch checks is its own schema: the version, the readings table and
//! its monthly partitions (each attached, with the bounds its name says),
//! readings of no sensor (full check only) and,
//! when the database has the `amcheck` extension, every B-tree index of
//! floorwatch's tables (`bt_index_check`; the full check also verifies that
//! every heap row is in its index).

use super::schema::{self, PG_SCHEMA_VERSION};
use super::{PgConn, wait};
use crate::store::location::PgLocation;
use crate::store::sqlite::check::{CheckMode, CheckOutcome, MAX_PROBLEMS};

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// Checks the history at `location`.
pub fn check(location: &PgLocation, mode: CheckMode) -> CheckOutcome {
    let conn = match PgConn::connect(location) {
        Ok(conn) => conn,
        Err(e) => return CheckOutcome::Failed(e.to_string()),
    };
    let version = match schema::found_version(&conn) {
        Ok(version) => version,
        Err(e) => return CheckOutcome::Failed(e.to_string()),
    };
    if version < PG_SCHEMA_VERSION {
        return CheckOutcome::Corrupt(vec![format!(
            "schema version {version}, this floorwatch writes {PG_SCHEMA_VERSION}: \
             `floorwatch db migrate` brings it up to date"
        )]);
    }
    match problems(&conn, mode) {
        Ok(found) if found.is_empty() => CheckOutcome::Ok,
        Ok(mut found) => {
            found.truncate(MAX_PROBLEMS);
            CheckOutcome::Corrupt(found)
        }
        Err(e) => CheckOutcome::Failed(conn.err(e).to_string()),
    }
}

fn problems(conn: &PgConn, mode: CheckMode) -> PgResult<Vec<String>> {
    let mut found = misplaced_partitions(conn)?;
    if matches!(mode, CheckMode::Full) {
        found.extend(readings_of_no_sensor(conn)?);
    }
    found.extend(damaged_indexes(conn, mode)?);
    Ok(found)
}

/// Readings whose sensor is not in `sensors` (no foreign key guards it:
/// floorwatch creates each sensor before its readings). Reads every reading.
fn readings_of_no_sensor(conn: &PgConn) -> PgResult<Option<String>> {
    let row = wait(conn.client.query_one(
        "SELECT count(*), count(DISTINCT r.sensor_id) FROM readings r
         WHERE NOT EXISTS (SELECT 1 FROM sensors s WHERE s.sensor_id = r.sensor_id)",
        &[],
    ))?;
    let (readings, sensors): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    Ok((readings > 0)
        .then(|| format!("{readings} readings of {sensors} sensor key(s) not in sensors")))
}

/// Tables named like a month's partition that are not attached to
/// `readings` with that month's bounds.
fn misplaced_partitions(conn: &PgConn) -> PgResult<Vec<String>> {
    let rows = wait(conn.client.query(
        "SELECT c.relname, coalesce(p.relname, ''),
                coalesce(pg_get_expr(c.relpartbound, c.oid), '')
         FROM pg_class c
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
         LEFT JOIN pg_class p ON p.oid = i.inhparent
         WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
           AND c.relname ~ '^readings_[0-9]{4}_[0-9]{2}$'
         ORDER BY c.relname",
        &[],
    ))?;
    let mut found = Vec::new();
    for row in rows {
        let (name, parent, bound): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let expected = schema::partition_bound_of(&name);
        if parent != "readings" {
            found.push(format!("partition {name} is not attached to readings"));
        } else if expected.as_deref() != Some(bound.as_str()) {
            found.push(format!(
                "partition {name} holds {bound}, not its month ({})",
                expected.unwrap_or_else(|| "no valid month".into())
            ));
        }
    }
    Ok(found)
}

/// B-tree indexes of floorwatch's tables that `amcheck` finds damaged;
/// nothing when the extension is not installed (`db check` says so).
fn damaged_indexes(conn: &PgConn, mode: CheckMode) -> PgResult<Vec<String>> {
    let Some(amcheck) = amcheck_schema(conn)? else {
        tracing::info!(
            "amcheck is not installed in this database: indexes not checked \
             (CREATE EXTENSION amcheck, as a superuser, enables it)"
        );
        return Ok(Vec::new());
    };
    let check = format!("SELECT {amcheck}.bt_index_check($1::oid::regclass, $2)");
    let heapallindexed = matches!(mode, CheckMode::Full);
    let indexes = wait(conn.client.query(
        "SELECT c.oid, c.relname FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am a ON a.oid = c.relam
         WHERE a.amname = 'btree' AND c.relkind = 'i'
           AND c.relnamespace = current_schema()::regnamespace
         ORDER BY c.relname",
        &[],
    ))?;
    let mut found = Vec::new();
    for index in indexes {
        let (oid, name): (tokio_postgres::types::Oid, String) =
            (index.try_get(0)?, index.try_get(1)?);
        match wait(
            conn.client
                .execute(check.as_str(), &[&oid, &heapallindexed]),
        ) {
            Err(e) if is_corruption(&e) => {
                found.push(format!("index {name}: {}", super::PgError(e)))
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Ok(found)
}

/// What amcheck raises for a damaged index or table (other errors mean the
/// check itself could not run).
fn is_corruption(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code()
        .is_some_and(|c| *c == SqlState::INDEX_CORRUPTED || *c == SqlState::DATA_CORRUPTED)
}

/// The schema `amcheck` is installed in, quoted for SQL; `None` without it.
pub(crate) fn amcheck_schema(conn: &PgConn) -> PgResult<Option<String>> {
    let row = wait(conn.client.query_opt(
        "SELECT quote_ident(n.nspname) FROM pg_extension e
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'",
        &[],
    ))?;
    row.map(|r| r.try_get(0)).transpose()
}
