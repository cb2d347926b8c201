//! Packed frames (a hex string or raw bytes) read by a declared field layout.
//!
//! A binding may declare what makes a frame valid (`frame = { length,
//! header, footer, checksum }`) and several layouts chosen by a type byte
//! (`type_at`, `layouts`). Such a frame is read whole or rejected whole: a
//! broken rule or an unreadable field gives no readings, only the reason.
//! A plain `fields = [...]` layout keeps the fields it could read.

mod build;
mod read;
mod rules;

use super::{DecodeError, Decoded, Decoding, SpecError, single};
use crate::config::{DecodeKeys, FieldSpec};
use crate::model::{Quality, TimestampMs};
use build::type_list;
pub use read::FrameValue;
use read::{Raw, bits_of, is_integer, read_raw};
use rules::Rules;
pub use rules::{FrameRejection, Hex};
use std::borrow::Cow;
use std::sync::Arc;

/// How to check and read the frames of one binding or pattern.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FrameDecoder {
    hex: bool,
    /// Validity was declared: a frame is read whole or rejected.
    strict: bool,
    rules: Rules,
    type_at: Option<usize>,
    layouts: Vec<Layout>,
}

#[derive(Clone, Debug, PartialEq)]
struct Layout {
    /// Type byte values (empty: the one layout, no type byte).
    types: Vec<u8>,
    rules: Rules,
    fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    spec: FieldSpec,
    name: Arc<str>,
    /// Index of the flags field and the bit that makes this value negative.
    sign: Option<(usize, u32)>,
}

/// Why `{frame.NAME}` cannot name sensors.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FrameIdError {
    #[error("{{frame.{0}}} needs a hex or binary layout (fields = [...])")]
    NotAFrame(String),
    #[error("{{frame.{name}}}: no field {name:?} in the layout (integer fields: {known})")]
    Unknown { name: String, known: String },
    #[error("{{frame.{name}}}: field {name:?} is {kind}; an id needs an integer field")]
    NotInteger { name: String, kind: String },
    #[error("{{frame.{name}}}: the layout for type {types} has no field {name:?}")]
    NotInEveryLayout { name: String, types: String },
}

impl FrameDecoder {
    pub fn from_keys(keys: &DecodeKeys<'_>, hex: bool) -> Result<FrameDecoder, SpecError> {
        build::build(keys, hex)
    }

    /// Names of the fields that give readings, over every layout, in order.
    pub fn field_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        let fields = self.layouts.iter().flat_map(|l| &l.fields);
        for field in fields.filter(|f| f.spec.reading) {
            if !names.contains(&field.spec.name.as_str()) {
                names.push(&field.spec.name);
            }
        }
        names
    }

    /// Whether `{frame.NAME}` can be read from every frame this decoder accepts.
    pub fn check_id_field(&self, name: &str) -> Result<(), FrameIdError> {
        for layout in &self.layouts {
            let Some(field) = layout.fields.iter().find(|f| f.spec.name == name) else {
                return Err(self.unknown_id_field(layout, name));
            };
            if !is_integer(field.spec.kind) {
                let kind = format!("{:?}", field.spec.kind).to_lowercase();
                let name = name.to_owned();
                return Err(FrameIdError::NotInteger { name, kind });
            }
        }
        Ok(())
    }

    fn unknown_id_field(&self, layout: &Layout, name: &str) -> FrameIdError {
        let name = name.to_owned();
        if self.layouts.len() > 1 {
            let types = type_list(&layout.types);
            return FrameIdError::NotInEveryLayout { name, types };
        }
        let known: Vec<&str> = (layout.fields.iter())
            .filter(|f| is_integer(f.spec.kind))
            .map(|f| f.spec.name.as_str())
            .collect();
        let known = known.join(", ");
        FrameIdError::Unknown { name, known }
    }

    pub fn decode(&self, payload: &[u8], arrival_ms: TimestampMs) -> Decoding {
        let bytes = if self.hex {
            match hex_bytes(payload) {
                Ok(bytes) => Cow::Owned(bytes),
                Err(e) => return single(Err(e)),
            }
        } else {
            Cow::Borrowed(payload)
        };
        match self.layout_for(&bytes) {
            Ok(layout) => read_layout(layout, &bytes, arrival_ms, self.strict),
            Err(rejected) => single(Err(DecodeError::Frame(rejected))),
        }
    }

    /// The layout that reads `bytes`, once every rule on the way holds.
    fn layout_for(&self, bytes: &[u8]) -> Result<&Layout, FrameRejection> {
        self.rules.check(bytes)?;
        let layout = match self.type_at {
            None => &self.layouts[0],
            Some(at) => {
                let Some(found) = bytes.get(at) else {
                    let got = bytes.len();
                    return Err(FrameRejection::NoTypeByte { at, got });
                };
                let chosen = self.layouts.iter().find(|l| l.types.contains(found));
                chosen.ok_or_else(|| FrameRejection::UnknownType {
                    found: Hex(vec![*found]),
                    known: self.known_types(),
                })?
            }
        };
        layout.rules.check(bytes)?;
        Ok(layout)
    }

    fn known_types(&self) -> String {
        let all: Vec<u8> = self.layouts.iter().flat_map(|l| l.types.clone()).collect();
        type_list(&all)
    }
}

