//! `floorwatch replay`: CSV history played through the console (or
//! `--headless`) as if live, on an engine of its own ([`crate::app::replay`]).

use super::import::{CsvArgs, sized_bar};
use crate::app::replay::{ReplayLoadError, ReplayOptions, ReplaySession};
use crate::app::shutdown_signal;
use crate::config::Config;
use crate::csvio::DateFormat;
use crate::csvio::import::ImportOptions;
use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_OK, after_stopping};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// CSV files to play back (merged in time order)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Replayed seconds per second, 1 … 10000, or "max" (as fast as possible)
    #[arg(long, default_value = "60", value_name = "FACTOR")]
    pub speed: crate::source::replay::Speed,
    /// Start here: RFC 3339, or "YYYY-MM-DD[ HH:MM[:SS]]" in --tz / the plant timezone
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Stop here (same forms as --from)
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Start paused (space resumes, . steps)
    #[arg(long)]
    pub paused: bool,
    /// Also import the files into the history (replay never touches it otherwise)
    #[arg(long)]
    pub record: bool,
    /// History for --record: a file or a postgres:// url [default: history.sqlite in the data dir, or [history] url/path]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// No screen: log the replay's status lines to stderr and exit when it ends
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    pub csv: CsvArgs,
}

/// A `--from`/`--to` time: RFC 3339, or a local date and time in `tz`.
pub fn parse_time_arg(text: &str, tz: chrono_tz::Tz, what: &str) -> Result<i64> {
    crate::csvio::timestamp::TimeParser::new(DateFormat::Auto, tz)
        .parse(text, None)
        .map_err(|_| {
            BadInput(format!(
                "{what} {text:?}: expected RFC 3339 (2025-10-02T10:00:00Z) or \"YYYY-MM-DD[ HH:MM[:SS]]\""
            ))
            .into()
        })
}

pub(super) fn run(args: ReplayArgs, verbose: u8) -> Result<u8> {
    let config = args.csv.load_config()?;
    // One reading setup for all files: --profile, or the profile of the first file.
    let csv = args
        .csv
        .options_for(config.as_ref(), args.files.first().map(PathBuf::as_path))?;
    let tz = csv.tz;
    let from = args
        .from
        .as_deref()
        .map(|t| parse_time_arg(t, tz, "--from"))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|t| parse_time_arg(t, tz, "--to"))
        .transpose()?;
    let record = match args.record {
        true => Some(super::history::location(
            args.db.as_deref(),
            config.as_ref().map(|c| &c.history),
        )?),
        false => None,
    };
    let options = ReplayOptions {
        files: args.files.clone(),
        import: ImportOptions {
            csv,
            ..Default::default()
        },
        from,
        to,
        speed: args.speed,
        paused: args.paused,
        record,
    };
    let mode = if args.headless {
        crate::logging::Mode::Stderr
    } else {
        crate::logging::Mode::FileOnly
    };
    let _guard = crate::logging::init(mode, verbose);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(replay_async(options, config, args.headless))
}

async fn replay_async(
    options: ReplayOptions,
    config: Option<Config>,
    headless: bool,
) -> Result<u8> {
    let engine_config = config
        .as_ref()
        .map(crate::engine::EngineConfig::from_config)
        .unwrap_or_default();
    let metas = config
        .as_ref()
        .map(Config::sensor_metas)
        .unwrap_or_default();
    let bar = loading_bar(&options.files);
    let show = |p: &crate::source::replay::LoadProgress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total_bytes);
            bar.set_position(p.bytes);
            bar.set_message(format!("{} · {} rows", p.file, p.rows));
        }
    };
    let started = ReplaySession::start_reporting(options, &engine_config, metas, show).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let session = match started {
        Ok(session) => session,
        Err(e) if replay_error_is_bad_input(&e) => {
            eprintln!("floorwatch: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
        Err(e) => return Err(e.into()),
    };
    for report in &session.reports {
        for row in &report.examples {
            eprintln!("{row}");
        }
        eprintln!("{}", report.summary());
    }
    let mut session = session;
    if headless {
        log_until_finished(&mut session).await;
    } else {
        let console = crate::ui::Console {
            snapshots: session.snapshots.clone(),
            commands: session.alarm_commands.clone(),
            replay: Some(session.commands.clone()),
        };
        let config = config.unwrap_or_default();
        if let Err(e) = crate::ui::run_console(console, &config, &session.db().into()).await {
            return Err(after_stopping(e, session.stop().await));
        }
    }
    let status = session.stop().await?;
    if let Some(status) = status {
        println!(
            "replayed {} readings from {} to {}",
            status.sent,
            crate::model::format_ts(status.start_ms),
            crate::model::format_ts(status.position_ms)
        );
    }
    Ok(EXIT_OK)
}

/// `--headless`: a status line a second until the end or a signal.
async fn log_until_finished(session: &mut ReplaySession) {
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    let snapshots = session.snapshots.clone();
    loop {
        tokio::select! {
            _ = &mut signal => break,
            status = session.finished() => {
                if let Some(status) = status {
                    eprintln!("{}", status.line());
                }
                break;
            }
            _ = ticker.tick() => {
                if let Some(replay) = &snapshots.borrow().replay {
                    tracing::info!("{} sent={}", replay.line(), replay.sent);
                }
            }
        }
    }
}

fn replay_error_is_bad_input(e: &ReplayLoadError) -> bool {
    match e {
        ReplayLoadError::Import(e) => e.is_bad_input(),
        ReplayLoadError::Empty { .. } => true,
        _ => false,
    }
}

/// The replay's loading bar over every file, before the console opens.
fn loading_bar(files: &[PathBuf]) -> Option<indicatif::ProgressBar> {
    let bar = sized_bar(0)?;
    bar.set_prefix(format!(
        "loading {} file{} for replay",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    ));
    Some(bar)
}
