//! The Modbus side of the demo plant, and `floorwatch simulate modbus`: the
//! built-in meter (unit 1) and PLC (unit 2) served over Modbus TCP.

use super::DemoServices;
use crate::config::{Dur, Table};
use crate::source::modbus::sim::{
    self, ExceptionRule, Faults, METER_HOLE, METER_MAP, METER_UNIT, PLC_MAP, PLC_UNIT, SimOptions,
    Simulator,
};
use anyhow::{Context, Result};
use std::net::SocketAddr;

/// Starts the simulator on an ephemeral loopback port for the demo config's `{modbus_port}`.
pub async fn start(services: &mut DemoServices) -> Result<()> {
    let simulator = Simulator::new(SimOptions::default());
    let server = simulator
        .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("starting the demo Modbus simulator on 127.0.0.1")?;
    services.modbus_port = Some(server.addr.port());
    services.tasks.push(tokio::spawn(async move {
        // Serves until the demo stops and aborts this task, which drops both.
        let _serving = (simulator, server);
        std::future::pending::<()>().await;
    }));
    Ok(())
}

#[derive(Debug, clap::Args, Clone)]
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

/// `floorwatch simulate modbus`: serves until SIGINT/SIGTERM.
pub fn simulate(args: SimulateModbusArgs) -> Result<u8> {
    if args.print_config {
        print!("{}", simulator_config(args.listen));
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
        crate::app::shutdown_signal().await;
        let codes = simulator.function_codes();
        eprintln!(
            "floorwatch: simulator stopped after {} requests (function codes: {codes:?})",
            simulator.requests()
        );
        server.stop().await;
        Ok(crate::error::EXIT_OK)
    })
}

/// A config polling every value of the simulator at `addr`.
pub fn simulator_config(addr: SocketAddr) -> String {
    let mut out = String::from("# Polls `floorwatch simulate modbus`.\n");
    out.push_str(&sim::template_toml(
        "sim-meter",
        &METER_MAP,
        &[(Table::Input, METER_HOLE.0, METER_HOLE.1)],
    ));
    out.push_str(&sim::template_toml("sim-plc", &PLC_MAP, &[]));
    for (name, unit, template) in [
        ("meter", METER_UNIT, "sim-meter"),
        ("plc", PLC_UNIT, "sim-plc"),
    ] {
        out.push_str(&format!(
            "\n[[modbus]]\nname = \"{name}\"\nurl = \"tcp://{addr}\"\nunit = {unit}\npoll = \"1s\"\ntimeout = \"500ms\"\ntemplate = \"{template}\"\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_simulator_config_is_valid() {
        let text = simulator_config("127.0.0.1:5020".parse().unwrap());
        let config = crate::config::Config::parse(std::path::Path::new("sim.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let maps = crate::source::modbus::device_maps(&config).unwrap();
        assert_eq!(maps.iter().map(|m| m.fields.len()).sum::<usize>(), 72);
    }
}
