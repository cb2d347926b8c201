//! `floorwatch completions SHELL` and `floorwatch man`: generated from the
//! command line's own definition.

use super::Cli;
use crate::error::EXIT_OK;
use anyhow::{Context, Result};
use clap::CommandFactory;

/// Prints the completion script for `shell`.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "floorwatch",
        &mut std::io::stdout(),
    );
    Ok(EXIT_OK)
}

/// Prints the man page (roff).
pub(super) fn man() -> Result<u8> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .context("writing the man page")?;
    Ok(EXIT_OK)
}
