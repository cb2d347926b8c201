//! `floorwatch db check|status|migrate`: the history's health, contents and
//! schema. `check` and `status` only read; `migrate` creates and upgrades.

use crate::config::Config;
use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_OK};
use crate::model::format_ts;
use crate::store::check::{CheckMode, CheckOutcome, MAX_PROBLEMS};
use crate::store::{Location, Summary};
use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Check the history for damage: prints `ok` (exit 0), or the problems
    /// found (exit 2: a damaged history is bad input). On a file, SQLite's
    /// integrity check; on PostgreSQL, the schema, the monthly partitions and,
    /// when the database has `amcheck`, every index.
    Check(DbCheckArgs),
    /// Size, schema version, sensors, readings and time range of the history
    /// (a file, or a PostgreSQL database).
    Status(DbFileArgs),
    /// Create the history if needed and bring its schema up to date (a file,
    /// or a PostgreSQL database); prints the schema version.
    Migrate(DbFileArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct DbFileArgs {
    /// History file or postgres:// url [default: [history] url or path, or history.sqlite in the data dir]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// Config file, for its [history] path [default: config.toml in the config dir, if any]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DbCheckArgs {
    #[command(flatten)]
    pub file: DbFileArgs,
    /// `PRAGMA quick_check` instead of the full `integrity_check`: faster, but
    /// does not cross-check indexes against their tables.
    #[arg(long)]
    pub quick: bool,
}

pub(super) fn run(command: DbCommand) -> Result<u8> {
    match command {
        DbCommand::Check(args) => check(&args),
        DbCommand::Status(args) => status(&args),
        DbCommand::Migrate(args) => migrate(&args),
    }
}

fn check(args: &DbCheckArgs) -> Result<u8> {
    let location = existing_history(&args.file)?;
    let mode = if args.quick {
        CheckMode::Quick
    } else {
        CheckMode::Full
    };
    match crate::store::check_history(&location, mode) {
        CheckOutcome::Ok => {
            println!("ok");
            Ok(EXIT_OK)
        }
        CheckOutcome::Corrupt(problems) => {
            for problem in &problems {
                println!("{problem}");
            }
            let at_least = if problems.len() >= MAX_PROBLEMS {
                "at least "
            } else {
                ""
            };
            eprintln!(
                "floorwatch: {} is damaged: {} found {at_least}{} problem(s); {}",
                described(&location),
                check_name(&location, mode),
                problems.len(),
                what_to_do(&location)
            );
            Ok(EXIT_BAD_INPUT)
        }
        CheckOutcome::Failed(why) => Err(anyhow!(
            "{}: {} could not run: {why}",
            described(&location),
            check_name(&location, mode)
        )),
    }
}

fn described(location: &Location) -> String {
    match location.sqlite_path() {
        Some(db) => format!("history file {}", db.display()),
        None => format!("history {location}"),
    }
}

fn check_name(location: &Location, mode: CheckMode) -> &'static str {
    match location {
        Location::Sqlite(_) => mode.pragma(),
        Location::Postgres(_) => "the schema and index check",
    }
}

/// The advice for a damaged history.
fn what_to_do(location: &Location) -> String {
    match location.sqlite_path() {
        Some(db) => format!(
            "restore it from a backup, or salvage what is readable with \
             `sqlite3 {} .recover | sqlite3 recovered.sqlite`",
            db.display()
        ),
        None => {
            "`floorwatch db migrate` repairs an old schema; REINDEX repairs a damaged index".into()
        }
    }
}

fn migrate(args: &DbFileArgs) -> Result<u8> {
    let location = super::history::location(
        args.db.as_deref(),
        configured(args.config.as_deref())?.as_ref(),
    )?;
    let version = crate::store::migrate(&location)?;
    println!("{location}: schema version {version}");
    Ok(EXIT_OK)
}

fn status(args: &DbFileArgs) -> Result<u8> {
    let location = existing_history(args)?;
    // A damaged file is a bad input file (exit 2), like a bad CSV.
    let summary = summarize(&location).map_err(|e| {
        if e.is_damaged() {
            anyhow::Error::new(BadInput(e.to_string()))
        } else {
            e.into()
        }
    })?;
    let range = match (summary.first_ts, summary.last_ts) {
        (Some(first), Some(last)) => format!("{} – {}", format_ts(first), format_ts(last)),
        _ => "no readings".into(),
    };
    match location.sqlite_path() {
        Some(db) => {
            let size = file_size(db) + file_size(&wal_of(db));
            println!("file            {}", db.display());
            println!("size            {}", indicatif::HumanBytes(size));
        }
        None => println!("database        {location}"),
    }
    println!(
        "schema version  {} (this floorwatch: {})",
        summary.schema_version,
        crate::store::supported_version(&location)
    );
    println!("sensors         {}", summary.sensors);
    println!("readings        {}", summary.readings);
    println!("alarm events    {}", summary.alarm_events);
    println!("time range      {range}");
    Ok(EXIT_OK)
}

fn summarize(db: &Location) -> crate::store::Result<Summary> {
    crate::store::summarize(db)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn wal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The history the arguments name, which must exist: `--db`, else the
/// config's `[history] url` or `path`, else `history.sqlite` in the data dir.
fn existing_history(args: &DbFileArgs) -> Result<Location> {
    let history = match &args.db {
        Some(_) => None,
        None => configured(args.config.as_deref())?,
    };
    super::history::existing(args.db.as_deref(), history.as_ref())
}

/// The `[history]` of the given config, or of the default one if it exists.
fn configured(given: Option<&Path>) -> Result<Option<crate::config::History>> {
    let path = match given {
        Some(path) if !path.exists() => {
            return Err(BadInput(format!("config file {} not found", path.display())).into());
        }
        Some(path) => path.to_owned(),
        None => match crate::paths::default_config() {
            default if default.exists() => default,
            _ => return Ok(None),
        },
    };
    Ok(Some(Config::load(&path)?.history))
}
