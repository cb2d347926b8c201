//! The Modbus side of the demo plant: the built-in meter (unit 1) and PLC
//! (unit 2) served over Modbus TCP, and a config that polls them
//! (`floorwatch simulate modbus --print-config`).

use super::DemoServices;
use crate::config::Table;
use crate::source::modbus::sim::{
    self, METER_HOLE, METER_MAP, METER_UNIT, PLC_MAP, PLC_UNIT, SimOptions, Simulator,
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
