//! `floorwatch run` (the default command): the console on a config, or
//! `--headless`, recording history and logging status lines.

use super::surroundings::ConsoleSurroundings;
use super::{config_path, report};
use crate::app::{Running, shutdown_signal};
use crate::config::{Config, Purpose};
use crate::engine::LiveState;
use crate::error::{EXIT_OK, after_stopping};
use crate::logging;
use crate::store::{Location, StoreStats};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Config file [default: config.toml in the config dir]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// History file [default: history.sqlite in the data dir, or [history] path]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// No screen: record readings and log status lines to stderr until SIGINT/SIGTERM.
    #[arg(long)]
    pub headless: bool,
    /// Draw with ASCII only (no box drawing, blocks or braille) [default: when the locale is not UTF-8]
    #[arg(long)]
    pub ascii: bool,
}

pub(super) fn run(args: RunArgs, verbose: u8) -> Result<u8> {
    let path = config_path(args.config.clone())?;
    let mut config = match Config::load_for(&path, Purpose::Console, &ConsoleSurroundings) {
        Ok(config) => config,
        Err(errors) => return Ok(report(&errors)),
    };
    if args.ascii {
        config.ui.ascii = Some(true);
    }
    let db = super::history::location(args.db.as_deref(), Some(&config.history))?;
    let mode = if args.headless {
        logging::Mode::Stderr
    } else {
        logging::Mode::FileOnly
    };
    let _guard = logging::init(mode, verbose);
    run_console(config, db, args.headless)
}

/// The console (or `--headless`) on `config` until quit or a signal.
pub(super) fn run_console(config: Config, db: Location, headless: bool) -> Result<u8> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run_async(config, db, headless))
}

pub async fn run_async(config: Config, db: Location, headless: bool) -> Result<u8> {
    tracing::info!(config = %config.origin.display(), db = %db, "starting");
    let running = Running::start(&config, &db).await?;
    if headless {
        headless_loop(&running, config.ui.status_every.0).await;
    } else if let Err(e) = crate::ui::run(&running, &config, &db).await {
        // Stop the sources and commit what arrived before reporting the failure,
        // and that failure too when the history could not be committed.
        return Err(after_stopping(e, running.shutdown().await));
    }
    let outcome = running.shutdown().await?;
    tracing::info!(
        "stopped: received={} {}",
        outcome.engine.received,
        history_counts(&outcome.store)
    );
    Ok(EXIT_OK)
}

async fn headless_loop(running: &Running, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every.max(std::time::Duration::from_millis(50)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            _ = ticker.tick() => log_status(&running.snapshots.borrow(), running.store.stats()),
        }
    }
}

/// `stored=.. duplicates=.. superseded=..`: what became of the readings
/// committed so far (they add up to every reading committed).
fn history_counts(store: &StoreStats) -> String {
    format!(
        "stored={} duplicates={} superseded={}",
        store.stored, store.duplicates, store.superseded
    )
}

fn log_status(state: &LiveState, store: StoreStats) {
    let (up, total) = state.source_health();
    tracing::info!(
        "received={} {} sensors={} sources={}/{} up",
        state.received,
        history_counts(&store),
        state.sensors.len(),
        up,
        total
    );
    if store.reconnecting {
        tracing::error!(
            "history: reconnecting ({} failures; last error: {}); readings are held back and not acknowledged",
            store.commit_errors,
            store.failing.as_deref().unwrap_or("none yet")
        );
    } else if let Some(error) = &store.failing {
        tracing::error!(
            "history commits failing ({} failures): {error}; readings are held back and not acknowledged",
            store.commit_errors
        );
    }
    for s in &state.sources {
        let error = s
            .last_error
            .as_ref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default();
        let counts: String = (s.counts.iter())
            .map(|(name, n)| format!(" {name}={n}"))
            .collect();
        tracing::info!(
            "source {} {}: {} messages, {:.1}/s, {} errors{counts}{error}",
            s.name,
            s.state.label(),
            s.messages,
            s.rate,
            s.errors
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Outcome, ShutdownError};
    use crate::engine::EngineSummary;
    use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_FAILURE, describe, exit_code};
    use crate::store::StoreError;

    fn history_not_written() -> Result<Outcome, ShutdownError> {
        Err(ShutdownError::Commit(StoreError::Unwritable {
            history: "/plant/history.sqlite".into(),
            readings: 12,
            reason: "disk I/O error".into(),
        }))
    }

    fn no_terminal() -> anyhow::Error {
        BadInput("the console needs a terminal on stdin and stdout".into()).into()
    }

    #[test]
    fn a_console_failure_reports_the_history_lost_after_it_too() {
        let err = after_stopping(no_terminal(), history_not_written());
        assert_eq!(
            describe(&err),
            "the console needs a terminal on stdin and stdout; stopping after it failed too: \
             committing history: history file /plant/history.sqlite could not be written \
             (disk I/O error); 12 readings received were neither stored nor acknowledged: \
             the broker keeps them for the next start"
        );
        // As when the shutdown fails after the console quit cleanly.
        let clean_exit_then_lost = anyhow::Error::from(history_not_written().unwrap_err());
        assert_eq!(exit_code(&clean_exit_then_lost), EXIT_FAILURE);
        assert_eq!(exit_code(&err), EXIT_FAILURE);
    }

    #[test]
    fn a_console_failure_after_a_clean_shutdown_is_reported_alone() {
        let stopped: Result<Outcome, ShutdownError> = Ok(Outcome {
            engine: EngineSummary::default(),
            store: crate::store::StoreStats::default(),
        });
        let err = after_stopping(no_terminal(), stopped);
        assert_eq!(
            describe(&err),
            "the console needs a terminal on stdin and stdout"
        );
        assert_eq!(exit_code(&err), EXIT_BAD_INPUT);
    }
}
