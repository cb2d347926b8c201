//! The Modbus source: devices from `[[modbus]]`, register maps from sensor
//! bindings and `[[modbus_template]]`s, polled with read function codes only.
//! One task per link (a TCP connection or a serial bus) serialises every unit
//! id on it.

pub mod decode;
pub mod planner;
mod poller;

use super::{Discovery, Named, SourceError, SourceEvent};
use crate::config::{
    Config, ModbusBinding, ModbusDevice, ModbusTemplate, ModbusUrl, Table, TemplateField,
    UnreadableRange, ValidRange, ValueType, WordOrder,
};
use crate::model::SensorId;
use decode::Codec;
use planner::{Exclusion, FieldSpan, PlanRules};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use poller::{DeviceStats, LinkBroken, OneDevice};

/// One value a device is polled for.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub sensor: SensorId,
    pub table: Table,
    /// Wire address (0-based).
    pub address: u16,
    /// The address as written in the config, for messages.
    pub configured: u16,
    pub codec: Codec,
}

impl Field {
    pub fn span(&self) -> FieldSpan {
        FieldSpan {
            table: self.table,
            start: self.address,
            len: if self.table.is_bits() {
                1
            } else {
                self.codec.kind.registers()
            },
        }
    }

    /// `input register 30` / `coil 7`, as configured.
    pub fn place(&self) -> String {
        let unit = if self.table.is_bits() {
            ""
        } else {
            " register"
        };
        format!("{}{unit} {}", self.table.label(), self.configured)
    }
}

/// Everything the poller needs about one device.
#[derive(Clone, Debug)]
pub struct DeviceMap {
    pub name: String,
    pub url: ModbusUrl,
    pub unit: u8,
    pub poll: Duration,
    pub timeout: Duration,
    pub rules: PlanRules,
    pub excluded: Vec<Exclusion>,
    pub fields: Vec<Field>,
    /// Sensors created from template fields no `[[sensor]]` binds, and the
    /// bound ones with what their template field says about them.
    pub discovered: Vec<Discovery>,
    /// The `[[sensor]]`s bound to template fields.
    pub bound: Vec<SensorId>,
    pub inter_request_delay: Duration,
    pub pause_after_connect: Duration,
}

impl DeviceMap {
    /// The sensors template fields make (no `[[sensor]]` binds them).
    pub fn template_made(&self) -> impl Iterator<Item = &Discovery> {
        self.discovered
            .iter()
            .filter(|d| !self.bound.contains(&d.meta.id))
    }
}

/// Register maps of every configured device that has at least one field.
pub fn device_maps(config: &Config) -> Result<Vec<DeviceMap>, SourceError> {
    let templates: BTreeMap<&str, &ModbusTemplate> = config
        .modbus_template
        .iter()
        .map(|t| (t.name.get_ref().as_str(), t))
        .collect();
    let mut maps = Vec::new();
    for device in &config.modbus {
        let template = match &device.template {
            Some(name) => Some(*templates.get(name.get_ref().as_str()).ok_or_else(|| {
                SourceError::Setup(format!(
                    "Modbus device {:?}: unknown template {:?}",
                    device.name.get_ref(),
                    name.get_ref()
                ))
            })?),
            None => None,
        };
        let map = device_map(config, device, template)?;
        if !map.fields.is_empty() {
            maps.push(map);
        }
    }
    Ok(maps)
}

