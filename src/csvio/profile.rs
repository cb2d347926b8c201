//! An `[[import]]` profile of the config as [`CsvOptions`]: the same fields the
//! command-line flags set, so both go through one reader. Flags are applied
//! after the profile and win key by key (see `command::CsvArgs::options_for`).

use super::{ColumnMap, ColumnName, CsvOptions, TimeColumnNames, parse_delimiter};
use crate::config::{Config, ImportProfile};
use toml::Spanned;

/// A profile value that does not parse. `floorwatch check` (and loading the
/// config) reports these first, so this is only reached with a config built
/// in code.
#[derive(Debug, thiserror::Error)]
#[error("{position}: {message}")]
pub struct ProfileError {
    pub position: String,
    pub message: String,
}

/// Sets in `options` every key `profile` gives.
pub fn apply(
    profile: &ImportProfile,
    config: &Config,
    options: &mut CsvOptions,
) -> Result<(), ProfileError> {
    if let Some(v) = &profile.delimiter {
        options.delimiter = Some(parsed(v, config, parse_delimiter)?);
    }
    if let Some(v) = &profile.decimal {
        options.decimal = Some(parsed(v, config, str::parse)?);
    }
    if let Some(v) = &profile.date_format {
        options.date_format = parsed(v, config, str::parse)?;
    }
    if let Some(v) = &profile.timezone {
        options.tz = parsed(v, config, |s| {
            s.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("unknown timezone {s:?}"))
        })?;
    }
    if let Some(v) = &profile.layout {
        options.layout = Some(parsed(v, config, str::parse)?);
    }
    if let Some(time) = &profile.time_column {
        options.time_columns = Some(TimeColumnNames {
            time: named(time, config),
            date: profile.date_column.as_ref().map(|d| named(d, config)),
        });
    }
    options.map = column_maps(profile, config);
    Ok(())
}

fn parsed<T>(
    value: &Spanned<String>,
    config: &Config,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ProfileError> {
    parse(value.get_ref()).map_err(|message| ProfileError {
        position: config.position(value.span()),
        message,
    })
}

fn named(column: &Spanned<String>, config: &Config) -> ColumnName {
    ColumnName {
        name: column.get_ref().trim().to_owned(),
        origin: Some(config.position(column.span())),
    }
}

/// `[import.columns]` as `--map` entries that remember where they were written.
pub fn column_maps(profile: &ImportProfile, config: &Config) -> Vec<ColumnMap> {
    profile
        .columns_in_order()
        .into_iter()
        .map(|(column, target)| ColumnMap {
            column: column.get_ref().trim().to_owned(),
            sensor: target.sensor.get_ref().trim().to_owned(),
            unit: target.unit.clone(),
            name: target.name.clone(),
            origin: Some(config.position(column.span())),
        })
        .collect()
}
