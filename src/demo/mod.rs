//! `floorwatch demo`: a simulated plant served in-process on loopback and read
//! through the real source code paths. `plant.toml` beside it is a template:
//! `{mqtt_port}` and `{modbus_port}` are replaced by the ports the in-process
//! services got.

pub mod modbus;
pub mod mqtt;

use crate::config::Config;
use anyhow::Result;
use std::path::Path;

/// The built-in demo plant (a template, see the module docs).
pub const DEMO_CONFIG: &str = include_str!("plant.toml");

/// The in-process services the demo plant talks to. Each protocol adds its
/// server here (in-process MQTT broker + publishers, Modbus simulator).
#[derive(Default)]
pub struct DemoServices {
    pub mqtt_port: Option<u16>,
    pub modbus_port: Option<u16>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DemoServices {
    pub async fn start() -> Result<DemoServices> {
        let mut services = DemoServices::default();
        modbus::start(&mut services).await?;
        mqtt::start(&mut services).await?;
        Ok(services)
    }

    /// The demo config with the services' ports filled in.
    pub fn config(&self) -> Result<Config> {
        let mut text = DEMO_CONFIG.to_owned();
        if let Some(port) = self.mqtt_port {
            text = text.replace("{mqtt_port}", &port.to_string());
        }
        // Without a running simulator (config checks) port 0 keeps the url valid.
        let modbus_port = self.modbus_port.unwrap_or(0);
        text = text.replace("{modbus_port}", &modbus_port.to_string());
        Ok(Config::parse(Path::new("<built-in demo>"), &text)?)
    }

    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid() {
        let services = DemoServices {
            mqtt_port: Some(1883),
            modbus_port: Some(502),
            ..Default::default()
        };
        let config = services.config().unwrap();
        assert!(config.sensor.len() >= 5);
    }
}
