//! What `check` and `run` know beyond the config text, for
//! [`Config::load_for`](crate::config::Config::load_for): the themes the
//! console can show and the files the MQTT connector reads. The config
//! layer reports the problems; the knowledge lives up here.

use crate::config::{Diagnostic, MqttBroker, Surroundings};
use std::path::Path;

/// The console's themes and the MQTT connector's file checks.
pub(super) struct ConsoleSurroundings;

impl Surroundings for ConsoleSurroundings {
    fn theme_names(&self, user_dir: &Path) -> Vec<String> {
        let (themes, _) = crate::ui::theme::load_all(Some(user_dir));
        themes.into_iter().map(|theme| theme.name).collect()
    }

    fn broker_file_problems(&self, broker: &MqttBroker) -> Vec<Diagnostic> {
        crate::source::mqtt::connect::preflight(broker)
            .into_iter()
            .map(|problem| Diagnostic::at(problem.span, problem.error.to_string()))
            .collect()
    }
}
