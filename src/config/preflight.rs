//! What `check` and `run` look at beyond the text, before anything starts:
//! the files a config names, the theme it picks, and whether it gives the
//! console anything to show. Both commands report the same lines (exit 2).
//!
//! Which themes exist and what a broker's files must hold is known only to
//! the layers above (the console, the MQTT connector): the command passes
//! that knowledge in as [`Surroundings`].

use super::locate::{Document, key_path};
use super::{Config, ConfigErrors, Diagnostic, MqttBroker};
use std::path::Path;

/// What the layers above know about the world a config runs in.
pub trait Surroundings {
    /// The names of the themes the console can show: built-in ones, then
    /// the user themes in `user_dir` that load.
    fn theme_names(&self, user_dir: &Path) -> Vec<String>;

    /// Problems of the files `broker` names (TLS certificates and keys,
    /// password file), each at the key naming the file.
    fn broker_file_problems(&self, broker: &MqttBroker) -> Vec<Diagnostic>;
}

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
    pub fn load_for(
        path: &Path,
        purpose: Purpose,
        surroundings: &dyn Surroundings,
    ) -> Result<Config, ConfigErrors> {
        let text = super::read_text(path)?;
        let (config, mut diags) = Config::deserialize(path, &text)?;
        diags.extend(super::validate::validate(&config));
        diags.extend(problems(&config, purpose, surroundings));
        config.unless(diags)
    }
}

/// Problems of the config's surroundings.
fn problems(config: &Config, purpose: Purpose, surroundings: &dyn Surroundings) -> Vec<Diagnostic> {
    let doc = Document::parse(&config.source);
    let mut diags = Vec::new();
    check_something_to_do(config, purpose, &mut diags);
    check_theme(config, &doc, surroundings, &mut diags);
    for broker in &config.mqtt {
        diags.extend(surroundings.broker_file_problems(broker));
    }
    diags
}

/// A console without sources and sensors shows and records nothing. `check`
/// accepts a config that only serves other commands (`import` profiles,
/// tariffs), not one that serves none (an empty file).
fn check_something_to_do(config: &Config, purpose: Purpose, diags: &mut Vec<Diagnostic>) {
    let for_console = !(config.mqtt.is_empty()
        && config.modbus.is_empty()
        && config.sensor.is_empty()
        && config.mqtt_pattern.is_empty()
        && config.listen.is_empty());
    let for_other_commands =
        !(config.import.is_empty() && config.tariff.is_empty() && config.customer.is_empty());
    let enough = match purpose {
        Purpose::Console => for_console,
        Purpose::Check => for_console || for_other_commands,
    };
    if !enough {
        let demo_hint = if cfg!(feature = "demo") {
            " (or try `floorwatch demo`)"
        } else {
            ""
        };
        diags.push(Diagnostic::at(
            0..0,
            format!(
                "no sources, no sensors: add an [[mqtt]] broker or a [[modbus]] device and \
                 [[sensor]] entries that read from it{demo_hint}"
            ),
        ));
    }
}

/// `[ui] theme` names a built-in theme or one in `themes/` of the config dir.
fn check_theme(
    config: &Config,
    doc: &Document<'_>,
    surroundings: &dyn Surroundings,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(wanted) = &config.ui.theme else {
        return;
    };
    let user_themes = crate::paths::user_themes();
    let names = surroundings.theme_names(&user_themes);
    if names.contains(wanted) {
        return;
    }
    diags.push(Diagnostic::at(
        doc.span(key_path!["ui", "theme"]).unwrap_or(0..0),
        format!(
            "unknown theme {wanted:?} (available: {}; user themes go in {})",
            names.join(", "),
            user_themes.display()
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two themes, and an unreadable password file wherever a broker names one.
    struct Fake;

    impl Surroundings for Fake {
        fn theme_names(&self, _user_dir: &Path) -> Vec<String> {
            vec!["default".into(), "plantfloor".into()]
        }

        fn broker_file_problems(&self, broker: &MqttBroker) -> Vec<Diagnostic> {
            let files = broker.password_file.iter();
            files
                .map(|file| Diagnostic::at(file.span(), "password_file: unreadable"))
                .collect()
        }
    }

    /// `line:col: message` of every problem, or nothing when the config loads.
    fn problems(text: &str, purpose: Purpose) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plant.toml");
        std::fs::write(&path, text).unwrap();
        let prefix = format!("{}:", path.display());
        match Config::load_for(&path, purpose, &Fake) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .lines()
                .iter()
                .map(|line| line.strip_prefix(&prefix).unwrap().to_owned())
                .collect(),
        }
    }

    const BROKER: &str = "[[mqtt]]\nname = \"b\"\nurl = \"mqtt://127.0.0.1:1883\"\n\
                          username = \"ops\"\npassword_file = \"pass\"\n";

    #[test]
    fn what_the_surroundings_know_is_reported_with_the_text_in_file_order() {
        let lines = problems(
            &format!("[ui]\ntheme = \"dark\"\n\n{BROKER}"),
            Purpose::Console,
        );
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "2:9: unknown theme \"dark\" (available: default, plantfloor; user themes go in "
            ),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "8:17: password_file: unreadable");
    }

    #[test]
    fn a_theme_the_surroundings_know_is_accepted() {
        let text = format!("[ui]\ntheme = \"plantfloor\"\n\n{BROKER}");
        assert_eq!(
            problems(&text, Purpose::Console),
            ["8:17: password_file: unreadable"]
        );
    }

    #[test]
    fn a_config_for_other_commands_passes_check_but_not_the_console() {
        let text = "[[import]]\nname = \"uci\"\n";
        assert_eq!(problems(text, Purpose::Check), Vec::<String>::new());
        let console = problems(text, Purpose::Console);
        assert_eq!(console.len(), 1);
        assert!(console[0].starts_with("1:1: no sources, no sensors"));
    }
}
