//! Sensor-id templates of `[[mqtt_pattern]]`: text with `{1}`…`{n}`
//! (wildcard captures), `{id}` (the payload's id), `{field}` (the frame
//! field name) and `{frame.NAME}` (a frame field's value: decimal, or hex
//! with `{frame.NAME:X}` / `{frame.NAME:x}`, padded to the field's width).

/// A parsed sensor-id template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTemplate {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Capture(usize),
    Id,
    Field,
    Frame { name: String, format: IdFormat },
}

/// How `{frame.NAME}` writes the field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdFormat {
    Decimal,
    HexUpper,
    HexLower,
}

/// `{1}..{N} (the topic's + and # in order), ` when there are captures.
fn captures_hint(wildcards: usize) -> String {
    match wildcards {
        0 => String::new(),
        n => format!("{{1}}..{{{n}}} (the topic's + and # in order), "),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id {0:?}: unclosed {{")]
    Unclosed(String),
    #[error(
        "id {id:?}: {{{name}}} is not a placeholder; use {}{{id}} or {{field}}",
        captures_hint(*.wildcards)
    )]
    NotAPlaceholder {
        id: String,
        name: String,
        wildcards: usize,
    },
    #[error("id must not be empty")]
    Empty,
    #[error(
        "id {id:?}: {{frame.{spec}}}: unknown format {format:?}; write {{frame.NAME}} (decimal), {{frame.NAME:X}} or {{frame.NAME:x}} (hex)"
    )]
    FrameFormat {
        id: String,
        spec: String,
        format: String,
    },
    #[error("id {0:?}: {{frame.}} needs a field name, like {{frame.device}}")]
    FrameWithoutName(String),
}

impl IdFormat {
    /// `raw` of a field of `bits` bits: decimal, or hex padded to the width
    /// (negative values as the field's two's complement).
    pub fn write(self, raw: i64, bits: u32) -> String {
        let digits = bits.div_ceil(4) as usize;
        let mask = 1u64.checked_shl(bits).map_or(u64::MAX, |m| m - 1);
        let unsigned = (raw as u64) & mask;
        match self {
            IdFormat::Decimal => raw.to_string(),
            IdFormat::HexUpper => format!("{unsigned:0digits$X}"),
            IdFormat::HexLower => format!("{unsigned:0digits$x}"),
        }
    }
}

