//! Command-line interface (clap derive) and dispatch.

use crate::error::{BadInput, EXIT_OK};
use crate::{app, config, logging, paths};
use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  floorwatch demo                                   the console on a built-in simulated plant
  floorwatch --config plant.toml                    the console on your plant
  floorwatch run --headless --config plant.toml     record history without a screen (systemd)
  floorwatch check --config plant.toml              validate a config (exit 2 on problems)
  floorwatch invoice --all --period 2026-10 -o inv/ one invoice per customer + summary CSV
  floorwatch simulate modbus --listen 127.0.0.1:5020   a simulated meter and PLC to poll
  floorwatch import --map Voltage=house.voltage:V household.txt
                                                    import CSV history (repeat --map per column)
  floorwatch replay --speed 600 --headless fixtures/factory_day.csv
                                                    play CSV history through the console
  floorwatch export readings --from 2026-10-01 --to 2026-10-02 -o day.csv
  floorwatch export aggregates --every 1h --sensor 'line1.*' -o hourly.csv
  floorwatch completions bash > /etc/bash_completion.d/floorwatch";

#[derive(Debug, Parser)]
#[command(
    name = "floorwatch",
    version,
    about = "Terminal operator console for plant-floor telemetry",
    long_about = "Terminal operator console for plant-floor telemetry: live values from MQTT \
                  brokers and Modbus devices, alarms, history in SQLite, CSV replay, \
                  invoices and reports, from one binary and one TOML file.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
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
    Demo(DemoArgs),
    /// Energy invoices per customer or meter from the history file.
    Invoice(crate::billing::InvoiceArgs),
    /// Import CSV history files into the history file.
    Import(crate::csvio::command::ImportArgs),
    /// Play CSV history through the console as if it were live.
    Replay(crate::csvio::command::ReplayArgs),
    /// Export readings, aggregates or the alarm journal to CSV.
    Export(crate::report::ExportArgs),
    /// Serve built-in simulated devices, to try a config without hardware.
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

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Modbus TCP: a three-phase energy meter (unit 1) and a PLC (unit 2).
    Modbus(crate::demo::modbus::SimulateModbusArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Config file [default: config.toml in the config dir]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// History file [default: history.sqlite in the data dir, or [history] path]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
    /// No screen: record readings and log status lines to stderr until SIGINT/SIGTERM.
    #[arg(long)]
    pub headless: bool,
    /// Draw with ASCII only (no box drawing, blocks or braille) [default: when the locale is not UTF-8]
    #[arg(long)]
    pub ascii: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Config file [default: config.toml in the config dir]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    /// Keep the demo's history in this file (default: a temporary file).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// No screen: log status lines to stderr.
    #[arg(long)]
    pub headless: bool,
    /// Draw with ASCII only (no box drawing, blocks or braille).
    #[arg(long)]
    pub ascii: bool,
}

/// Parses arguments, runs, and returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let result = dispatch(cli);
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("floorwatch: {err:#}");
            crate::error::exit_code(&err)
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Check(args)) => check(args),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "floorwatch",
                &mut std::io::stdout(),
            );
            Ok(EXIT_OK)
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .context("writing the man page")?;
            Ok(EXIT_OK)
        }
        Some(Command::Export(args)) => crate::report::command::run(args),
        Some(Command::Demo(args)) => crate::demo::run(args, cli.verbose),
        Some(Command::Invoice(args)) => {
            let path = config_path(args.config.clone())?;
            crate::billing::command::run(args, &path)
        }
        Some(Command::Simulate(SimulateCommand::Modbus(args))) => {
            let _guard = logging::init(logging::Mode::Stderr, cli.verbose);
            crate::demo::modbus::simulate(args)
        }
        Some(Command::Import(args)) => crate::csvio::command::import(args),
        Some(Command::Replay(args)) => crate::csvio::command::replay(args, cli.verbose),
        Some(Command::Run(args)) => run(args, cli.verbose),
        None => run(cli.run, cli.verbose),
    }
}

fn config_path(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = given.unwrap_or_else(paths::default_config);
    if !path.exists() {
        return Err(BadInput(format!(
            "config file {} not found: pass --config FILE, or try `floorwatch demo`",
            path.display()
        ))
        .into());
    }
    Ok(path)
}

fn check(args: CheckArgs) -> Result<u8> {
    let path = config_path(args.config)?;
    match config::Config::load(&path) {
        Ok(config) => {
            let problems = file_problems(&config);
            if !problems.is_empty() {
                for line in &problems {
                    eprintln!("{line}");
                }
                eprintln!(
                    "{}: {} problem{} found",
                    path.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                return Ok(crate::error::EXIT_BAD_INPUT);
            }
            println!("{}", summary(&config, &path));
            Ok(EXIT_OK)
        }
        Err(errors) => {
            for line in errors.lines() {
                eprintln!("{line}");
            }
            eprintln!(
                "{}: {} problem{} found",
                path.display(),
                errors.diags.len(),
                if errors.diags.len() == 1 { "" } else { "s" }
            );
            Ok(crate::error::EXIT_BAD_INPUT)
        }
    }
}

/// Files the config names that cannot be used (TLS certificates and keys,
/// password files), as `file:line:col: message` of the key that names them.
fn file_problems(config: &config::Config) -> Vec<String> {
    config
        .mqtt
        .iter()
        .flat_map(crate::source::mqtt::connect::preflight)
        .map(|(span, message)| format!("{}: {message}", config.position(span)))
        .collect()
}

fn summary(config: &config::Config, path: &std::path::Path) -> String {
    let patterns = config.mqtt_pattern.len();
    // Template fields no [[sensor]] binds become sensors of their own.
    let from_templates: usize = crate::source::modbus::device_maps(config)
        .map(|maps| maps.iter().map(|m| m.discovered.len()).sum())
        .unwrap_or(0);
    let mut extra = String::new();
    if from_templates > 0 {
        extra.push_str(&format!(" + {from_templates} from Modbus templates"));
    }
    if patterns > 0 {
        extra.push_str(&format!(" + {patterns} topic pattern(s)"));
    }
    format!(
        "{}: ok — plant {:?}: {} MQTT broker(s), {} Modbus device(s), {} sensor(s){extra}, {} tariff(s), {} customer(s)",
        path.display(),
        config.plant.name,
        config.mqtt.len(),
        config.modbus.len(),
        config.sensor.len(),
        config.tariff.len(),
        config.customer.len(),
    )
}

fn run(args: RunArgs, verbose: u8) -> Result<u8> {
    let path = config_path(args.config.clone())?;
    let mut config = config::Config::load(&path)?;
    if args.ascii {
        config.ui.ascii = Some(true);
    }
    let db = args
        .db
        .clone()
        .or_else(|| config.history.path.clone())
        .unwrap_or_else(paths::default_history);
    let mode = if args.headless {
        logging::Mode::Stderr
    } else {
        logging::Mode::FileOnly
    };
    let _guard = logging::init(mode, verbose);
    app::run(config, db, args.headless)
}
