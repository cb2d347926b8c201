//! Checks of `[[import]]`: every value goes through the parser of the
//! command-line flag it stands for, so config and flags accept the same text.

use super::unique_names;
use crate::config::csv::{DateFormat, DecimalMark, Layout, parse_delimiter};
use crate::config::{Config, Diagnostic, ImportProfile};
use std::collections::HashMap;
use toml::Spanned;

pub fn check(config: &Config, diags: &mut Vec<Diagnostic>) {
    unique_names(
        config.import.iter().map(|p| &p.name),
        "[[import]] name",
        diags,
    );
    for profile in &config.import {
        check_profile(profile, diags);
    }
}

fn check_profile(p: &ImportProfile, diags: &mut Vec<Diagnostic>) {
    if let Some(files) = &p.files
        && let Err(e) = globset::Glob::new(files.get_ref())
    {
        diags.push(Diagnostic::at(
            files.span(),
            format!(
                "files = {:?} is not a valid glob: {}",
                files.get_ref(),
                e.kind()
            ),
        ));
    }
    parses(&p.delimiter, diags, |s| parse_delimiter(s).map(drop));
    parses(&p.decimal, diags, |s| s.parse::<DecimalMark>().map(drop));
    parses(&p.date_format, diags, |s| s.parse::<DateFormat>().map(drop));
    parses(&p.timezone, diags, |s| {
        crate::config::parse_timezone(s).map(drop)
    });
    parses(&p.layout, diags, |s| s.parse::<Layout>().map(drop));
    if let Some(layout) = &p.layout
        && layout.get_ref().parse::<Layout>() == Ok(Layout::Long)
        && !p.columns.is_empty()
    {
        diags.push(Diagnostic::at(
            layout.span(),
            "layout = \"long\" with [import.columns]: columns map the value columns of wide files; a long file names its sensors in its sensor column",
        ));
    }
    if let (Some(date), None) = (&p.date_column, &p.time_column) {
        diags.push(Diagnostic::at(
            date.span(),
            "date_column needs time_column too (the column with the time of day)",
        ));
    }
    check_columns(p, diags);
}

/// Column names and sensor ids must be non-empty; two columns cannot feed one sensor.
fn check_columns(p: &ImportProfile, diags: &mut Vec<Diagnostic>) {
    let mut sensors: HashMap<&str, &Spanned<String>> = HashMap::new();
    for (column, target) in p.columns_in_order() {
        if column.get_ref().trim().is_empty() {
            diags.push(Diagnostic::at(
                column.span(),
                "column name must not be empty",
            ));
        }
        let sensor = &target.sensor;
        let id = sensor.get_ref().trim();
        if id.is_empty() {
            diags.push(Diagnostic::at(sensor.span(), "sensor must not be empty"));
            continue;
        }
        if let Some(first) = sensors.get(id) {
            diags.push(
                Diagnostic::at(
                    sensor.span(),
                    format!("sensor {id:?} is already mapped from another column"),
                )
                .with_related(first.span(), "first mapped at"),
            );
        } else {
            sensors.insert(id, sensor);
        }
    }
}

/// Reports the parser's message at the value when it does not parse.
fn parses<E: std::fmt::Display>(
    value: &Option<Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
    parse: impl Fn(&str) -> Result<(), E>,
) {
    if let Some(value) = value
        && let Err(refused) = parse(value.get_ref())
    {
        diags.push(Diagnostic::at(value.span(), refused.to_string()));
    }
}
