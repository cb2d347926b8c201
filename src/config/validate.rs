//! Cross-checks that serde cannot express: names that must exist, ids that
//! must be unique, limits that must be ordered.

use super::{Config, Diagnostic};
use std::collections::HashMap;
use toml::Spanned;

pub fn validate(config: &Config) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    check_timezone(config, &mut diags);
    let brokers = unique_names(
        config.mqtt.iter().map(|b| &b.name),
        "MQTT broker",
        &mut diags,
    );
    let devices = unique_names(
        config.modbus.iter().map(|d| &d.name),
        "Modbus device",
        &mut diags,
    );
    check_urls(config, &mut diags);
    unique_names(config.sensor.iter().map(|s| &s.id), "sensor id", &mut diags);
    for sensor in &config.sensor {
        check_sensor(config, sensor, &brokers, &devices, &mut diags);
    }
    for pattern in &config.mqtt_pattern {
        require_known(
            &pattern.broker,
            &brokers,
            "MQTT broker",
            "[[mqtt]]",
            &mut diags,
        );
    }
    check_alarm_settings(config, &brokers, &mut diags);
    diags.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
    diags
}

fn check_timezone(config: &Config, diags: &mut Vec<Diagnostic>) {
    if let Some(tz) = &config.plant.timezone
        && tz.get_ref().parse::<chrono_tz::Tz>().is_err()
    {
        diags.push(Diagnostic::at(
            tz.span(),
            format!(
                "unknown timezone {:?}: expected an IANA name like \"Europe/Paris\" or \"UTC\"",
                tz.get_ref()
            ),
        ));
    }
}

/// Reports duplicates and returns the set of names (first occurrence wins).
fn unique_names<'a>(
    names: impl Iterator<Item = &'a Spanned<String>>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> HashMap<&'a str, &'a Spanned<String>> {
    let mut seen: HashMap<&str, &Spanned<String>> = HashMap::new();
    for name in names {
        if name.get_ref().trim().is_empty() {
            diags.push(Diagnostic::at(
                name.span(),
                format!("{what} must not be empty"),
            ));
            continue;
        }
        if let Some(first) = seen.get(name.get_ref().as_str()) {
            diags.push(Diagnostic::at(
                name.span(),
                format!(
                    "duplicate {what} {:?} (first defined at byte {})",
                    name.get_ref(),
                    first.span().start
                ),
            ));
        } else {
            seen.insert(name.get_ref(), name);
        }
    }
    seen
}

fn require_known(
    name: &Spanned<String>,
    known: &HashMap<&str, &Spanned<String>>,
    what: &str,
    section: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if !known.contains_key(name.get_ref().as_str()) {
        let mut names: Vec<&str> = known.keys().copied().collect();
        names.sort_unstable();
        let hint = if names.is_empty() {
            format!("no {section} is defined")
        } else {
            format!("defined: {}", names.join(", "))
        };
        diags.push(Diagnostic::at(
            name.span(),
            format!("unknown {what} {:?} ({hint})", name.get_ref()),
        ));
    }
}

fn check_urls(config: &Config, diags: &mut Vec<Diagnostic>) {
    for broker in &config.mqtt {
        let url = broker.url.get_ref();
        if !(url.starts_with("mqtt://") || url.starts_with("mqtts://")) {
            diags.push(Diagnostic::at(
                broker.url.span(),
                format!("MQTT url {url:?} must start with mqtt:// or mqtts://"),
            ));
        }
    }
    for device in &config.modbus {
        let url = device.url.get_ref();
        if !(url.starts_with("tcp://") || url.starts_with("rtu://")) {
            diags.push(Diagnostic::at(
                device.url.span(),
                format!("Modbus url {url:?} must start with tcp:// or rtu://"),
            ));
        }
    }
}

fn check_sensor(
    config: &Config,
    sensor: &super::Sensor,
    brokers: &HashMap<&str, &Spanned<String>>,
    devices: &HashMap<&str, &Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(binding) = &sensor.mqtt {
        require_known(&binding.broker, brokers, "MQTT broker", "[[mqtt]]", diags);
    }
    if let Some(binding) = &sensor.modbus {
        require_known(
            &binding.device,
            devices,
            "Modbus device",
            "[[modbus]]",
            diags,
        );
    }
    let sources = [
        sensor.mqtt.is_some(),
        sensor.modbus.is_some(),
        sensor.sim.is_some(),
    ];
    if sources.iter().filter(|b| **b).count() > 1 {
        diags.push(Diagnostic::at(
            sensor.id.span(),
            format!(
                "sensor {:?} has more than one source (mqtt, modbus, sim): keep one",
                sensor.id.get_ref()
            ),
        ));
    }
    if let Some(range) = &sensor.range {
        let [lo, hi] = *range.get_ref();
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            diags.push(Diagnostic::at(
                range.span(),
                format!("range [{lo}, {hi}] must be [min, max] with min < max"),
            ));
        }
    }
    if let Some(limits) = &sensor.alarm {
        check_limit_order(limits, diags);
    }
    if let Some(meter) = &sensor.meter
        && !config.tariff.contains_key(meter.tariff.get_ref())
    {
        let mut names: Vec<&str> = config.tariff.keys().map(String::as_str).collect();
        names.sort_unstable();
        diags.push(Diagnostic::at(
            meter.tariff.span(),
            format!(
                "unknown tariff {:?} (defined: {})",
                meter.tariff.get_ref(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        ));
    }
}

fn check_limit_order(limits: &Spanned<super::AlarmLimits>, diags: &mut Vec<Diagnostic>) {
    let ordered = limits.get_ref().ordered();
    for pair in ordered.windows(2) {
        let ((upper_name, upper), (lower_name, lower)) = (pair[0], pair[1]);
        if upper <= lower {
            diags.push(Diagnostic::at(
                limits.span(),
                format!(
                    "alarm limits out of order: {upper_name} = {upper} must be above {lower_name} = {lower} (expected hh > h > l > ll)"
                ),
            ));
        }
    }
    for db in limits.get_ref().deadbands() {
        if db.is_nan() || db < 0.0 {
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
    limits: &Spanned<super::AlarmLimits>,
    rule: &super::ConsumptionRule,
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

fn check_alarm_settings(
    config: &Config,
    brokers: &HashMap<&str, &Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
) {
    let settings = &config.alarms;
    if let Some(broker) = &settings.broker {
        require_known(broker, brokers, "MQTT broker", "[[mqtt]]", diags);
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
