//! The Modbus side of the demo plant: the built-in meter (unit 1) and PLC
//! (unit 2) of [`crate::sim::modbus`], served over Modbus TCP on loopback.

use super::DemoServices;
use crate::sim::modbus::{SimOptions, Simulator};
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
