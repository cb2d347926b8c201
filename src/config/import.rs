//! `[[import]]`: how `floorwatch import` (and `replay`) read one family of CSV
//! files — which column becomes which sensor (created with its unit), and
//! overrides of what the reader would otherwise detect. A profile is chosen
//! with `--profile NAME`, or by its `files` glob; command-line flags override
//! its keys one by one.
//!
//! Every value here is checked by `floorwatch check` with the same parsers the
//! command-line flags use (see `validate/import.rs`).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportProfile {
    /// `floorwatch import --profile NAME`.
    pub name: Spanned<String>,
    /// Glob on the file name (on the path as given when it contains `/`):
    /// matching files use this profile without `--profile`. First match wins.
    pub files: Option<Spanned<String>>,
    /// Like `--delimiter`: one character or `"tab"`.
    pub delimiter: Option<Spanned<String>>,
    /// Like `--decimal`: `"point"` or `"comma"`.
    pub decimal: Option<Spanned<String>>,
    /// Like `--date-format`: auto, dmy, mdy, epoch-s, epoch-ms or a chrono pattern.
    pub date_format: Option<Spanned<String>>,
    /// Like `--tz`: zone of timestamps written without an offset [default: the plant timezone].
    pub timezone: Option<Spanned<String>>,
    /// Like `--layout`: `"long"` or `"wide"`.
    pub layout: Option<Spanned<String>>,
    /// Like `--time-col`: the timestamp column (the time-of-day column with `date_column`).
    pub time_column: Option<Spanned<String>>,
    /// Like `--date-col`: the date column when date and time are split.
    pub date_column: Option<Spanned<String>>,
    /// Wide files, like `--map`: header name = sensor. With any entry only the
    /// mapped columns are read.
    #[serde(default)]
    pub columns: BTreeMap<Spanned<String>, ColumnTarget>,
}

/// What one column of a wide file becomes: `Voltage = { sensor = "house.voltage", unit = "V" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnTarget {
    pub sensor: Spanned<String>,
    /// Unit of the sensor when the import creates it (or finds it without one).
    pub unit: Option<String>,
    /// Display name of the sensor when the import creates it [default: the id].
    pub name: Option<String>,
}

impl ImportProfile {
    /// `[import.columns]` in the order they are written.
    pub fn columns_in_order(&self) -> Vec<(&Spanned<String>, &ColumnTarget)> {
        let mut columns: Vec<_> = self.columns.iter().collect();
        columns.sort_by_key(|(column, _)| column.span().start);
        columns
    }

    /// Does `path` (as given on the command line) fall under this profile's `files` glob?
    pub fn matches(&self, path: &std::path::Path) -> bool {
        let Some(pattern) = &self.files else {
            return false;
        };
        let pattern = pattern.get_ref();
        let Ok(glob) = globset::Glob::new(pattern) else {
            return false;
        };
        let matcher = glob.compile_matcher();
        if pattern.contains('/') {
            matcher.is_match(path)
        } else {
            path.file_name().is_some_and(|name| matcher.is_match(name))
        }
    }
}