/// The readings of one frame; `strict`: all of them or none.
fn read_layout(layout: &Layout, bytes: &[u8], arrival_ms: TimestampMs, strict: bool) -> Decoding {
    let raws: Vec<Result<Raw, DecodeError>> = layout
        .fields
        .iter()
        .map(|f| read_raw(&f.spec, bytes))
        .collect();
    let mut out = Decoding::default();
    for (field, raw) in layout.fields.iter().zip(&raws) {
        let value = raw.clone().and_then(|raw| value_of(field, raw, &raws));
        match value {
            Ok(value) if field.spec.reading => out.readings.push(reading(field, value, arrival_ms)),
            Ok(_) => {}
            Err(e) => {
                out.error.get_or_insert(e);
            }
        }
    }
    if strict && out.error.is_some() {
        out.readings.clear();
        return out;
    }
    out.frame = frame_values(layout, &raws);
    out
}

/// Sign from the flags, then `raw × scale + offset_value`.
fn value_of(
    field: &Field,
    raw: Raw,
    raws: &[Result<Raw, DecodeError>],
) -> Result<f64, DecodeError> {
    let mut value = raw.value();
    if let Some((index, bit)) = field.sign {
        match &raws[index] {
            Ok(Raw::Int(flags)) if flags.checked_shr(bit).unwrap_or(0) & 1 == 1 => value = -value,
            Ok(_) => {}
            Err(e) => return Err(e.clone()),
        }
    }
    let value = value * field.spec.scale + field.spec.offset_value;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DecodeError::NotFinite(format!(
            "field {:?}",
            field.spec.name
        )))
    }
}

fn reading(field: &Field, value: f64, arrival_ms: TimestampMs) -> Decoded {
    Decoded {
        key: Some(field.spec.name.clone()),
        value,
        ts: arrival_ms,
        arrival_stamped: true,
        unit: field.spec.unit.clone(),
        name: None,
        quality: Quality::Good,
    }
}

/// The integer fields' values, for `{frame.NAME}` in sensor ids.
fn frame_values(layout: &Layout, raws: &[Result<Raw, DecodeError>]) -> Vec<FrameValue> {
    let pairs = layout.fields.iter().zip(raws);
    pairs
        .filter_map(|(field, raw)| match raw {
            Ok(Raw::Int(raw)) => Some(FrameValue {
                name: field.name.clone(),
                raw: *raw,
                bits: bits_of(&field.spec),
            }),
            _ => None,
        })
        .collect()
}

/// `50F70A3F73025EFC`, `0x50f7 0a3f`, with or without spaces.
fn hex_bytes(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotText)?;
    let text = text.trim().trim_matches('"');
    let text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&compact).map_err(|e| DecodeError::Hex(e.to_string()))
}

#[cfg(test)]
mod tests;
