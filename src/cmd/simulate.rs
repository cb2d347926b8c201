//! `floorwatch simulate modbus`: the built-in meter (unit 1) and PLC (unit 2)
//! served over Modbus TCP until SIGINT/SIGTERM, to try a config without hardware.

use crate::app::shutdown_signal;
use crate::config::Dur;
use crate::logging;
use crate::sim::modbus::{ExceptionRule, Faults, METER_UNIT, PLC_UNIT, SimOptions, Simulator};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::net::SocketAddr;

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Modbus TCP: a three-phase energy meter (unit 1) and a PLC (unit 2).
    Modbus(SimulateModbusArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SimulateModbusArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5020")]
    pub listen: SocketAddr,
    /// Seed of the simulated values (same seed, same values).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How often the values change, e.g. "1s".
    #[arg(long, default_value = "1s")]
    pub period: Dur,
    /// Delay every reply by this long, e.g. "200ms".
    #[arg(long)]
    pub latency: Option<Dur>,
    /// Leave every Nth request unanswered (the client times out).
    #[arg(long, value_name = "N")]
    pub timeout_every: Option<u64>,
    /// Answer every Nth request with exception 6 (server busy).
    #[arg(long, value_name = "N")]
    pub busy_every: Option<u64>,
    /// Answer reads touching a range with an exception: TABLE:FROM[-TO]=CODE[@UNIT],
    /// e.g. input:36-37=2. Repeatable.
    #[arg(long, value_name = "RULE")]
    pub exception: Vec<ExceptionRule>,
    /// Print a config that polls this simulator, then exit.
    #[arg(long)]
    pub print_config: bool,
}

pub(super) fn run(command: SimulateCommand, verbose: u8) -> Result<u8> {
    let _guard = logging::init(logging::Mode::Stderr, verbose);
    match command {
        SimulateCommand::Modbus(args) => modbus(args),
    }
}

/// `floorwatch simulate modbus`: serves until SIGINT/SIGTERM.
fn modbus(args: SimulateModbusArgs) -> Result<u8> {
    if args.print_config {
        print!("{}", crate::sim::modbus::polling_config(args.listen));
        return Ok(crate::error::EXIT_OK);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let simulator = Simulator::new(SimOptions {
            seed: args.seed,
            period: Some(args.period.0.max(std::time::Duration::from_millis(10))),
            faults: Faults {
                latency: args.latency.map(|d| d.0).unwrap_or_default(),
                timeout_every: args.timeout_every,
                busy_every: args.busy_every,
                exceptions: args.exception.clone(),
            },
        });
        let server = simulator
            .serve(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!(
            "floorwatch: Modbus simulator listening on {} (meter: unit {METER_UNIT}, PLC: unit {PLC_UNIT}); \
             `floorwatch simulate modbus --print-config` prints a config for it; Ctrl-C stops",
            server.addr
        );
        shutdown_signal().await;
        let codes = simulator.function_codes();
        eprintln!(
            "floorwatch: simulator stopped after {} requests (function codes: {codes:?})",
            simulator.requests()
        );
        server.stop().await;
        Ok(crate::error::EXIT_OK)
    })
}
