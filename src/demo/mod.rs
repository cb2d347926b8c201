//! `floorwatch demo`: a simulated plant served in-process on loopback and read
//! through the real source code paths. `fixtures/demo.toml` is a template:
//! `{mqtt_port}` and `{modbus_port}` are replaced by the ports the in-process
//! services got.

pub mod modbus;
pub mod mqtt;

use crate::config::Config;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The built-in demo plant (a template, see the module docs).
pub const DEMO_CONFIG: &str = include_str!("../../fixtures/demo.toml");

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

pub fn run(args: crate::cli::DemoArgs, verbose: u8) -> Result<u8> {
    let mode = if args.headless {
        crate::logging::Mode::Stderr
    } else {
        crate::logging::Mode::FileOnly
    };
    let _guard = crate::logging::init(mode, verbose);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (db, temp) = match args.db {
        Some(db) => (db, None),
        None => {
            let dir = temp_dir()?;
            (dir.join("demo-history.sqlite"), Some(dir))
        }
    };
    let result = runtime.block_on(async {
        let services = DemoServices::start().await?;
        let mut config = services.config()?;
        if args.ascii {
            config.ui.ascii = Some(true);
        }
        let result = crate::app::run_async(config, db, args.headless).await;
        services.stop();
        result
    });
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

fn temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("floorwatch-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
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
