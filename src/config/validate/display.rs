//! `decimals` (display precision) on sensors, patterns and frame fields.

use crate::config::{Config, Diagnostic, FieldSpec, LayoutSpec};
use toml::Spanned;

/// Most digits after the point worth showing: an f64 holds 15-17
/// significant digits, and 10 resolve a GPS coordinate to 0.01 mm.
pub const MAX_DECIMALS: u8 = 10;

pub fn check(config: &Config, diags: &mut Vec<Diagnostic>) {
    for sensor in &config.sensor {
        within(sensor.decimals.as_ref(), diags);
        if let Some(m) = &sensor.mqtt {
            fields(&m.keys.fields, &m.keys.layouts, diags);
        }
    }
    for pattern in config.patterns() {
        within(pattern.decimals.as_ref(), diags);
        fields(&pattern.payload.fields, &pattern.payload.layouts, diags);
    }
}

fn fields(
    fields: &[Spanned<FieldSpec>],
    layouts: &[Spanned<LayoutSpec>],
    diags: &mut Vec<Diagnostic>,
) {
    let in_layouts = layouts.iter().flat_map(|l| l.get_ref().fields.iter());
    for field in fields.iter().chain(in_layouts) {
        within(field.get_ref().decimals.as_ref(), diags);
    }
}

fn within(decimals: Option<&Spanned<u8>>, diags: &mut Vec<Diagnostic>) {
    if let Some(d) = decimals.filter(|d| *d.get_ref() > MAX_DECIMALS) {
        diags.push(Diagnostic::at(
            d.span(),
            format!(
                "decimals = {} is too many: use 0-{MAX_DECIMALS} (digits after the point on the console; the history keeps every digit)",
                d.get_ref()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn problems(text: &str) -> Vec<String> {
        Config::parse(Path::new("plant.toml"), text)
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.lines())
    }

    #[test]
    fn too_many_decimals_are_reported_where_written() {
        let lines = problems(
            r#"[[mqtt]]
name = "b"
url = "mqtt://127.0.0.1:1883"

[[sensor]]
id = "s"
decimals = 11
sim = { signal = "temperature" }

[[mqtt_pattern]]
broker = "b"
topic = "dev/+"
id = "{1}.{field}"
decimals = 12
fields = [{ name = "a", offset = 0, type = "u8", decimals = 20 }]
"#,
        );
        let expect = [
            "plant.toml:7:12: decimals = 11 is too many: use 0-10",
            "plant.toml:14:12: decimals = 12 is too many",
            "plant.toml:15:61: decimals = 20 is too many",
        ];
        assert_eq!(lines.len(), expect.len(), "{lines:#?}");
        for (line, want) in lines.iter().zip(expect) {
            assert!(line.starts_with(want), "{line}\n  expected\n{want}");
        }
    }
}
