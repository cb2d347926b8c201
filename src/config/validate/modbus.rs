//! Register maps: templates that exist, addresses that fit, fields that do
//! not overlap, reads that stay within the protocol's limits.

use crate::config::Diagnostic;
use crate::config::modbus::{ModbusTemplate, TemplateField, UnreadableRange};
use crate::config::{Config, ModbusBinding, Table, ValueType};
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
            super::check_raw_valid(binding.raw_valid.as_ref(), diags);
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
                    if let Some(sensor) = config.sensor.iter().find(|s| *s.id.get_ref() == made) {
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
        super::check_raw_valid(field.raw_valid.as_ref(), diags);
        super::check_display_and_limits(field.range.as_ref(), field.alarm.as_ref(), diags);
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
