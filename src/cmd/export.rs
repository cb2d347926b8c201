//! `floorwatch export readings|aggregates|alarms`: arguments and dispatch.

use crate::billing::{Billing, Period, PeriodChoice};
use crate::config::{Config, SimSignal};
use crate::error::{BadInput, EXIT_OK, bad_input, bad_input_in};
use crate::model::{TimestampMs, now_ms};
use crate::paths;
use crate::report::aggregates::{AggregateSpec, Every, export_aggregates};
use crate::report::alarms::{AlarmFilter, export_alarms, parse_priority};
use crate::report::clock::LocalClock;
use crate::report::invoices::export_invoices;
use crate::report::output::{Destination, Sink};
use crate::report::points::{TimeRange, count_in_range, select_sensors};
use crate::report::progress::Progress;
use crate::report::readings::{Layout, export_readings};
use crate::report::table::{CsvStyle, Table, TimeStyle};
use crate::report::{ReportError, write_csv};
use crate::store::HistoryReader;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Raw readings: one row per reading (long), or one column per sensor (--wide).
    Readings(ReadingsArgs),
    /// Per sensor and bucket: count, min, max, mean, first, last, and delta for meters.
    Aggregates(AggregatesArgs),
    /// The alarm journal: every transition with operator, comment and duration.
    Alarms(AlarmsArgs),
    /// One row per customer with the invoice totals of a period (needs the config).
    Invoices(InvoicesArgs),
}

#[derive(Debug, Args)]
pub struct InvoicesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Billing month, e.g. 2026-10 (or give --from and --to).
    #[arg(long, value_name = "YYYY-MM", required_unless_present_all = ["from", "to"], conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReadingsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Sensors to export (glob on the id, e.g. 'line1.*'); repeatable [default: all].
    #[arg(long = "sensor", value_name = "GLOB", num_args = 1..)]
    pub sensors: Vec<String>,
    /// One row per timestamp and one column per sensor; gaps are empty cells.
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct AggregatesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Bucket length: 15m, 1h, 1d, 1mo (any length dividing a day), in plant time.
    #[arg(long, value_name = "LENGTH")]
    pub every: String,
    /// Sensors to export (glob on the id); repeatable [default: all].
    #[arg(long = "sensor", value_name = "GLOB", num_args = 1..)]
    pub sensors: Vec<String>,
    /// Treat these sensors as cumulative meters (delta column) besides those with
    /// `meter = {...}` or an energy signal in the config.
    #[arg(long = "cumulative", value_name = "GLOB", num_args = 1..)]
    pub cumulative: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Only these priorities (critical, high, medium, low); repeatable.
    #[arg(long = "priority", value_name = "PRIORITY", num_args = 1..)]
    pub priorities: Vec<String>,
    /// Only these sensors (glob on the id); repeatable.
    #[arg(long = "sensor", value_name = "GLOB", num_args = 1..)]
    pub sensors: Vec<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Start (inclusive): RFC 3339, or `YYYY-MM-DD[ HH:MM[:SS]]` in plant time, or `now`.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End (exclusive), same forms as --from.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Output file, written atomically; `-` is stdout [default: stdout].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// History file [default: [history] path, or history.sqlite in the data dir]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// Config file, for the plant timezone and meters [default: config.toml in the config dir, if any]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Timezone for timestamps, buckets and --from/--to [default: [plant] timezone, or UTC]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Timestamps as milliseconds since the Unix epoch instead of ISO 8601.
    #[arg(long)]
    pub epoch: bool,
    /// Field delimiter: one ASCII character, or `tab` [default: `,`, or `;` with --decimal-comma]
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Write 1,5 instead of 1.5 (for spreadsheets in such locales).
    #[arg(long)]
    pub decimal_comma: bool,
    /// Start the file with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
}

/// What every export needs, resolved from the common arguments.
struct Setup {
    conn: HistoryReader,
    config: Option<Config>,
    tz: Tz,
    range: TimeRange,
    style: CsvStyle,
    dest: Destination,
}

pub(super) fn run(args: ExportArgs) -> Result<u8> {
    match args.what {
        ExportCommand::Readings(a) => readings(a),
        ExportCommand::Aggregates(a) => aggregates(a),
        ExportCommand::Alarms(a) => alarms(a),
        ExportCommand::Invoices(a) => invoices(a),
    }
}

fn readings(args: ReadingsArgs) -> Result<u8> {
    let setup = Setup::resolve(&args.common)?;
    let layout = if args.wide {
        Layout::Wide
    } else {
        Layout::Long
    };
    write_report(&setup, "readings", |conn, table| {
        let sensors = select_sensors(conn, &args.sensors)?;
        let mut progress = if Progress::wanted() {
            Progress::rows(Some(count_in_range(conn, &sensors, setup.range)?), "export")
        } else {
            Progress::hidden()
        };
        let rows = export_readings(conn, &sensors, setup.range, layout, table, &mut progress)?;
        progress.finish();
        Ok(rows)
    })
}

