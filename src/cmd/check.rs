//! `floorwatch check`: validate a config, every problem as file:line:col: message.

use super::surroundings::ConsoleSurroundings;
use super::{config_path, report};
use crate::config::{Config, Purpose};
use crate::error::EXIT_OK;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Config file [default: config.toml in the config dir]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

pub(super) fn run(args: CheckArgs) -> Result<u8> {
    let path = config_path(args.config)?;
    match Config::load_for(&path, Purpose::Check, &ConsoleSurroundings) {
        Ok(config) => {
            println!("{}", summary(&config, &path));
            Ok(EXIT_OK)
        }
        Err(errors) => Ok(report(&errors)),
    }
}

fn summary(config: &Config, path: &std::path::Path) -> String {
    let patterns = config.mqtt_pattern.len();
    // Template fields no [[sensor]] binds become sensors of their own.
    let from_templates: usize = crate::source::modbus::device_maps(config)
        .map(|maps| maps.iter().map(|m| m.template_made().count()).sum())
        .unwrap_or(0);
    let mut extra = String::new();
    if from_templates > 0 {
        extra.push_str(&format!(" + {from_templates} from Modbus templates"));
    }
    if patterns > 0 {
        extra.push_str(&format!(" + {patterns} topic pattern(s)"));
    }
    if !config.listen.is_empty() {
        extra.push_str(&format!(" + {} listener(s)", config.listen.len()));
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
