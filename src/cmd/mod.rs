//! The commands layer: the command line (clap derive) and dispatch. Each
//! subcommand lives in its own file with its arguments and orchestration;
//! the modules below (csvio, report, billing, store, ...) know nothing of it.
//! `demo` and `simulate` exist only with the cargo feature `demo`.

mod check;
mod completions;
mod db;
#[cfg(feature = "demo")]
mod demo;
mod export;
mod history;
mod import;
mod invoice;
mod replay;
mod run;
#[cfg(feature = "demo")]
mod simulate;
mod surroundings;

pub use check::CheckArgs;
pub use db::DbCommand;
#[cfg(feature = "demo")]
pub use demo::DemoArgs;
pub use export::ExportArgs;
pub use import::{CsvArgs, ImportArgs};
pub use invoice::InvoiceArgs;
pub use replay::ReplayArgs;
pub use run::RunArgs;
#[cfg(feature = "demo")]
pub use simulate::{SimulateCommand, SimulateModbusArgs};

use crate::config::ConfigErrors;
use crate::error::{BadInput, EXIT_BAD_INPUT};
use crate::paths;
use anyhow::Result;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// The examples of the simulator subcommands (feature `demo`).
#[cfg(feature = "demo")]
macro_rules! simulator_examples {
    () => {
        "
  floorwatch demo                                   the console on a built-in simulated plant
  floorwatch simulate modbus --listen 127.0.0.1:5020   a simulated meter and PLC to poll"
    };
}

/// The examples of the subcommands every build has.
macro_rules! plant_examples {
    () => {
        "
  floorwatch --config plant.toml                    the console on your plant
  floorwatch run --headless --config plant.toml     record history without a screen (systemd)
  floorwatch check --config plant.toml              validate a config (exit 2 on problems)
  floorwatch invoice --all --period 2026-10 -o inv/ one invoice per customer + summary CSV
  floorwatch import --map Voltage=house.voltage:V household.txt
                                                    import CSV history (repeat --map per column)
  floorwatch replay --speed 600 --headless fixtures/factory_day.csv
                                                    play CSV history through the console
  floorwatch export readings --from 2026-10-01 --to 2026-10-02 -o day.csv
  floorwatch export aggregates --every 1h --sensor 'line1.*' -o hourly.csv
  floorwatch db check --db history.sqlite           ok (exit 0), or the damage found (exit 2)
  floorwatch completions bash > /etc/bash_completion.d/floorwatch"
    };
}

#[cfg(feature = "demo")]
const EXAMPLES: &str = concat!("Examples:", simulator_examples!(), plant_examples!());
#[cfg(not(feature = "demo"))]
const EXAMPLES: &str = concat!("Examples:", plant_examples!());

/// Where to turn without a config file.
#[cfg(feature = "demo")]
const NO_CONFIG_HINT: &str = "pass --config FILE, or try `floorwatch demo`";
#[cfg(not(feature = "demo"))]
const NO_CONFIG_HINT: &str = "pass --config FILE";

#[derive(Debug, Parser)]
#[command(
    name = "floorwatch",
    version,
    about = "Terminal operator console for plant-floor telemetry",
    long_about = "Terminal operator console for plant-floor telemetry: live values from MQTT \
                  brokers and Modbus devices, alarms, history in SQLite, CSV replay, \
                  invoices and reports, from one binary and one TOML file.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
    /// More log detail (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console on a config (the default command).
    Run(RunArgs),
    /// Validate a config: every problem as file:line:col: message.
    Check(CheckArgs),
    /// The console on a built-in simulated plant; needs no config or network.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Energy invoices per customer or meter from the history file.
    Invoice(InvoiceArgs),
    /// Import CSV history files into the history file.
    Import(ImportArgs),
    /// Play CSV history through the console as if it were live.
    Replay(ReplayArgs),
    /// Export readings, aggregates or the alarm journal to CSV.
    Export(ExportArgs),
    /// The history file: `db check` for damage (exit 2 when damaged), `db status`.
    #[command(subcommand)]
    Db(DbCommand),
    /// Serve built-in simulated devices, to try a config without hardware.
    #[cfg(feature = "demo")]
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Parses arguments, runs, and returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let result = dispatch(cli);
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("floorwatch: {}", crate::error::describe(&err));
            crate::error::exit_code(&err)
        }
    }
}

