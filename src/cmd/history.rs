//! Which history a command works on: `--db` (a file or a `postgres://` url),
//! else the config's `[history] url` or `path`, else the default file.

use crate::config::History;
use crate::error::BadInput;
use crate::store::Location;
use anyhow::Result;
use std::path::Path;

/// The history the arguments and config name; a bad url or password
/// setting is bad input (exit 2).
pub(crate) fn location(db_arg: Option<&Path>, history: Option<&History>) -> Result<Location> {
    Location::resolve(db_arg, history, crate::paths::default_history)
        .map_err(|e| BadInput(e.to_string()).into())
}

/// [`location`], which must already hold a history: a SQLite file that
/// does not exist is bad input (a server is asked when opened).
pub(crate) fn existing(db_arg: Option<&Path>, history: Option<&History>) -> Result<Location> {
    let location = location(db_arg, history)?;
    if !location.exists() {
        return Err(BadInput(format!("history file {location} not found: pass --db FILE")).into());
    }
    Ok(location)
}