fn aggregates(args: AggregatesArgs) -> Result<u8> {
    let every = Every::parse(&args.every).map_err(bad_input)?;
    let setup = Setup::resolve(&args.common)?;
    let extra = glob_set(&args.cumulative, "--cumulative")?;
    let meters = configured_meters(setup.config.as_ref());
    let is_cumulative = |tag: &str| meters.iter().any(|m| m == tag) || extra.is_match(tag);
    write_report(&setup, "aggregates", |conn, table| {
        let sensors = select_sensors(conn, &args.sensors)?;
        let mut progress = if Progress::wanted() {
            Progress::rows(
                Some(count_in_range(conn, &sensors, setup.range)?),
                "aggregate",
            )
        } else {
            Progress::hidden()
        };
        let spec = AggregateSpec {
            range: setup.range,
            every,
            tz: setup.tz,
            is_cumulative: &is_cumulative,
        };
        let rows = export_aggregates(conn, &sensors, &spec, table, &mut progress)?;
        progress.finish();
        Ok(rows)
    })
}

fn alarms(args: AlarmsArgs) -> Result<u8> {
    let priorities = args
        .priorities
        .iter()
        .map(|p| parse_priority(p).map_err(bad_input))
        .collect::<Result<Vec<_>, _>>()?;
    let sensors = if args.sensors.is_empty() {
        None
    } else {
        Some(glob_set(&args.sensors, "--sensor")?)
    };
    let setup = Setup::resolve(&args.common)?;
    let filter = AlarmFilter {
        range: setup.range,
        priorities,
        sensors,
        events: Vec::new(),
        states: Vec::new(),
    };
    write_report(&setup, "alarm journal", |conn, table| {
        let mut progress = Progress::rows(None, "export");
        let rows = export_alarms(conn, &filter, table, &mut progress)?;
        progress.finish();
        Ok(rows)
    })
}

fn invoices(args: InvoicesArgs) -> Result<u8> {
    let setup = Setup::resolve(&args.common)?;
    let Some(config) = setup.config.as_ref() else {
        return Err(BadInput(
            "export invoices needs the config (meters and tariffs): pass --config FILE".into(),
        )
        .into());
    };
    let choice = match &args.period {
        Some(month) => PeriodChoice::parse_month(month).map_err(bad_input)?,
        None if setup.range.from > i64::MIN && setup.range.to < i64::MAX => PeriodChoice::Custom(
            Period::between(config.timezone(), setup.range.from, setup.range.to),
        ),
        None => {
            return Err(BadInput("give --period YYYY-MM, or both --from and --to".into()).into());
        }
    };
    let billing = Billing::new(config);
    let customers = billing.customers().count() as u64;
    write_report(&setup, "invoice", |_, table| {
        let mut progress = Progress::rows(Some(customers), "invoices");
        let rows = export_invoices(
            &billing,
            &setup.conn,
            &choice,
            table,
            &mut progress,
            |id, e| eprintln!("floorwatch: customer {id:?}: {e} (its row gives the reason)"),
        )?;
        progress.finish();
        Ok(rows)
    })
}

/// Writes the report, then says where on a terminal; a reader of stdout that
/// goes away (`| head`) is not an error.
fn write_report(
    setup: &Setup,
    what: &str,
    body: impl FnOnce(&HistoryReader, &mut Table<Sink>) -> Result<u64, ReportError>,
) -> Result<u8> {
    let conn = &setup.conn;
    match write_csv(&setup.dest, setup.style, |table| body(conn, table)) {
        Ok(rows) => {
            if Progress::wanted() && setup.dest != Destination::Stdout {
                eprintln!("exported {rows} {what} rows to {}", setup.dest.describe());
            }
            Ok(EXIT_OK)
        }
        Err(e) if setup.dest == Destination::Stdout && e.is_broken_pipe() => Ok(EXIT_OK),
        Err(e) => Err(into_anyhow(e))
            .with_context(|| format!("exporting {what} to {}", setup.dest.describe())),
    }
}

fn into_anyhow(e: ReportError) -> anyhow::Error {
    match e {
        ReportError::Input(msg) => BadInput(msg).into(),
        other => other.into(),
    }
}