impl Cli {
    /// Parses a command line. Global flags (`-v`) go before or after the
    /// subcommand; the console's own options (`--config`, `--headless`, ...)
    /// before a subcommand are refused rather than silently ignored.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some((subcommand, _)) = matches.subcommand()
            && let Some(option) = console_option_given(&matches)
        {
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "'--{option}' cannot be used before the '{subcommand}' subcommand; \
                     write it after: floorwatch {subcommand} --{option} ..."
                ),
            ));
        }
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }
}

/// A top-level console option (not a global flag) written on the command line.
fn console_option_given(matches: &ArgMatches) -> Option<String> {
    matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| *id != "verbose")
        .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(str::to_owned)
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Completions { shell }) => completions::completions(shell),
        Some(Command::Man) => completions::man(),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::Db(command)) => db::run(command),
        #[cfg(feature = "demo")]
        Some(Command::Demo(args)) => demo::run(args, cli.verbose),
        Some(Command::Invoice(args)) => {
            let path = config_path(args.config.clone())?;
            invoice::run(args, &path)
        }
        #[cfg(feature = "demo")]
        Some(Command::Simulate(command)) => simulate::run(command, cli.verbose),
        Some(Command::Import(args)) => import::run(args),
        Some(Command::Replay(args)) => replay::run(args, cli.verbose),
        Some(Command::Run(args)) => run::run(args, cli.verbose),
        None => run::run(cli.run, cli.verbose),
    }
}

pub(crate) fn config_path(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = given.unwrap_or_else(paths::default_config);
    if !path.exists() {
        return Err(BadInput(format!(
            "config file {} not found: {NO_CONFIG_HINT}",
            path.display()
        ))
        .into());
    }
    Ok(path)
}

/// Prints each problem as `file:line:col: message` and a count: exit code 2.
pub(crate) fn report(errors: &ConfigErrors) -> u8 {
    for line in errors.lines() {
        eprintln!("{line}");
    }
    let count = errors.diags.len();
    eprintln!(
        "{}: {count} problem{} found",
        errors.path.display(),
        if count == 1 { "" } else { "s" }
    );
    EXIT_BAD_INPUT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbose_of(args: &[&str]) -> u8 {
        let cli = Cli::parse_args(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        cli.verbose
    }

    #[test]
    fn verbose_goes_before_or_after_a_subcommand() {
        let cli = Cli::try_parse_from(["floorwatch", "-vv", "run", "--config", "x.toml"]).unwrap();
        assert_eq!(cli.verbose, 2);
        let Some(Command::Run(run)) = cli.command else {
            panic!("not run: {:?}", cli.command);
        };
        assert_eq!(run.config, Some(PathBuf::from("x.toml")));
        for args in [
            &["floorwatch", "-vv", "run", "--headless"][..],
            &["floorwatch", "run", "-vv", "--headless"],
            &["floorwatch", "run", "--headless", "-v", "-v"],
            &["floorwatch", "-vv", "check", "--config", "x.toml"],
        ] {
            assert_eq!(verbose_of(args), 2, "{args:?}");
        }
    }

    #[test]
    fn the_console_needs_no_subcommand() {
        let cli =
            Cli::parse_args(["floorwatch", "-v", "--config", "x.toml", "--headless"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.verbose, 1);
        assert_eq!(cli.run.config, Some(PathBuf::from("x.toml")));
        assert!(cli.run.headless);
    }

    #[test]
    fn console_options_before_a_subcommand_are_refused() {
        let err = Cli::parse_args(["floorwatch", "--headless", "replay", "day.csv"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(
            err.to_string()
                .contains("'--headless' cannot be used before the 'replay' subcommand"),
            "{err}"
        );
        let err = Cli::parse_args(["floorwatch", "--config", "x.toml", "check"]).unwrap_err();
        assert!(err.to_string().contains("'--config'"), "{err}");
    }
}
