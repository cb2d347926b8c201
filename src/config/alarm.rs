//! Per-sensor `alarm = {...}` limits and the plant-wide `[alarms]` settings.

use super::{Config, Diagnostic, Dur};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use toml::Spanned;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlarmLimits {
    pub hh: Option<f64>,
    pub h: Option<f64>,
    pub l: Option<f64>,
    pub ll: Option<f64>,
    /// One deadband for every limit (`0.5`) or one per limit (`{ h = 0.5, hh = 1 }`).
    pub deadband: Option<Deadband>,
    /// On-delay: the condition must hold this long before the alarm is raised.
    pub delay: Option<Dur>,
    /// Off-delay: the condition must be gone this long before the alarm clears.
    pub off_delay: Option<Dur>,
    /// No reading within this long makes the sensor stale (and raises a stale alarm).
    pub stale: Option<Dur>,
    /// Rate-of-change limit: a number in units per minute, or `"2.0/min"`, `"0.1/s"`, `"5/h"`.
    pub roc: Option<Roc>,
    /// Priority per condition, overriding the defaults.
    #[serde(default)]
    pub priority: PriorityOverrides,
    /// A latched alarm stays after its condition clears until an operator resets it.
    #[serde(default)]
    pub latch: bool,
    /// Evaluated and journaled but not annunciated (ISA-18.2 "suppressed by design").
    #[serde(default)]
    pub suppressed: bool,
    /// Not evaluated at all (ISA-18.2 "out of service"), e.g. during maintenance.
    #[serde(default)]
    pub out_of_service: bool,
    /// Bad-quality readings raise a `bad` alarm (default on).
    #[serde(default = "yes")]
    pub bad_quality: bool,
    /// Consumption anomaly for cumulative meters.
    pub consumption: Option<ConsumptionRule>,
}

fn yes() -> bool {
    true
}

impl AlarmLimits {
    /// No limits, only the `bad` alarm: what an input that checks its raw
    /// range (NAMUR NE 43) gets when no `alarm = {...}` is written.
    pub fn bad_quality_only() -> AlarmLimits {
        AlarmLimits {
            bad_quality: true,
            ..AlarmLimits::default()
        }
    }

