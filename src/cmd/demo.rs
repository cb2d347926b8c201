//! `floorwatch demo`: the console on the built-in simulated plant
//! ([`crate::demo`]), with its history in a temporary file unless `--db`.

use crate::demo::DemoServices;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    /// Keep the demo's history in this file or postgres:// url (default: a temporary file).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// No screen: log status lines to stderr.
    #[arg(long)]
    pub headless: bool,
    /// Draw with ASCII only (no box drawing, blocks or braille).
    #[arg(long)]
    pub ascii: bool,
}

pub(super) fn run(args: DemoArgs, verbose: u8) -> Result<u8> {
    let mode = if args.headless {
        crate::logging::Mode::Stderr
    } else {
        crate::logging::Mode::FileOnly
    };
    let _guard = crate::logging::init(mode, verbose);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (db, temp) = match args.db {
        Some(db) => (super::history::location(Some(&db), None)?, None),
        None => {
            let dir = temp_dir()?;
            (dir.join("demo-history.sqlite").into(), Some(dir))
        }
    };
    let result = runtime.block_on(async {
        let services = DemoServices::start().await?;
        let mut config = services.config()?;
        if args.ascii {
            config.ui.ascii = Some(true);
        }
        let result = super::run::run_async(config, db, args.headless).await;
        services.stop();
        result
    });
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

fn temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("floorwatch-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
