//! Cross-checks that serde cannot express: names that must exist, ids that
//! must be unique, limits that must be ordered.

mod billing;
mod display;
mod import;
mod modbus;
mod values;

use super::locate::Document;
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
    modbus::check(config, &mut diags);
    for pattern in &config.mqtt_pattern {
        require_known(
            &pattern.broker,
            &brokers,
            "MQTT broker",
            "[[mqtt]]",
            &mut diags,
        );
        if let Err(refused) = super::TopicRoute::of_pattern(pattern) {
            diags.push(Diagnostic::at(refused.span.clone(), refused.to_string()));
        }
        check_pattern_limits(&pattern.keys, &mut diags);
    }
    for listen in &config.listen {
        check_pattern_limits(&listen.keys, &mut diags);
    }
    for broker in &config.mqtt {
        check_broker(broker, &mut diags);
    }
    unique_names(
        config.listen.iter().filter_map(|l| l.name.as_ref()),
        "listener name",
        &mut diags,
    );
    super::listen::check(&config.listen, &mut diags);
    super::alarm::check_settings(config, &brokers, &mut diags);
    billing::check(config, &mut diags);
    import::check(config, &mut diags);
    display::check(config, &mut diags);
    diags.extend(super::keys::check_bindings(&config.ui.keys));
    values::check(config, &Document::parse(&config.source), &mut diags);
    diags
}

fn check_timezone(config: &Config, diags: &mut Vec<Diagnostic>) {
    if let Some(tz) = &config.plant.timezone
        && let Err(unknown) = super::parse_timezone(tz.get_ref())
    {
        diags.push(Diagnostic::at(tz.span(), unknown.to_string()));
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
            diags.push(
                Diagnostic::at(
                    name.span(),
                    format!("duplicate {what} {:?}", name.get_ref()),
                )
                .with_related(first.span(), "first defined at"),
            );
        } else {
            seen.insert(name.get_ref(), name);
        }
    }
    seen
}

