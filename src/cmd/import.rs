//! `floorwatch import`: arguments, progress display and summaries, and the
//! CSV reading flags shared with `replay`. The work itself is in
//! [`crate::csvio::import`].

use crate::config::{Config, ImportProfile};
use crate::csvio::import::{FileReport, ImportError, ImportOptions, Progress};
use crate::csvio::{
    ColumnMap, ColumnName, CsvOptions, DateFormat, DecimalMark, Layout, TimeColumnNames,
};
use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_OK};
use crate::store::bulk::BulkStore;
use anyhow::{Context, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// How to read CSV files (shared by `import` and `replay`).
#[derive(Debug, Args, Clone, Default)]
pub struct CsvArgs {
    /// Wide files: take column COL as sensor SENSOR (created with UNIT). Repeat for
    /// more columns; with any --map only mapped columns are read. Default: every
    /// column, named by its header.
    #[arg(long = "map", value_name = "COL=SENSOR[:UNIT]")]
    pub map: Vec<ColumnMap>,
    /// Zone of timestamps written without an offset [default: the config's plant timezone, else UTC]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Field delimiter: a character or "tab" [default: detected from the header]
    #[arg(long, value_name = "CHAR", value_parser = crate::csvio::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// auto, dmy (DD/MM/YYYY), mdy (MM/DD/YYYY), epoch-s, epoch-ms, or a chrono
    /// pattern like "%d.%m.%Y %H:%M" [default: auto; slash dates only when a day > 12 proves the order]
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<DateFormat>,
    /// Decimal mark: point or comma [default: comma when values look like 21,5 and the delimiter is not a comma]
    #[arg(long, value_name = "MARK")]
    pub decimal: Option<DecimalMark>,
    /// long (timestamp,sensor,value[,unit][,quality]) or wide (timestamp + a column per sensor) [default: from the header]
    #[arg(long, value_name = "LAYOUT")]
    pub layout: Option<Layout>,
    /// The timestamp column (with --date-col: the time-of-day column) [default: found by its header name]
    #[arg(long, value_name = "COL")]
    pub time_col: Option<String>,
    /// The date column when date and time are in two columns (needs --time-col)
    #[arg(long, value_name = "COL", requires = "time_col")]
    pub date_col: Option<String>,
    /// Read the files as the config's [[import]] profile NAME says (column
    /// mapping, delimiter, time columns...); the flags above override its keys
    /// [default: the first profile whose `files` glob matches the file]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file, for the plant timezone, known sensors and [[import]] profiles (used when it exists)
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ImportArgs {
    /// CSV files (.csv, .txt, .tsv; gzip-compressed files are detected)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// History file [default: history.sqlite in the data dir, or [history] path]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// Stop at the first bad row; nothing from that file is stored; exit 2
    #[arg(long)]
    pub strict: bool,
    /// Reject readings of sensors that are neither in the config nor in the history
    #[arg(long)]
    pub known_only: bool,
    #[command(flatten)]
    pub csv: CsvArgs,
}

impl CsvArgs {
    /// The config named by --config, or the default one when it exists.
    pub fn load_config(&self) -> Result<Option<Config>> {
        let path = match &self.config {
            Some(path) => path.clone(),
            None => {
                let default = crate::paths::default_config();
                if !default.exists() {
                    return Ok(None);
                }
                default
            }
        };
        if !path.exists() {
            return Err(BadInput(format!("config file {} not found", path.display())).into());
        }
        Ok(Some(Config::load(&path)?))
    }

    /// The `[[import]]` profile for `file`: `--profile`, else the first whose
    /// `files` glob matches. An unknown `--profile` is bad usage.
    pub fn profile<'c>(
        &self,
        config: Option<&'c Config>,
        file: Option<&Path>,
    ) -> Result<Option<&'c ImportProfile>> {
        let Some(name) = &self.profile else {
            return Ok(config.zip(file).and_then(|(c, f)| c.import_profile_for(f)));
        };
        let Some(config) = config else {
            return Err(BadInput(format!(
                "--profile {name:?}: no config file (give --config FILE with an [[import]] named {name:?})"
            ))
            .into());
        };
        config.import_profile(name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = config
                .import
                .iter()
                .map(|p| p.name.get_ref().as_str())
                .collect();
            let defined = if names.is_empty() {
                "no [[import]] is defined".to_owned()
            } else {
                format!("defined: {}", names.join(", "))
            };
            BadInput(format!(
                "--profile {name:?}: no [[import]] of that name in {} ({defined})",
                config.origin.display()
            ))
            .into()
        })
    }

    /// How to read `file`: defaults, then its `[[import]]` profile, then the flags.
    pub fn options_for(&self, config: Option<&Config>, file: Option<&Path>) -> Result<CsvOptions> {
        let mut options = crate::csvio::profile::base_options(config);
        if let (Some(profile), Some(config)) = (self.profile(config, file)?, config) {
            crate::csvio::profile::apply(profile, config, &mut options)
                .map_err(|e| BadInput(e.to_string()))?;
        }
        self.apply_flags(&mut options)?;
        Ok(options)
    }

    /// The flags given on the command line, over whatever `options` holds.
    fn apply_flags(&self, options: &mut CsvOptions) -> Result<()> {
        if let Some(name) = &self.tz {
            options.tz = name.parse::<chrono_tz::Tz>().map_err(|_| {
                BadInput(format!(
                    "--tz {name:?}: unknown timezone; expected an IANA name like \"Europe/Paris\" or \"UTC\""
                ))
            })?;
        }
        if self.delimiter.is_some() {
            options.delimiter = self.delimiter;
        }
        if self.decimal.is_some() {
            options.decimal = self.decimal;
        }
        if let Some(format) = &self.date_format {
            options.date_format = format.clone();
        }
        if !self.map.is_empty() {
            options.map = self.map.clone();
        }
        if self.layout.is_some() {
            options.layout = self.layout;
        }
        if let Some(time) = &self.time_col {
            options.time_columns = Some(TimeColumnNames {
                time: ColumnName::from(time.as_str()),
                date: self.date_col.as_deref().map(ColumnName::from),
            });
        }
        Ok(())
    }
}

