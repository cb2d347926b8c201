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
#[error("{position}: {source}")]
pub struct ProfileError {
    pub position: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub use crate::config::UnknownTimezone;

/// How to read `file` when nothing is given on a command line: the config's
/// plant timezone, and the `[[import]]` profile whose `files` glob matches
/// (e.g. for a file picked in the console).
pub fn options_for_file(
    config: &Config,
    file: &std::path::Path,
) -> Result<CsvOptions, ProfileError> {
    let mut options = base_options(Some(config));
    if let Some(profile) = config.import_profile_for(file) {
        apply(profile, config, &mut options)?;
    }
    Ok(options)
}

/// Defaults: automatic detection, naive times in the plant timezone (else UTC).
pub fn base_options(config: Option<&Config>) -> CsvOptions {
    CsvOptions {
        tz: config.map_or(chrono_tz::UTC, Config::timezone),
        ..Default::default()
    }
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
        options.tz = parsed(v, config, crate::config::parse_timezone)?;
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

/// Parses a profile value; the error names where the config gives it. The
/// parsers' errors are whatever they are (text or typed): boxed as the source.
fn parsed<T, E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    value: &Spanned<String>,
    config: &Config,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, ProfileError> {
    parse(value.get_ref()).map_err(|e| ProfileError {
        position: config.position(value.span()),
        source: e.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csvio::{DateFormat, DateOrder, DecimalMark, Layout};
    use std::path::Path;

    const CONFIG: &str = r#"[plant]
timezone = "America/Sao_Paulo"

[[import]]
name = "meters"
files = "meters_*.csv"
delimiter = "tab"
decimal = "comma"
date_format = "dmy"
layout = "wide"
time_column = "Hora"
date_column = "Data"

[import.columns]
m2 = { sensor = "tenant-b.kwh", unit = "kWh" }
m1 = { sensor = "tenant-a.kwh", unit = "kWh", name = "Tenant A" }
"#;

    #[test]
    fn a_matching_profile_sets_every_option_with_config_positions() {
        let config = Config::parse(Path::new("plant.toml"), CONFIG).unwrap();
        let options = options_for_file(&config, Path::new("in/meters_2025-10.csv")).unwrap();
        assert_eq!(options.delimiter, Some(b'\t'));
        assert_eq!(options.decimal, Some(DecimalMark::Comma));
        assert_eq!(options.date_format, DateFormat::Order(DateOrder::DayFirst));
        assert_eq!(options.layout, Some(Layout::Wide));
        assert_eq!(options.tz, chrono_tz::America::Sao_Paulo);
        let time = options.time_columns.unwrap();
        assert_eq!(
            (time.time.name.as_str(), time.time.origin.as_deref()),
            ("Hora", Some("plant.toml:11:15"))
        );
        assert_eq!(time.date.unwrap().name, "Data");
        // In the order written, each remembering its line in the config.
        let map: Vec<_> = options
            .map
            .iter()
            .map(|m| {
                (
                    m.column.as_str(),
                    m.sensor.as_str(),
                    m.unit.as_deref(),
                    m.name.as_deref(),
                    m.origin.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            map,
            vec![
                (
                    "m2",
                    "tenant-b.kwh",
                    Some("kWh"),
                    None,
                    Some("plant.toml:15:1")
                ),
                (
                    "m1",
                    "tenant-a.kwh",
                    Some("kWh"),
                    Some("Tenant A"),
                    Some("plant.toml:16:1")
                ),
            ]
        );
        let other = options_for_file(&config, Path::new("meters.csv")).unwrap();
        assert!(other.map.is_empty() && other.delimiter.is_none());
        assert_eq!(other.tz, chrono_tz::America::Sao_Paulo);
    }
}