    /// Limits from the most severe high to the most severe low, as (name, value).
    pub fn ordered(&self) -> Vec<(&'static str, f64)> {
        [
            ("hh", self.hh),
            ("h", self.h),
            ("l", self.l),
            ("ll", self.ll),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }

    /// The deadband of one limit (`hh`, `h`, `l`, `ll`); 0 when none is set.
    pub fn deadband_of(&self, limit: &str) -> f64 {
        match &self.deadband {
            None => 0.0,
            Some(Deadband::All(v)) => *v,
            Some(Deadband::PerLimit(p)) => match limit {
                "hh" => p.hh,
                "h" => p.h,
                "l" => p.l,
                "ll" => p.ll,
                _ => None,
            }
            .unwrap_or(0.0),
        }
    }

    /// Every deadband value written in the config, for validation.
    pub fn deadbands(&self) -> Vec<f64> {
        match &self.deadband {
            None => Vec::new(),
            Some(Deadband::All(v)) => vec![*v],
            Some(Deadband::PerLimit(p)) => [p.hh, p.h, p.l, p.ll].into_iter().flatten().collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Deadband {
    All(f64),
    PerLimit(PerLimit),
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLimit {
    pub hh: Option<f64>,
    pub h: Option<f64>,
    pub l: Option<f64>,
    pub ll: Option<f64>,
}

impl<'de> Deserialize<'de> for Deadband {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Deadband;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or a table like { h = 0.5, hh = 1.0 }")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Deadband, E> {
                Ok(Deadband::All(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Deadband, E> {
                Ok(Deadband::All(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Deadband, E> {
                Ok(Deadband::All(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Deadband, A::Error> {
                PerLimit::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Deadband::PerLimit)
            }
        }
        d.deserialize_any(V)
    }
}

/// A rate-of-change limit, normalised to units per minute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roc {
    pub per_minute: f64,
}

/// A rate of change not written like `"2.0/min"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate of change {0:?}: write it like \"2.0/min\", \"0.1/s\" or \"5/h\" (or a number, per minute)"
)]
pub struct InvalidRoc(pub String);

impl std::str::FromStr for Roc {
    type Err = InvalidRoc;
    fn from_str(s: &str) -> Result<Self, InvalidRoc> {
        let bad = || InvalidRoc(s.to_owned());
        let (number, unit) = s.split_once('/').ok_or_else(bad)?;
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        let per_minute = match unit.trim() {
            "s" | "sec" => value * 60.0,
            "min" | "m" => value,
            "h" | "hour" => value / 60.0,
            _ => return Err(bad()),
        };
        Ok(Roc { per_minute })
    }
}

impl<'de> Deserialize<'de> for Roc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Roc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate like \"2.0/min\" or a number (units per minute)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Roc, E> {
                Ok(Roc { per_minute: v })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Roc, E> {
                Ok(Roc {
                    per_minute: v as f64,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Roc, E> {
                Ok(Roc {
                    per_minute: v as f64,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Roc, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Priority names in config: `critical`, `high`, `medium`, `low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorityName {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityOverrides {
    pub hh: Option<PriorityName>,
    pub h: Option<PriorityName>,
    pub l: Option<PriorityName>,
    pub ll: Option<PriorityName>,
    pub roc: Option<PriorityName>,
    pub stale: Option<PriorityName>,
    pub bad: Option<PriorityName>,
    pub consumption: Option<PriorityName>,
}

/// "Excessive consumption": the last `period`'s consumption of a cumulative
/// register is above `factor` × the mean of the `n` periods before it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsumptionRule {
    #[serde(default = "default_factor")]
    pub factor: Spanned<f64>,
    #[serde(default = "default_periods")]
    pub n: Spanned<usize>,
    pub period: Spanned<Dur>,
}

fn default_factor() -> Spanned<f64> {
    Spanned::new(0..0, 1.5)
}
fn default_periods() -> Spanned<usize> {
    Spanned::new(0..0, 3)
}

/// Plant-wide `[alarms]` settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSettings {
    /// The longest an operator may shelve an alarm.
    #[serde(default = "default_shelve_max")]
    pub shelve_max: Dur,
    /// Shared alarm state across consoles: the `[[mqtt]]` broker to use.
    pub broker: Option<Spanned<String>>,
    /// Topic prefix for retained alarm state, e.g. `"plant/line1/alarms"`.
    pub alarm_topic: Option<Spanned<String>>,
    /// Comms-failure alarms from source status (MQTT brokers, Modbus devices).
    #[serde(default = "yes")]
    pub comms: bool,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            shelve_max: default_shelve_max(),
            broker: None,
            alarm_topic: None,
            comms: true,
        }
    }
}

fn default_shelve_max() -> Dur {
    Dur::from_secs(8 * 3600)
}

/// Checks of one sensor's `alarm = {...}` that serde cannot express.
pub(super) fn check_limits(limits: &Spanned<AlarmLimits>, diags: &mut Vec<Diagnostic>) {
    for db in limits.get_ref().deadbands() {
        if db < 0.0 {
            diags.push(Diagnostic::at(
                limits.span(),
                format!("deadband = {db} must not be negative"),
            ));
        }
    }
    if let Some(roc) = limits.get_ref().roc
        && !(roc.per_minute > 0.0 && roc.per_minute.is_finite())
    {
        diags.push(Diagnostic::at(
            limits.span(),
            format!(
                "roc = {} per minute must be a positive rate",
                roc.per_minute
            ),
        ));
    }
    if let Some(rule) = &limits.get_ref().consumption {
        check_consumption(limits, rule, diags);
    }
}

fn check_consumption(
    limits: &Spanned<AlarmLimits>,
    rule: &ConsumptionRule,
    diags: &mut Vec<Diagnostic>,
) {
    // Defaults carry an empty span: point at the alarm table instead.
    let at = |span: std::ops::Range<usize>| {
        if span.is_empty() { limits.span() } else { span }
    };
    let factor = *rule.factor.get_ref();
    if !(factor > 0.0 && factor.is_finite()) {
        diags.push(Diagnostic::at(
            at(rule.factor.span()),
            format!("consumption factor = {factor} must be a positive number, e.g. 1.5"),
        ));
    }
    if *rule.n.get_ref() == 0 {
        diags.push(Diagnostic::at(
            at(rule.n.span()),
            "consumption n = 0: compare with at least one previous period (e.g. n = 3)",
        ));
    }
    if rule.period.get_ref().0.is_zero() {
        diags.push(Diagnostic::at(
            at(rule.period.span()),
            "consumption period must be longer than zero, e.g. \"1h\" or \"1d\"",
        ));
    }
}

/// Checks of `[alarms]`: the shared-state broker exists and the topic is usable.
pub(super) fn check_settings(
    config: &Config,
    brokers: &HashMap<&str, &Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
) {
    let settings = &config.alarms;
    if let Some(broker) = &settings.broker {
        super::validate::require_known(broker, brokers, "MQTT broker", "[[mqtt]]", diags);
    }
    match (&settings.broker, &settings.alarm_topic) {
        (Some(broker), None) => diags.push(Diagnostic::at(
            broker.span(),
            "[alarms] broker is set but alarm_topic is missing: add alarm_topic = \"plant/alarms\"",
        )),
        (None, Some(topic)) => diags.push(Diagnostic::at(
            topic.span(),
            "[alarms] alarm_topic needs broker = \"<name of an [[mqtt]] broker>\"",
        )),
        _ => {}
    }
    if let Some(topic) = &settings.alarm_topic {
        let t = topic.get_ref();
        if t.is_empty() || t.contains(['#', '+']) || t.ends_with('/') {
            diags.push(Diagnostic::at(
                topic.span(),
                format!(
                    "alarm_topic {t:?} must be a plain topic prefix without wildcards or a trailing '/'"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Deadband};
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("c.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_alarm_key_parses() {
        let config = parse(
            r#"
[alarms]
shelve_max = "2h"
broker = "b"
alarm_topic = "plant/alarms"

[[mqtt]]
name = "b"
url = "mqtt://127.0.0.1:1883"

[[sensor]]
id = "t"
alarm = { hh = 40, h = 35, l = 5, ll = 0, deadband = { h = 0.5, hh = 1 }, delay = "5s", off_delay = "2s", stale = "30s", roc = "2.0/min", priority = { h = "high", stale = "low" }, latch = true }

[[sensor]]
id = "m"
alarm = { consumption = { period = "1d" }, suppressed = true, bad_quality = false }
"#,
        )
        .unwrap();
        assert_eq!(config.alarms.shelve_max.as_millis_i64(), 7_200_000);
        let t = config.sensor[0].alarm.as_ref().unwrap().get_ref();
        assert_eq!(t.deadband_of("hh"), 1.0);
        assert_eq!(t.deadband_of("l"), 0.0);
        assert!(matches!(t.deadband, Some(Deadband::PerLimit(_))));
        assert_eq!(t.roc.unwrap().per_minute, 2.0);
        let m = config.sensor[1].alarm.as_ref().unwrap().get_ref();
        let c = m.consumption.as_ref().unwrap();
        assert_eq!((*c.factor.get_ref(), *c.n.get_ref()), (1.5, 3));
        assert!(m.suppressed && !m.bad_quality);
    }

    #[test]
    fn rates_in_any_unit_become_per_minute() {
        let per_minute = |s: &str| s.parse::<super::Roc>().map(|r| r.per_minute);
        assert_eq!(per_minute("0.1/s"), Ok(6.0));
        assert_eq!(per_minute("6/h"), Ok(0.1));
        let refused = per_minute("2 per min").unwrap_err().to_string();
        assert!(refused.contains("\"2.0/min\""), "{refused}");
    }

    #[test]
    fn bad_alarm_settings_are_reported_with_their_place() {
        let err = parse(
            "[alarms]\nalarm_topic = \"a/#\"\n\n[[sensor]]\nid = \"t\"\nalarm = { h = 1, deadband = -1, roc = 0, consumption = { period = \"1h\", n = 0 } }\n",
        )
        .unwrap_err();
        for expected in [
            "c.toml:2:15: [alarms] alarm_topic needs broker",
            "c.toml:2:15: alarm_topic \"a/#\" must be a plain topic prefix",
            "deadband = -1 must not be negative",
            "roc = 0 per minute must be a positive rate",
            "consumption n = 0",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
        }
        let err = parse("[[sensor]]\nid = \"t\"\nalarm = { roc = \"fast\" }\n").unwrap_err();
        assert!(
            err.contains("c.toml:3:17") && err.contains("invalid rate of change"),
            "{err}"
        );
        let err = parse("[[sensor]]\nid = \"t\"\nalarm = { priority = { h = \"urgent\" } }\n")
            .unwrap_err();
        assert!(err.contains("unknown variant `urgent`"), "{err}");
    }
}
