//! Display precision per sensor (`decimals`): on a `[[sensor]]`, on a
//! `[[mqtt_pattern]]` for every sensor it discovers, and on a frame field
//! for the sensors made from that field. Only the console rounds; the
//! history keeps every digit.

use crate::config::{Config, FieldSpec, IdTemplate, LayoutSpec, PatternKeys};
use std::collections::HashMap;
use toml::Spanned;

/// Digits after the point, by sensor id.
#[derive(Clone, Debug, Default)]
pub struct Decimals {
    exact: HashMap<String, usize>,
    /// Discovered sensors: the first rule whose template made the id wins.
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    template: IdTemplate,
    /// The frame field the sensor comes from (`{field}` must be it).
    field: Option<String>,
    decimals: usize,
}

impl Decimals {
    pub fn from_config(config: &Config) -> Decimals {
        let exact = config
            .sensor
            .iter()
            .filter_map(|s| {
                let field = s.mqtt.as_ref().and_then(|m| {
                    let fields = all_fields(&m.keys.fields, &m.keys.layouts);
                    bound_field_decimals(fields, m.field.as_ref())
                });
                let decimals = s.decimals.as_ref().map(|d| *d.get_ref()).or(field)?;
                Some((s.id.get_ref().clone(), usize::from(decimals)))
            })
            .collect();
        let rules = config
            .patterns_with_wildcards()
            .flat_map(|(keys, wildcards)| pattern_rules(keys, wildcards))
            .collect();
        Decimals { exact, rules }
    }

    /// The sensor's display precision, if one is configured.
    pub fn of(&self, id: &str) -> Option<usize> {
        if let Some(d) = self.exact.get(id) {
            return Some(*d);
        }
        let rule = self
            .rules
            .iter()
            .find(|r| r.template.matches(id, r.field.as_deref()))?;
        Some(rule.decimals)
    }
}

fn all_fields<'a>(
    fields: &'a [Spanned<FieldSpec>],
    layouts: &'a [Spanned<LayoutSpec>],
) -> impl Iterator<Item = &'a FieldSpec> {
    let in_layouts = layouts.iter().flat_map(|l| l.get_ref().fields.iter());
    fields.iter().chain(in_layouts).map(Spanned::get_ref)
}

/// The decimals of the field a sensor binding reads (default: the first reading field).
fn bound_field_decimals<'a>(
    mut fields: impl Iterator<Item = &'a FieldSpec>,
    field: Option<&Spanned<String>>,
) -> Option<u8> {
    let bound = match field {
        Some(name) => fields.find(|f| &f.name == name.get_ref()),
        None => fields.find(|f| f.reading),
    }?;
    bound.decimals.as_ref().map(|d| *d.get_ref())
}

/// Field rules first (more specific), then the pattern's own `decimals`.
fn pattern_rules(pattern: &PatternKeys, wildcards: usize) -> Vec<Rule> {
    let Ok(template) = IdTemplate::parse(pattern.id.get_ref(), wildcards) else {
        return Vec::new();
    };
    let payload = &pattern.payload;
    let mut rules: Vec<Rule> = all_fields(&payload.fields, &payload.layouts)
        .filter_map(|f| {
            Some(Rule {
                template: template.clone(),
                field: Some(f.name.clone()),
                decimals: usize::from(*f.decimals.as_ref()?.get_ref()),
            })
        })
        .collect();
    if let Some(d) = &pattern.decimals {
        rules.push(Rule {
            template,
            field: None,
            decimals: usize::from(*d.get_ref()),
        });
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn sensors_patterns_and_frame_fields_set_their_precision() {
        let config = Config::parse(
            Path::new("t.toml"),
            r#"[[mqtt]]
name = "b"
url = "mqtt://127.0.0.1:1883"

[[sensor]]
id = "gps.lat"
decimals = 7
mqtt = { broker = "b", topic = "gps", fields = [{ name = "lat", offset = 0, type = "i32", scale = 1e-7, decimals = 5 }] }

[[sensor]]
id = "gps.lon"
mqtt = { broker = "b", topic = "gps2", fields = [{ name = "lon", offset = 0, type = "i32", scale = 1e-7, decimals = 6 }] }

[[sensor]]
id = "plain"
sim = { signal = "temperature" }

[[mqtt_pattern]]
broker = "b"
topic = "/messenger"
id = "{frame.device:X}.{field}"
decimals = 1
fields = [
  { name = "device", offset = 0, type = "u24", reading = false },
  { name = "lat", offset = 3, type = "u32", scale = 1e-6, decimals = 6 },
  { name = "speed", offset = 7, type = "u16", scale = 0.1 },
]
"#,
        )
        .unwrap();
        let d = Decimals::from_config(&config);
        assert_eq!(d.of("gps.lat"), Some(7));
        assert_eq!(d.of("gps.lon"), Some(6));
        assert_eq!(d.of("plain"), None);
        assert_eq!(d.of("0A3F73.lat"), Some(6));
        assert_eq!(d.of("0A3F73.speed"), Some(1));
        assert_eq!(d.of("elsewhere"), None);
    }
}
