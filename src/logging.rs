//! Logging with `tracing`: always to `floorwatch.log` in the data dir; in
//! headless mode also to stderr. Never to the terminal while the TUI is up.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Log file only (TUI owns the terminal).
    FileOnly,
    /// Log file and stderr (headless recorder, one-shot commands).
    Stderr,
}

/// Installs the global subscriber. `verbose` raises the level (`-v` debug,
/// `-vv` trace); `RUST_LOG` wins when set. Returns a guard to keep alive.
pub fn init(mode: Mode, verbose: u8) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("floorwatch={level},rumqttd=off,warn")))
    };
    let log_path = crate::paths::log_file();
    let file = log_path
        .parent()
        .and_then(|dir| std::fs::create_dir_all(dir).ok())
        .and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .ok()
        });
    let (file_layer, guard) = match file {
        Some(f) => {
            let (writer, guard) = tracing_appender::non_blocking(f);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let stderr_layer = (mode == Mode::Stderr).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr.with_max_level(tracing::Level::TRACE))
            .with_ansi(false)
            .with_target(false)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    guard
}
