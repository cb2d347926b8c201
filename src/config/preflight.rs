//! What `check` and `run` look at beyond the text, before anything starts:
//! the files a config names, the theme it picks, and whether it gives the
//! console anything to show. Both commands report the same lines (exit 2).

use super::locate::{Document, key_path};
use super::{Config, ConfigErrors, Diagnostic};
use std::path::Path;

/// What a config is loaded for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `run`: the console needs sources or sensors.
    Console,
    /// `check`: any part of the config may be the point (`[[import]]`
    /// profiles, tariffs), but an empty config is a mistake.
    Check,
}

impl Config {
    /// Reads a config for `run` or `check`: every problem of its text and of
    /// what it names (files, theme), reported together.
    pub fn load_for(path: &Path, purpose: Purpose) -> Result<Config, ConfigErrors> {
        let text = super::read_text(path)?;
        let config = Config::deserialize(path, &text)?;
        let mut diags = super::validate::validate(&config);
        diags.extend(problems(&config, purpose));
        config.unless(diags)
    }
}

/// Problems of the config's surroundings.
fn problems(config: &Config, purpose: Purpose) -> Vec<Diagnostic> {
    let doc = Document::parse(&config.source);
    let mut diags = Vec::new();
    check_something_to_do(config, purpose, &mut diags);
    check_theme(config, &doc, &mut diags);
    check_named_files(config, &mut diags);
    diags
}

/// A console without sources and sensors shows and records nothing. `check`
/// accepts a config that only serves other commands (`import` profiles,
/// tariffs), not one that serves none (an empty file).
fn check_something_to_do(config: &Config, purpose: Purpose, diags: &mut Vec<Diagnostic>) {
    let for_console = !(config.mqtt.is_empty()
        && config.modbus.is_empty()
        && config.sensor.is_empty()
        && config.mqtt_pattern.is_empty());
    let for_other_commands =
        !(config.import.is_empty() && config.tariff.is_empty() && config.customer.is_empty());
    let enough = match purpose {
        Purpose::Console => for_console,
        Purpose::Check => for_console || for_other_commands,
    };
    if !enough {
        diags.push(Diagnostic::at(
            0..0,
            "no sources, no sensors: add an [[mqtt]] broker or a [[modbus]] device and \
             [[sensor]] entries that read from it (or try `floorwatch demo`)",
        ));
    }
}

/// `[ui] theme` names a built-in theme or one in `themes/` of the config dir.
fn check_theme(config: &Config, doc: &Document<'_>, diags: &mut Vec<Diagnostic>) {
    let Some(wanted) = &config.ui.theme else {
        return;
    };
    let user_themes = crate::paths::user_themes();
    let (themes, _) = crate::ui::theme::load_all(Some(&user_themes));
    if themes.iter().any(|t| t.name == *wanted) {
        return;
    }
    let names: Vec<&str> = themes.iter().map(|t| t.name.as_str()).collect();
    diags.push(Diagnostic::at(
        doc.span(key_path!["ui", "theme"]).unwrap_or(0..0),
        format!(
            "unknown theme {wanted:?} (available: {}; user themes go in {})",
            names.join(", "),
            user_themes.display()
        ),
    ));
}

/// TLS certificates and keys and password files: each at the key naming it.
fn check_named_files(config: &Config, diags: &mut Vec<Diagnostic>) {
    let problems = config
        .mqtt
        .iter()
        .flat_map(crate::source::mqtt::connect::preflight);
    diags.extend(problems.map(|(span, message)| Diagnostic::at(span, message)));
}
