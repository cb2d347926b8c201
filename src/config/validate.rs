//! Cross-checks that serde cannot express: names that must exist, ids that
//! must be unique, limits that must be ordered.

mod billing;
mod import;

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
    modbus_checks::check(config, &mut diags);
    for pattern in &config.mqtt_pattern {
        require_known(
            &pattern.broker,
            &brokers,
            "MQTT broker",
            "[[mqtt]]",
            &mut diags,
        );
        if let Err((span, message)) = crate::source::mqtt::routes::pattern_route(pattern) {
            diags.push(Diagnostic::at(span, message));
        }
    }
    for broker in &config.mqtt {
        check_broker(broker, &mut diags);
    }
    super::alarm::check_settings(config, &brokers, &mut diags);
    billing::check(config, &mut diags);
    import::check(config, &mut diags);
    diags.extend(crate::ui::keys::check_bindings(&config.ui.keys));
    if config.ui.max_fps == 0 {
        diags.push(Diagnostic {
            span: None,
            message: "[ui] max_fps must be at least 1".into(),
            related: None,
        });
    }
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
            if let Err(message) = crate::source::mqtt::connect::BrokerUrl::parse(url.get_ref()) {
                diags.push(Diagnostic::at(url.span(), message));
            }
        }
    }
    for device in &config.modbus {
        if let Err(message) = device.parsed_url() {
            diags.push(Diagnostic::at(device.url.span(), message));
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
        if let Err((span, message)) =
            crate::source::mqtt::routes::binding_route(sensor.id.get_ref(), binding)
        {
            diags.push(Diagnostic::at(span, message));
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
    super::alarm::check_limits(limits, diags);
}

/// Register maps: templates that exist, addresses that fit, fields that do
/// not overlap, reads that stay within the protocol's limits.
mod modbus_checks {
    use super::super::modbus::{ModbusTemplate, TemplateField, UnreadableRange};
    use super::super::{Config, ModbusBinding, Table, ValueType};
    use super::Diagnostic;
    use std::collections::HashMap;
    use std::ops::Range;
    use toml::Spanned;

    /// One field as the device sees it, with where to point in the file.
    struct Placed {
        label: String,
        table: Table,
        start: u32,
        len: u32,
        bit: Option<u8>,
        span: Range<usize>,
    }

    pub fn check(config: &Config, diags: &mut Vec<Diagnostic>) {
        let names = config.modbus_template.iter().map(|t| &t.name);
        let templates = super::unique_names(names, "Modbus template", diags);
        let templates: HashMap<&str, &ModbusTemplate> = config
            .modbus_template
            .iter()
            .filter(|t| templates.contains_key(t.name.get_ref().as_str()))
            .map(|t| (t.name.get_ref().as_str(), t))
            .collect();
        for template in &config.modbus_template {
            check_template(template, diags);
        }
        for device in &config.modbus {
            if let Some(gap) = &device.max_gap
                && *gap.get_ref() >= 125
            {
                diags.push(Diagnostic::at(
                    gap.span(),
                    format!(
                        "max_gap = {} would plan reads over 125 registers: use 0..124",
                        gap.get_ref()
                    ),
                ));
            }
            check_unreadable(&device.unreadable, device.one_based, diags);
            let template = match &device.template {
                Some(name) => {
                    let found = templates.get(name.get_ref().as_str()).copied();
                    if found.is_none() {
                        let mut known: Vec<&str> = templates.keys().copied().collect();
                        known.sort_unstable();
                        diags.push(Diagnostic::at(
                            name.span(),
                            format!(
                                "unknown Modbus template {:?} ({})",
                                name.get_ref(),
                                if known.is_empty() {
                                    "no [[modbus_template]] is defined".to_owned()
                                } else {
                                    format!("defined: {}", known.join(", "))
                                }
                            ),
                        ));
                    }
                    found
                }
                None => None,
            };
            let device_name = device.name.get_ref();
            let mut placed = Vec::new();
            let mut bound_keys = Vec::new();
            for sensor in &config.sensor {
                let Some(binding) = &sensor.modbus else {
                    continue;
                };
                if binding.device.get_ref() != device_name {
                    continue;
                }
                let label = format!("sensor {:?}", sensor.id.get_ref());
                if let Some(p) = place_binding(binding, &label, template, device.one_based, diags) {
                    if let Some(key) = &binding.field {
                        bound_keys.push(key.get_ref().as_str());
                    }
                    placed.push(p);
                }
            }
            if let Some(template) = template {
                for field in &template.field {
                    if !bound_keys.contains(&field.key.get_ref().as_str()) {
                        placed.push(place_template_field(field, template.one_based));
                        let made = format!("{device_name}.{}", field.key.get_ref());
                        if let Some(sensor) = config.sensor.iter().find(|s| *s.id.get_ref() == made)
                        {
                            diags.push(Diagnostic::at(
                                sensor.id.span(),
                                format!(
                                    "sensor id {made:?} is also made by template {:?} on device {device_name:?}: \
                                     bind the field instead (modbus = {{ device = {device_name:?}, field = {:?} }})",
                                    template.name.get_ref(),
                                    field.key.get_ref()
                                ),
                            ));
                        }
                    }
                }
            }
            let mut unreadable: Vec<(Table, u32, u32)> =
                wire_ranges(&device.unreadable, device.one_based);
            if let Some(template) = template {
                unreadable.extend(wire_ranges(&template.unreadable, template.one_based));
            }
            check_overlaps(device_name, &mut placed, &unreadable, diags);
        }
    }

    fn wire(address: u16, one_based: bool) -> u32 {
        u32::from(address).saturating_sub(u32::from(one_based))
    }

    fn wire_ranges(ranges: &[Spanned<UnreadableRange>], one_based: bool) -> Vec<(Table, u32, u32)> {
        ranges
            .iter()
            .map(|r| {
                let r = r.get_ref();
                (r.table, wire(r.from, one_based), wire(r.to, one_based))
            })
            .collect()
    }

    fn check_unreadable(
        ranges: &[Spanned<UnreadableRange>],
        one_based: bool,
        diags: &mut Vec<Diagnostic>,
    ) {
        for range in ranges {
            let r = range.get_ref();
            if r.from > r.to {
                diags.push(Diagnostic::at(
                    range.span(),
                    format!("unreadable range from = {} is after to = {}", r.from, r.to),
                ));
            }
            if one_based && r.from == 0 {
                diags.push(Diagnostic::at(
                    range.span(),
                    "unreadable range starts at 0 but addresses are one_based (they start at 1)",
                ));
            }
        }
    }

    fn check_template(template: &ModbusTemplate, diags: &mut Vec<Diagnostic>) {
        check_unreadable(&template.unreadable, template.one_based, diags);
        super::unique_names(
            template.field.iter().map(|f| &f.key),
            "template field key",
            diags,
        );
        for field in &template.field {
            check_shape(
                field.table,
                field.kind,
                field.bit.as_ref(),
                &field.address,
                template.one_based,
                diags,
            );
        }
    }

    /// Type fits the table, bit is given for register bools, the value fits in the address space.
    fn check_shape(
        table: Table,
        kind: ValueType,
        bit: Option<&Spanned<u8>>,
        address: &Spanned<u16>,
        one_based: bool,
        diags: &mut Vec<Diagnostic>,
    ) {
        let at = *address.get_ref();
        if one_based && at == 0 {
            diags.push(Diagnostic::at(
                address.span(),
                "address 0 with one_based = true: one-based addresses start at 1",
            ));
        }
        if table.is_bits() {
            if !matches!(kind, ValueType::Bool | ValueType::U16) {
                diags.push(Diagnostic::at(
                    address.span(),
                    format!(
                        "a {} holds single bits: type {:?} is not possible (use type = \"bool\")",
                        table.label(),
                        kind.label()
                    ),
                ));
            }
            if let Some(bit) = bit {
                diags.push(Diagnostic::at(
                    bit.span(),
                    format!(
                        "bit applies to registers; a {} is already one bit",
                        table.label()
                    ),
                ));
            }
            return;
        }
        match (kind, bit) {
            (ValueType::Bool, None) => diags.push(Diagnostic::at(
                address.span(),
                "type = \"bool\" on a register needs bit = 0..15 (which bit of the register)",
            )),
            (ValueType::Bool, Some(bit)) if *bit.get_ref() > 15 => diags.push(Diagnostic::at(
                bit.span(),
                format!(
                    "bit = {} is outside a 16-bit register (0..15)",
                    bit.get_ref()
                ),
            )),
            (ValueType::Bool, Some(_)) | (_, None) => {}
            (_, Some(bit)) => diags.push(Diagnostic::at(
                bit.span(),
                format!(
                    "bit only applies to type = \"bool\", not {:?}",
                    kind.label()
                ),
            )),
        }
        let end = wire(at, one_based) + u32::from(kind.registers());
        if end > 65536 {
            diags.push(Diagnostic::at(
                address.span(),
                format!(
                    "a {} at {at} runs past the last register (65535)",
                    kind.label()
                ),
            ));
        }
    }

    fn place_template_field(field: &TemplateField, one_based: bool) -> Placed {
        Placed {
            label: format!("template field {:?}", field.key.get_ref()),
            table: field.table,
            start: wire(*field.address.get_ref(), one_based),
            len: if field.table.is_bits() {
                1
            } else {
                u32::from(field.kind.registers())
            },
            bit: field.bit.as_ref().map(|b| *b.get_ref()),
            span: field.address.span(),
        }
    }

    fn place_binding(
        binding: &ModbusBinding,
        label: &str,
        template: Option<&ModbusTemplate>,
        one_based: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Placed> {
        match (&binding.field, &binding.address) {
            (Some(key), None) => {
                let Some(template) = template else {
                    diags.push(Diagnostic::at(
                        key.span(),
                        format!(
                            "field {:?} needs a template on device {:?} (set template = \"...\" on the [[modbus]] device)",
                            key.get_ref(),
                            binding.device.get_ref()
                        ),
                    ));
                    return None;
                };
                let Some(field) = template
                    .field
                    .iter()
                    .find(|f| f.key.get_ref() == key.get_ref())
                else {
                    let mut keys: Vec<&str> = template
                        .field
                        .iter()
                        .map(|f| f.key.get_ref().as_str())
                        .collect();
                    keys.sort_unstable();
                    diags.push(Diagnostic::at(
                        key.span(),
                        format!(
                            "template {:?} has no field {:?} (fields: {})",
                            template.name.get_ref(),
                            key.get_ref(),
                            keys.join(", ")
                        ),
                    ));
                    return None;
                };
                let mut placed = place_template_field(field, template.one_based);
                placed.label = format!("{label} (template field {:?})", key.get_ref());
                Some(placed)
            }
            (None, Some(address)) => {
                check_shape(
                    binding.table,
                    binding.kind,
                    binding.bit.as_ref(),
                    address,
                    one_based,
                    diags,
                );
                Some(Placed {
                    label: label.to_owned(),
                    table: binding.table,
                    start: wire(*address.get_ref(), one_based),
                    len: if binding.table.is_bits() {
                        1
                    } else {
                        u32::from(binding.kind.registers())
                    },
                    bit: binding.bit.as_ref().map(|b| *b.get_ref()),
                    span: address.span(),
                })
            }
            (Some(key), Some(_)) => {
                diags.push(Diagnostic::at(
                    key.span(),
                    "give either field (a template field) or address, not both",
                ));
                None
            }
            (None, None) => {
                diags.push(Diagnostic::at(
                    binding.device.span(),
                    "modbus binding needs an address (or field = \"<template field key>\")",
                ));
                None
            }
        }
    }

    fn check_overlaps(
        device: &str,
        placed: &mut [Placed],
        unreadable: &[(Table, u32, u32)],
        diags: &mut Vec<Diagnostic>,
    ) {
        placed.sort_by_key(|p| (p.table, p.start, p.span.start));
        for (i, p) in placed.iter().enumerate() {
            for q in &placed[..i] {
                let overlap =
                    q.table == p.table && q.start < p.start + p.len && p.start < q.start + q.len;
                let distinct_bits = matches!((p.bit, q.bit), (Some(a), Some(b)) if a != b);
                if overlap && !distinct_bits {
                    diags.push(Diagnostic::at(
                        p.span.clone(),
                        format!(
                            "device {device:?}: {} ({} {}..{}) overlaps {} ({} {}..{})",
                            p.label,
                            p.table.label(),
                            p.start,
                            p.start + p.len,
                            q.label,
                            q.table.label(),
                            q.start,
                            q.start + q.len
                        ),
                    ));
                }
            }
            if let Some((_, from, to)) = unreadable
                .iter()
                .find(|(t, from, to)| *t == p.table && p.start <= *to && *from < p.start + p.len)
            {
                diags.push(Diagnostic::at(
                    p.span.clone(),
                    format!(
                        "device {device:?}: {} lies in the unreadable {} range {from}..={to} (wire addresses)",
                        p.label,
                        p.table.label()
                    ),
                ));
            }
        }
    }
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