fn device_map(
    config: &Config,
    device: &ModbusDevice,
    template: Option<&ModbusTemplate>,
) -> Result<DeviceMap, SourceError> {
    let name = device.name.get_ref().clone();
    let url = device
        .parsed_url()
        .map_err(|e| SourceError::Setup(format!("Modbus device {name:?}: {e}")))?;
    let mut fields = Vec::new();
    let mut bound_keys = Vec::new();
    let mut discovered = Vec::new();
    let mut bound = Vec::new();
    for sensor in &config.sensor {
        let Some(binding) = &sensor.modbus else {
            continue;
        };
        if binding.device.get_ref() != &name {
            continue;
        }
        let id = SensorId::new(sensor.id.get_ref());
        match (&binding.field, template) {
            (Some(key), Some(template)) => {
                let field = template
                    .field
                    .iter()
                    .find(|f| f.key.get_ref() == key.get_ref())
                    .ok_or_else(|| {
                        SourceError::Setup(format!(
                            "sensor {id}: template {:?} has no field {:?}",
                            template.name.get_ref(),
                            key.get_ref()
                        ))
                    })?;
                bound_keys.push(key.get_ref().clone());
                let defaults = field.defaults(&name);
                discovered.push(Discovery::of(id.clone(), &defaults, Named::default()));
                bound.push(id.clone());
                fields.push(template_field(id, field, template.one_based));
            }
            (Some(key), None) => {
                return Err(SourceError::Setup(format!(
                    "sensor {id}: field {:?} needs a template on device {name:?}",
                    key.get_ref()
                )));
            }
            (None, _) => fields.push(binding_field(id, binding, device.one_based)?),
        }
    }
    let mut excluded = exclusions(&device.unreadable, device.one_based);
    if let Some(template) = template {
        excluded.extend(exclusions(&template.unreadable, template.one_based));
        for field in &template.field {
            if bound_keys.contains(field.key.get_ref()) {
                continue;
            }
            let id = SensorId::new(format!("{name}.{}", field.key.get_ref()));
            let defaults = field.defaults(&name);
            discovered.push(Discovery::of(id.clone(), &defaults, Named::default()));
            fields.push(template_field(id, field, template.one_based));
        }
    }
    Ok(DeviceMap {
        name,
        url,
        unit: device.unit,
        poll: device.poll(),
        timeout: device.timeout(),
        rules: PlanRules {
            max_gap: device.max_gap(),
            one_request_per_field: device.one_request_per_field,
        },
        excluded,
        fields,
        discovered,
        bound,
        inter_request_delay: device.inter_request_delay.map_or(Duration::ZERO, |d| d.0),
        pause_after_connect: device.pause_after_connect.map_or(Duration::ZERO, |d| d.0),
    })
}

fn wire(address: u16, one_based: bool) -> u16 {
    if one_based {
        address.saturating_sub(1)
    } else {
        address
    }
}

fn codec(
    kind: ValueType,
    order: WordOrder,
    bit: Option<u8>,
    (scale, offset): (f64, f64),
    valid: Option<ValidRange>,
) -> Codec {
    Codec {
        kind,
        order,
        bit,
        scale,
        offset,
        valid,
    }
}

fn template_field(sensor: SensorId, field: &TemplateField, one_based: bool) -> Field {
    let address = *field.address.get_ref();
    Field {
        sensor,
        table: field.table,
        address: wire(address, one_based),
        configured: address,
        codec: codec(
            effective_kind(field.table, field.kind),
            field.order,
            field.bit.as_ref().map(|b| *b.get_ref()),
            (field.scale, field.offset),
            field.valid_range(),
        ),
    }
}

fn binding_field(
    sensor: SensorId,
    binding: &ModbusBinding,
    one_based: bool,
) -> Result<Field, SourceError> {
    let address = binding
        .address
        .as_ref()
        .map(|a| *a.get_ref())
        .ok_or_else(|| {
            SourceError::Setup(format!(
                "sensor {sensor}: modbus binding needs an address (or a template field)"
            ))
        })?;
    Ok(Field {
        sensor,
        table: binding.table,
        address: wire(address, one_based),
        configured: address,
        codec: codec(
            effective_kind(binding.table, binding.kind),
            binding.order,
            binding.bit.as_ref().map(|b| *b.get_ref()),
            (binding.scale, binding.offset),
            binding.valid_range(),
        ),
    })
}

/// Coils and discrete inputs are bits whatever type was written.
fn effective_kind(table: Table, kind: ValueType) -> ValueType {
    if table.is_bits() {
        ValueType::Bool
    } else {
        kind
    }
}

fn exclusions(ranges: &[toml::Spanned<UnreadableRange>], one_based: bool) -> Vec<Exclusion> {
    ranges
        .iter()
        .map(|r| {
            let r = r.get_ref();
            Exclusion {
                table: r.table,
                from: wire(r.from, one_based),
                to: wire(r.to, one_based),
            }
        })
        .collect()
}

/// Starts one polling task per link; announces template-made sensors first.
pub async fn spawn(
    config: &Config,
    events: mpsc::Sender<SourceEvent>,
    cancel: CancellationToken,
    set: &mut JoinSet<()>,
) -> Result<(), SourceError> {
    let maps = device_maps(config)?;
    for found in maps.iter().flat_map(|m| m.discovered.iter()) {
        let _ = events.send(SourceEvent::Discovered(found.clone())).await;
    }
    for link in poller::links(maps) {
        set.spawn(poller::run_link(link, events.clone(), cancel.clone()));
    }
    Ok(())
}
