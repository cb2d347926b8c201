//! Packed frames (a hex string or raw bytes) read by a checked
//! [`FrameLayout`].
//!
//! A binding may declare what makes a frame valid (`frame = { length,
//! header, footer, checksum }`) and several layouts chosen by a type byte
//! (`type_at`, `layouts`). Such a frame is read whole or rejected whole: a
//! broken rule or an unreadable field gives no readings, only the reason.
//! A plain `fields = [...]` layout keeps the fields it could read.

mod read;
mod rules;

use super::{DecodeError, Decoded, Decoding, single};
use crate::config::{FrameLayout, LayoutField, TypedLayout};
use crate::model::{Quality, TimestampMs};
pub use read::FrameValue;
use read::{Raw, read_raw};
pub use rules::{FrameRejection, Hex};
use std::borrow::Cow;

/// The readings of one frame by `layout`.
pub(super) fn decode_frame(
    layout: &FrameLayout,
    payload: &[u8],
    arrival_ms: TimestampMs,
) -> Decoding {
    let bytes = if layout.hex {
        match hex_bytes(payload) {
            Ok(bytes) => Cow::Owned(bytes),
            Err(e) => return single(Err(e)),
        }
    } else {
        Cow::Borrowed(payload)
    };
    match layout_for(layout, &bytes) {
        Ok(typed) => read_layout(typed, &bytes, arrival_ms, layout.strict),
        Err(rejected) => single(Err(DecodeError::Frame(rejected))),
    }
}

/// The layout that reads `bytes`, once every rule on the way holds.
fn layout_for<'l>(
    layout: &'l FrameLayout,
    bytes: &[u8],
) -> Result<&'l TypedLayout, FrameRejection> {
    rules::check(&layout.rules, bytes)?;
    let typed = match layout.type_at {
        None => &layout.layouts[0],
        Some(at) => {
            let Some(found) = bytes.get(at) else {
                let got = bytes.len();
                return Err(FrameRejection::NoTypeByte { at, got });
            };
            let chosen = layout.layouts.iter().find(|l| l.types.contains(found));
            chosen.ok_or_else(|| FrameRejection::UnknownType {
                found: Hex(vec![*found]),
                known: layout.known_types(),
            })?
        }
    };
    rules::check(&typed.rules, bytes)?;
    Ok(typed)
}

/// The readings of one frame; `strict`: all of them or none.
fn read_layout(
    layout: &TypedLayout,
    bytes: &[u8],
    arrival_ms: TimestampMs,
    strict: bool,
) -> Decoding {
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
    field: &LayoutField,
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

fn reading(field: &LayoutField, value: f64, arrival_ms: TimestampMs) -> Decoded {
    Decoded {
        key: Some(field.spec.name.clone()),
        value,
        ts: arrival_ms,
        arrival_stamped: true,
        unit: field.spec.unit.clone(),
        name: None,
        group: None,
        quality: Quality::Good,
    }
}

/// The integer fields' values, for `{frame.NAME}` in sensor ids.
fn frame_values(layout: &TypedLayout, raws: &[Result<Raw, DecodeError>]) -> Vec<FrameValue> {
    let pairs = layout.fields.iter().zip(raws);
    pairs
        .filter_map(|(field, raw)| match raw {
            Ok(Raw::Int(raw)) => Some(FrameValue {
                name: field.name.clone(),
                raw: *raw,
                bits: field.spec.bits(),
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