pub(super) fn run(args: ImportArgs) -> Result<u8> {
    let config = args.csv.load_config()?;
    let db = super::history::location(args.db.as_deref(), config.as_ref().map(|c| &c.history))?;
    let store = crate::store::bulk::open(&db).with_context(|| format!("opening history {db}"))?;
    if let Some(config) = &config {
        register_config_sensors(&store, config)?;
    }
    let known: Option<std::collections::HashSet<String>> = if args.known_only {
        Some(store.known_sensors()?.into_iter().collect())
    } else {
        None
    };
    for file in &args.files {
        let mut csv = args.csv.options_for(config.as_ref(), Some(file))?;
        csv.known = known.clone();
        let options = ImportOptions {
            csv,
            strict: args.strict,
            ..Default::default()
        };
        match import_one(&store, file, &options) {
            Ok(report) => print_report(&report),
            Err(e) if e.is_bad_input() => {
                eprintln!("floorwatch: {e}");
                return Ok(EXIT_BAD_INPUT);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(EXIT_OK)
}

fn register_config_sensors(store: &BulkStore, config: &Config) -> Result<()> {
    let mut loader = store.loader()?;
    loader.begin()?;
    for meta in config.sensor_metas() {
        loader.sensor(&meta)?;
    }
    loader.commit()?;
    Ok(())
}

fn import_one(
    store: &BulkStore,
    file: &Path,
    options: &ImportOptions,
) -> Result<FileReport, ImportError> {
    let bar = progress_bar(file);
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes);
            let secs = bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{} rows, {:.0} rows/s",
                p.rows,
                p.rows as f64 / secs
            ));
        }
        std::ops::ControlFlow::Continue(())
    };
    let result = crate::csvio::import::import_file(store, file, options, &mut on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// A bar on a terminal (bytes of the file, rows/s, ETA); nothing when piped.
fn progress_bar(file: &Path) -> Option<indicatif::ProgressBar> {
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = sized_bar(len)?;
    bar.set_prefix(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    Some(bar)
}

pub(super) fn sized_bar(len: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {percent:>3}% {msg} ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    Some(bar)
}

fn print_report(report: &FileReport) {
    for row in &report.examples {
        eprintln!("{row}");
    }
    let more = report.stats.bad_rows() - report.examples.len() as u64;
    if more > 0 {
        eprintln!("{}: … and {more} more bad rows", report.file);
    }
    println!("{}", report.summary());
}