impl IdTemplate {
    pub fn parse(text: &str, wildcards: usize) -> Result<IdTemplate, IdError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(IdError::Unclosed(text.to_owned()));
            };
            let name = &rest[open + 1..open + close];
            parts.push(placeholder(text, name, wildcards)?);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if parts.is_empty() {
            return Err(IdError::Empty);
        }
        Ok(IdTemplate { parts })
    }

    pub fn uses_id(&self) -> bool {
        self.parts.contains(&Part::Id)
    }
    pub fn uses_field(&self) -> bool {
        self.parts.contains(&Part::Field)
    }

    /// The frame fields named by `{frame.NAME}`.
    pub fn frame_fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Frame { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The id, or `None` when `{id}`/`{field}` is needed but absent.
    pub fn render(&self, captures: &[&str], key: Option<&str>) -> Option<String> {
        self.render_with(captures, key, |_| None)
    }

    /// The id; `frame` gives a frame field's raw value and width in bits.
    pub fn render_with(
        &self,
        captures: &[&str],
        key: Option<&str>,
        frame: impl Fn(&str) -> Option<(i64, u32)>,
    ) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Capture(i) => out.push_str(captures.get(*i)?),
                Part::Id | Part::Field => out.push_str(key?),
                Part::Frame { name, format } => {
                    let (raw, bits) = frame(name)?;
                    out.push_str(&format.write(raw, bits));
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Whether this template can have made `id`; with `field`, `{field}`
    /// must be that field name. Every other placeholder matches any text.
    pub fn matches(&self, id: &str, field: Option<&str>) -> bool {
        matches_parts(&self.parts, id, field)
    }
}

fn matches_parts(parts: &[Part], rest: &str, field: Option<&str>) -> bool {
    let Some((first, tail)) = parts.split_first() else {
        return rest.is_empty();
    };
    let literal = match (first, field) {
        (Part::Text(text), _) => Some(text.as_str()),
        (Part::Field, Some(field)) => Some(field),
        _ => None,
    };
    match literal {
        Some(literal) => rest
            .strip_prefix(literal)
            .is_some_and(|after| matches_parts(tail, after, field)),
        None => (0..=rest.len())
            .filter(|i| rest.is_char_boundary(*i))
            .any(|i| matches_parts(tail, &rest[i..], field)),
    }
}

/// The part `{name}` of template `id` stands for.
fn placeholder(id: &str, name: &str, wildcards: usize) -> Result<Part, IdError> {
    if let Some(frame) = name.strip_prefix("frame.") {
        return frame_part(id, frame);
    }
    match name {
        "id" => Ok(Part::Id),
        "field" => Ok(Part::Field),
        n => match n.parse::<usize>() {
            Ok(i) if (1..=wildcards).contains(&i) => Ok(Part::Capture(i - 1)),
            _ => Err(IdError::NotAPlaceholder {
                id: id.to_owned(),
                name: name.to_owned(),
                wildcards,
            }),
        },
    }
}

/// `device`, `device:X`, `device:x`.
fn frame_part(id: &str, spec: &str) -> Result<Part, IdError> {
    let (name, format) = match spec.split_once(':') {
        None => (spec, IdFormat::Decimal),
        Some((name, "X")) => (name, IdFormat::HexUpper),
        Some((name, "x")) => (name, IdFormat::HexLower),
        Some((_, other)) => {
            return Err(IdError::FrameFormat {
                id: id.to_owned(),
                spec: spec.to_owned(),
                format: other.to_owned(),
            });
        }
    };
    if name.is_empty() {
        return Err(IdError::FrameWithoutName(id.to_owned()));
    }
    Ok(Part::Frame {
        name: name.to_owned(),
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_values_fill_ids_in_decimal_or_padded_hex() {
        let t = IdTemplate::parse("{frame.device:X}.{field}", 0).unwrap();
        let device = |name: &str| (name == "device").then_some((0x0A3F73, 24));
        assert_eq!(
            t.render_with(&[], Some("lat"), device).as_deref(),
            Some("0A3F73.lat")
        );
        assert_eq!(t.render_with(&[], Some("lat"), |_| None), None);
        let lower = IdTemplate::parse("gps-{frame.device:x}", 0).unwrap();
        assert_eq!(
            lower.render_with(&[], None, device).as_deref(),
            Some("gps-0a3f73")
        );
        let decimal = IdTemplate::parse("{1}/{frame.device}", 1).unwrap();
        // 0x0A3F73 = 671603.
        assert_eq!(
            decimal.render_with(&["site"], None, device).as_deref(),
            Some("site/671603")
        );
        assert_eq!(decimal.frame_fields().collect::<Vec<_>>(), ["device"]);
        assert_eq!(IdFormat::HexUpper.write(-1, 12), "FFF");
        assert_eq!(IdFormat::HexLower.write(10, 4), "a");
    }

    #[test]
    fn bad_frame_placeholders_say_what_works() {
        assert_eq!(
            IdTemplate::parse("{frame.device:b}", 0)
                .unwrap_err()
                .to_string(),
            "id \"{frame.device:b}\": {frame.device:b}: unknown format \"b\"; \
             write {frame.NAME} (decimal), {frame.NAME:X} or {frame.NAME:x} (hex)"
        );
        let err = IdTemplate::parse("{frame.}", 0).unwrap_err().to_string();
        assert!(err.contains("needs a field name"), "{err}");
        assert!(matches!(
            IdTemplate::parse("{frame}", 0),
            Err(IdError::NotAPlaceholder { .. })
        ));
    }

    #[test]
    fn templates_match_the_ids_they_make() {
        let t = IdTemplate::parse("{frame.device:X}.{field}", 0).unwrap();
        assert!(t.matches("0A3F73.lat", Some("lat")));
        assert!(!t.matches("0A3F73.lon", Some("lat")));
        assert!(t.matches("0A3F73.lon", None));
        assert!(t.matches("a.b.lat", Some("lat")));
        let fixed = IdTemplate::parse("gps.{1}", 1).unwrap();
        assert!(fixed.matches("gps.x", None));
        assert!(!fixed.matches("gpsx", None));
        assert!(!fixed.matches("other.x", None));
    }
}
