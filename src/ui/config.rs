//! What the console takes from the config ([`UiConfig`]), resolved once at
//! start: key map, themes, limits, meters and how each sensor is bound.

use super::keys::KeyMap;
use super::theme::{self, ColorSupport, Theme};
use crate::alarm::operator_name;
use crate::config::{AlarmLimits, Config, SimSignal};
use crate::error::BadInput;
use std::collections::HashMap;
use std::path::Path;

/// Everything the console takes from the config, resolved once at start.
#[derive(Clone, Debug)]
pub struct UiConfig {
    pub timezone: chrono_tz::Tz,
    pub max_fps: u32,
    pub ascii: bool,
    pub bell: bool,
    pub shelve_ms: i64,
    pub keymap: KeyMap,
    pub themes: Vec<Theme>,
    pub initial_theme: usize,
    /// Alarm limits by sensor id, for limit lines and gauge colours.
    pub limits: HashMap<String, AlarmLimits>,
    /// Where each configured sensor with a binding (`mqtt`, `modbus`, `sim`)
    /// reads its values, as text.
    pub bindings: HashMap<String, String>,
    /// Sensors with a `meter` binding: the ones the invoice key works on.
    pub meters: std::collections::HashSet<String>,
    pub operator: String,
    /// The dashboard's window (`[history] live_window`): sparklines, exports.
    pub live_window_ms: i64,
    /// Display precision of sensors that configure one (`decimals`).
    pub decimals: super::decimals::Decimals,
}

impl UiConfig {
    /// Resolves `[ui]`: key map, themes (built-in and from `user_themes`)
    /// adapted to `colors`. Returns warnings about unreadable user themes.
    pub fn from_config(
        config: &Config,
        colors: ColorSupport,
        user_themes: Option<&Path>,
    ) -> Result<(UiConfig, Vec<String>), BadInput> {
        let ui = &config.ui;
        let keymap = KeyMap::with_bindings(&ui.keys).map_err(|diags| {
            BadInput(format!(
                "[ui.keys]: {}",
                diags
                    .iter()
                    .map(|d| d.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let (themes, unloadable) = theme::load_all(user_themes);
        let warnings = unloadable.iter().map(ToString::to_string).collect();
        let themes: Vec<Theme> = themes.into_iter().map(|t| t.for_terminal(colors)).collect();
        let wanted = ui.theme.as_deref().unwrap_or("default");
        let initial_theme = themes
            .iter()
            .position(|t| t.name == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = themes.iter().map(|t| t.name.as_str()).collect();
                BadInput(format!(
                    "unknown theme {wanted:?} in [ui] theme; available: {}",
                    names.join(", ")
                ))
            })?;
        let limits = config
            .sensor
            .iter()
            .filter_map(|s| Some((s.id.get_ref().clone(), s.alarm.as_ref()?.get_ref().clone())))
            .collect();
        let bindings = config
            .sensor
            .iter()
            .filter_map(|s| Some((s.id.get_ref().clone(), binding_text(s)?)))
            .collect();
        let meters = config
            .sensor
            .iter()
            .filter(|s| s.meter.is_some())
            .map(|s| s.id.get_ref().clone())
            .collect();
        let ui_config = UiConfig {
            timezone: config.timezone(),
            max_fps: ui.max_fps.clamp(1, 60),
            ascii: ui.ascii.unwrap_or_else(|| !locale_is_utf8()),
            bell: ui.bell,
            shelve_ms: ui.shelve.as_millis_i64(),
            keymap,
            themes,
            initial_theme,
            limits,
            bindings,
            meters,
            operator: operator_name(),
            live_window_ms: config.history.live_window.as_millis_i64(),
            decimals: super::decimals::Decimals::from_config(config),
        };
        Ok((ui_config, warnings))
    }
}

/// A `[[sensor]]`'s binding as text; none when a pattern or template is
/// to find it.
fn binding_text(sensor: &crate::config::Sensor) -> Option<String> {
    if let Some(m) = &sensor.mqtt {
        let mut text = format!("mqtt {} topic {}", m.broker.get_ref(), m.topic.get_ref());
        if let Some(v) = &m.keys.value {
            text.push_str(&format!(" value {v}"));
        }
        return Some(text);
    }
    if let Some(m) = &sensor.modbus {
        let at = match (&m.field, &m.address) {
            (Some(field), _) => format!("field {}", field.get_ref()),
            (None, Some(address)) => format!(
                "{:?} register {} {:?} {:?}",
                m.table,
                address.get_ref(),
                m.kind,
                m.order
            )
            .to_lowercase(),
            (None, None) => String::new(),
        };
        return Some(format!(
            "modbus {} {at} scale {}",
            m.device.get_ref(),
            m.scale
        ));
    }
    if let Some(s) = &sensor.sim {
        let signal = match s.signal {
            SimSignal::Temperature => "temperature",
            SimSignal::Vibration => "vibration",
            SimSignal::Power => "power",
            SimSignal::Energy => "energy",
        };
        return Some(format!("simulated {signal}, every {}", s.period));
    }
    None
}

/// Whether the locale promises UTF-8 (else box drawing and braille are avoided).
fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
}