pub(super) fn require_known(
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
        for url in broker.urls() {
            if let Err(refused) = super::BrokerUrl::parse(url.get_ref()) {
                diags.push(Diagnostic::at(url.span(), refused.to_string()));
            }
        }
    }
    for device in &config.modbus {
        if let Err(refused) = device.parsed_url() {
            diags.push(Diagnostic::at(device.url.span(), refused.to_string()));
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
        if let Err(refused) = super::TopicRoute::of_binding(sensor.id.get_ref(), binding) {
            diags.push(Diagnostic::at(refused.span.clone(), refused.to_string()));
        }
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
    check_display_and_limits(sensor.range.as_ref(), sensor.alarm.as_ref(), diags);
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

/// A sensor's, pattern's or template field's `range` and `alarm`.
/// The display range and alarm limits a pattern gives its sensors.
fn check_pattern_limits(keys: &super::PatternKeys, diags: &mut Vec<Diagnostic>) {
    check_display_and_limits(keys.range.as_ref(), keys.alarm.as_ref(), diags);
}

pub(super) fn check_display_and_limits(
    range: Option<&Spanned<[f64; 2]>>,
    alarm: Option<&Spanned<super::AlarmLimits>>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(range) = range {
        let [lo, hi] = *range.get_ref();
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            diags.push(Diagnostic::at(
                range.span(),
                format!("range [{lo}, {hi}] must be [min, max] with min < max"),
            ));
        }
    }
    if let Some(limits) = alarm {
        check_limit_order(limits, diags);
    }
}

/// A Modbus `raw_valid` (it checks the register's raw value).
pub(super) fn check_raw_valid(
    key: Option<&Spanned<super::RawValidKey>>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Err((span, problem)) = super::ValidRange::resolve(key, None) {
        diags.push(Diagnostic::at(span, problem.to_string()));
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
    super::alarm::check_limits(limits, diags);
}

/// Largest `max_packet_size` accepted: MQTT's own limit is 256 MiB.
const MAX_PACKET_LIMIT: usize = 256 * 1024 * 1024;

fn check_broker(broker: &super::MqttBroker, diags: &mut Vec<Diagnostic>) {
    if let Some(qos) = &broker.qos
        && *qos.get_ref() > 1
    {
        diags.push(Diagnostic::at(
            qos.span(),
            format!(
                "qos = {} is not supported: use 1 (no loss; a re-delivered message is stored once) or 0",
                qos.get_ref()
            ),
        ));
    }
    if let Some(size) = &broker.max_packet_size
        && !(1..=MAX_PACKET_LIMIT).contains(size.get_ref())
    {
        diags.push(Diagnostic::at(
            size.span(),
            format!(
                "max_packet_size = {} must be between 1 and {MAX_PACKET_LIMIT} bytes",
                size.get_ref()
            ),
        ));
    }
    if let (Some(env), Some(_)) = (&broker.password_env, &broker.password_file) {
        diags.push(Diagnostic::at(
            env.span(),
            "set password_env or password_file, not both",
        ));
    }
    match (&broker.client_cert, &broker.client_key) {
        (Some(cert), None) => diags.push(Diagnostic::at(
            cert.span(),
            "client_cert needs client_key (the PEM private key)",
        )),
        (None, Some(key)) => diags.push(Diagnostic::at(
            key.span(),
            "client_key needs client_cert (the PEM certificate)",
        )),
        _ => {}
    }
    let tls_keys = [&broker.ca_file, &broker.client_cert, &broker.client_key];
    if !broker.urls().any(|u| u.get_ref().starts_with("mqtts://"))
        && let Some(key) = tls_keys.into_iter().flatten().next()
    {
        diags.push(Diagnostic::at(
            key.span(),
            "TLS files are set but no url uses mqtts://",
        ));
    }
}

#[cfg(test)]
mod mqtt_tests {
    use crate::config::Config;
    use std::path::Path;

    fn problems(text: &str) -> Vec<String> {
        Config::parse(Path::new("plant.toml"), text)
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.lines())
    }

    #[test]
    fn mqtt_mistakes_point_at_the_key() {
        let text = r#"[[mqtt]]
name = "b"
url = "mqtt://127.0.0.1:1883"
fallback_urls = ["mqtt://backup:x"]
qos = 2
client_cert = "c.pem"

[[sensor]]
id = "s"
mqtt = { broker = "b", topic = "a/#/b" }

[[sensor]]
id = "f"
mqtt = { broker = "b", topic = "dev", field = "nope", fields = [{ name = "a", offset = 0, type = "u8" }] }

[[mqtt_pattern]]
broker = "b"
topic = "plant/+/value"
id = "{1}.{2}"
"#;
        let lines = problems(text);
        let expect = [
            "plant.toml:4:18: MQTT url \"mqtt://backup:x\": port \"x\" is not a number 1-65535",
            "plant.toml:5:7: qos = 2 is not supported",
            "plant.toml:6:15: client_cert needs client_key",
            "plant.toml:6:15: TLS files are set but no url uses mqtts://",
            "plant.toml:10:32: topic \"a/#/b\": # must be the last level",
            "plant.toml:14:47: field \"nope\" is not in the layout (fields: a)",
            "plant.toml:19:6: id \"{1}.{2}\": {2} is not a placeholder",
        ];
        assert_eq!(lines.len(), expect.len(), "{lines:#?}");
        for (line, want) in lines.iter().zip(expect) {
            assert!(
                line.starts_with(want),
                "{line}\n  expected to start with\n{want}"
            );
        }
    }

    #[test]
    fn a_full_mqtt_config_is_accepted() {
        let text = r#"[[mqtt]]
name = "b"
url = "mqtts://broker.lan"
fallback_urls = ["mqtt://127.0.0.1:1883"]
client_id = "fw-1"
username = "ops"
password_env = "FW_PASS"
ca_file = "ca.pem"
max_packet_size = 1048576
qos = 1

[[sensor]]
id = "line1.temp"
mqtt = { broker = "b", topic = "factory/line1/temp", value = "/value", time = "/timestamp" }

[[mqtt_pattern]]
broker = "b"
topic = "devices/+/frame"
id = "{1}.{field}"
payload = "hex"
fields = [{ name = "t", offset = 0, type = "i16", scale = 0.1 }, { name = "p", offset = 2, type = "u16" }]
"#;
        assert_eq!(problems(text), Vec::<String>::new());
    }
}