impl Setup {
    fn resolve(args: &CommonArgs) -> Result<Setup> {
        let config = load_config(args.config.as_ref())?;
        let tz = match &args.tz {
            Some(name) => name.parse::<Tz>().map_err(|_| {
                BadInput(format!(
                    "--tz {name:?}: unknown timezone; expected an IANA name like \"Europe/Paris\" or \"UTC\""
                ))
            })?,
            None => config.as_ref().map_or(chrono_tz::UTC, Config::timezone),
        };
        let range = TimeRange {
            from: optional_time(args.from.as_deref(), "--from", tz)?.unwrap_or(i64::MIN),
            to: optional_time(args.to.as_deref(), "--to", tz)?.unwrap_or(i64::MAX),
        };
        if range.from >= range.to {
            return Err(BadInput(format!(
                "--from {} is not before --to {}",
                args.from.as_deref().unwrap_or("(start)"),
                args.to.as_deref().unwrap_or("(end)")
            ))
            .into());
        }
        let style = csv_style(args, config.as_ref(), tz)?;
        let db = super::history::existing(args.db.as_deref(), config.as_ref().map(|c| &c.history))?;
        let conn = HistoryReader::open(&db).with_context(|| format!("opening history {db}"))?;
        Ok(Setup {
            conn,
            config,
            tz,
            range,
            style,
            dest: Destination::from_arg(args.output.as_deref()),
        })
    }
}

fn load_config(given: Option<&PathBuf>) -> Result<Option<Config>> {
    let path = match given {
        Some(p) if !p.exists() => {
            return Err(BadInput(format!("config file {} not found", p.display())).into());
        }
        Some(p) => p.clone(),
        None => {
            let default = paths::default_config();
            if !default.exists() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(Config::load(&path)?))
}

/// Command-line options first, then the config's `[export]` defaults.
fn csv_style(args: &CommonArgs, config: Option<&Config>, tz: Tz) -> Result<CsvStyle> {
    let defaults = config.map(|c| c.export.clone()).unwrap_or_default();
    let delimiter = args.delimiter.as_deref().or(defaults.delimiter.as_deref());
    let time = if args.epoch {
        TimeStyle::EpochMs
    } else {
        TimeStyle::Local(tz)
    };
    CsvStyle::build(
        delimiter,
        args.decimal_comma || defaults.decimal_comma,
        args.bom || defaults.bom,
        time,
    )
    .map_err(bad_input)
}

fn optional_time(text: Option<&str>, flag: &str, tz: Tz) -> Result<Option<TimestampMs>> {
    text.map(|t| parse_time(t, tz).map_err(|e| bad_input_in(format!("{flag} {t:?}"), e)))
        .transpose()
}

/// A `--from`/`--to` value in none of the forms [`parse_time`] reads.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error(
    "expected RFC 3339 (2026-10-02T12:00:00Z), a plant-local date or time (2026-10-02, 2026-10-02 06:00) or `now`"
)]
pub struct NotATime;

/// RFC 3339 with an offset, or a plant-local `YYYY-MM-DD[ HH:MM[:SS]]`, or
/// `now`. A local time skipped by a DST change means the first instant after it.
pub fn parse_time(text: &str, tz: Tz) -> Result<TimestampMs, NotATime> {
    let t = text.trim();
    if t == "now" {
        return Ok(now_ms());
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or(NotATime)?;
    Ok(LocalClock::new(tz).first_instant_at_or_after(naive))
}

fn glob_set(globs: &[String], flag: &str) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(Glob::new(g).map_err(|e| BadInput(format!("{flag} {g:?}: {e}")))?);
    }
    Ok(builder
        .build()
        .map_err(|e| BadInput(format!("{flag}: {e}")))?)
}

/// Sensors the config says are cumulative registers: meters and simulated energy.
fn configured_meters(config: Option<&Config>) -> Vec<String> {
    config.map_or_else(Vec::new, |c| {
        c.sensor
            .iter()
            .filter(|s| {
                s.meter.is_some()
                    || s.sim
                        .as_ref()
                        .is_some_and(|sim| sim.signal == SimSignal::Energy)
            })
            .map(|s| s.id.get_ref().clone())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_plant_local() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            parse_time("2026-03-29T01:00:00Z", paris),
            Ok(1_774_746_000_000)
        );
        // Local midnight in winter is 23:00Z the day before.
        assert_eq!(
            parse_time("2026-03-29", paris),
            Ok(1_774_746_000_000 - 2 * 3_600_000)
        );
        // 02:30 does not exist that night: the first instant after the gap.
        assert_eq!(parse_time("2026-03-29 02:30", paris), Ok(1_774_746_000_000));
        assert_eq!(parse_time("29/03/2026", paris), Err(NotATime));
        assert!(NotATime.to_string().contains("RFC 3339"));
    }
}
