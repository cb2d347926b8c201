//! Payload decoders: message bytes → readings. Pure functions, no I/O, so
//! every format is tested on real samples and fuzzed.
//!
//! Formats: a plain number with an optional unit (`"21.5 °C"`); JSON with
//! JSON-pointer paths for value, time, id, unit, name and quality (one
//! reading, an array of readings, or an array inside the message); a packed
//! frame as a hex string or raw bytes, read by a declared field layout.
//! Linear `raw`/`eng` scaling applies last; a raw value outside the valid
//! range (NAMUR NE 43 for 4–20 mA) makes the reading bad. Text times are read
//! by the CSV import's parser, in the binding's zone (default the plant's).

use crate::config::{DecodeKeys, JsonPaths, LayoutError, PayloadFormat, PayloadLayout};
use crate::model::{Quality, TimestampMs};
use serde_json::Value;
use std::ops::Range;

mod frame;
mod times;
use frame::decode_frame;
pub use frame::{FrameRejection, FrameValue, Hex};
use times::Times;

/// How to read one kind of message, built once from a checked layout. It
/// remembers the last time it read, so a local time in the hour a DST change
/// repeats is read as the one that keeps time moving forward (as import does).
#[derive(Clone, Debug)]
pub struct PayloadSpec {
    layout: PayloadLayout,
    times: Times,
}

/// One value found in a message. `key` is the id from `id_path` (JSON) or
/// the field name (frames); the MQTT source turns it into a sensor id.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub key: Option<String>,
    pub value: f64,
    pub ts: TimestampMs,
    /// `ts` is the arrival time (the message carried none): the router keeps
    /// such times of one sensor distinct and increasing.
    pub arrival_stamped: bool,
    pub unit: Option<String>,
    pub name: Option<String>,
    /// The group the payload names (`group_path`).
    pub group: Option<String>,
    pub quality: Quality,
}

/// What one message gave: its readings, and the first problem if any part
/// of it could not be read (the readings that could be read are kept).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Decoding {
    pub readings: Vec<Decoded>,
    pub error: Option<DecodeError>,
    /// A frame's integer fields, for `{frame.NAME}` in sensor ids.
    pub frame: Vec<FrameValue>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("payload is not UTF-8 text")]
    NotText,
    #[error("expected a number (optionally with a unit, like \"21.5 °C\"), got {0:?}")]
    NotANumber(String),
    #[error("{0} is not a finite number")]
    NotFinite(String),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("no value at JSON pointer {0:?}")]
    Missing(String),
    #[error("value at {pointer:?} is {found}, expected a number")]
    NotNumeric { pointer: String, found: String },
    #[error("time at {pointer:?}: {found} is not {expected}")]
    BadTime {
        pointer: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "time at {pointer:?}: {found} does not exist in {zone} (a daylight-saving gap): the sender's clock is not in {zone}; set tz on the binding"
    )]
    LocalTimeGap {
        pointer: String,
        found: String,
        zone: String,
    },
    #[error("{pointer:?} is not an array of readings")]
    NotAnArray { pointer: String },
    #[error("invalid hex frame: {0}")]
    Hex(String),
    #[error("frame of {got} bytes is too short for field {field:?} (needs bytes {need:?})")]
    FrameTooShort {
        field: String,
        need: Range<usize>,
        got: usize,
    },
    #[error("payload of {size} bytes is larger than max_packet_size = {limit} bytes; not decoded")]
    TooLarge { size: usize, limit: usize },
    /// A frame that breaks its layout's rules: nothing of it is stored.
    #[error(transparent)]
    Frame(FrameRejection),
    #[error("reading {index}: {source}")]
    Item {
        index: usize,
        #[source]
        source: Box<DecodeError>,
    },
}

impl PayloadSpec {
    /// Times without an offset are in the layout's `tz`, else UTC.
    pub fn new(layout: PayloadLayout) -> PayloadSpec {
        PayloadSpec::in_plant(layout, chrono_tz::UTC)
    }

    /// Times without an offset are in the layout's `tz`, else in `plant`.
    pub fn in_plant(layout: PayloadLayout, plant: chrono_tz::Tz) -> PayloadSpec {
        let times = Times::new(&layout.time_format, layout.tz.unwrap_or(plant));
        PayloadSpec { layout, times }
    }

    pub fn number() -> PayloadSpec {
        PayloadSpec::new(PayloadLayout::number())
    }

    /// Checks the payload keys of a binding or pattern and builds their decoder.
    pub fn from_keys(keys: &DecodeKeys<'_>) -> Result<PayloadSpec, LayoutError> {
        PayloadLayout::from_keys(keys).map(PayloadSpec::new)
    }

    /// The layout's field names, in order (empty unless hex/binary).
    pub fn field_names(&self) -> Vec<&str> {
        self.layout.field_names()
    }

    pub fn has_id_path(&self) -> bool {
        self.layout.has_id_path()
    }

    /// Decodes one message; `arrival_ms` stands in for a missing timestamp.
    pub fn decode(&mut self, payload: &[u8], arrival_ms: TimestampMs) -> Decoding {
        let layout = &self.layout;
        let mut out = match &layout.format {
            PayloadFormat::Number => single(decode_number(payload, arrival_ms)),
            PayloadFormat::Json(paths) => decode_json(paths, &mut self.times, payload, arrival_ms),
            PayloadFormat::Frame(frame) => decode_frame(frame, payload, arrival_ms),
        };
        if let Some(scale) = layout.scale {
            for reading in &mut out.readings {
                if !scale.accepts(reading.value) {
                    reading.quality = Quality::Bad;
                }
                reading.value = scale.apply(reading.value);
            }
        }
        out
    }
}

fn single(result: Result<Decoded, DecodeError>) -> Decoding {
    match result {
        Ok(reading) => Decoding {
            readings: vec![reading],
            ..Default::default()
        },
        Err(e) => Decoding {
            error: Some(e),
            ..Default::default()
        },
    }
}

/// `21.5`, `" 21.5 °C "`, `"\"-3e2\""`, `21.5°C`: the number and the unit after it.
pub fn parse_number_with_unit(text: &str) -> Result<(f64, Option<String>), DecodeError> {
    let trimmed = text.trim().trim_matches('"').trim();
    let split = trimmed
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E')))
        .map_or(trimmed.len(), |(i, _)| i);
    let (mut number, mut rest) = trimmed.split_at(split);
    // "1e" followed by a unit starting with 'e' cannot be told apart; prefer the shorter number.
    let value = loop {
        if let Ok(v) = number.parse::<f64>() {
            break v;
        }
        match number.char_indices().last() {
            Some((i, c)) if matches!(c, 'e' | 'E' | '+' | '-' | '.') && i > 0 => {
                rest = &trimmed[i..];
                number = &trimmed[..i];
            }
            _ => return Err(DecodeError::NotANumber(snippet(text))),
        }
    };
    if !value.is_finite() {
        return Err(DecodeError::NotFinite(snippet(text)));
    }
    let unit = rest.trim();
    Ok((value, (!unit.is_empty()).then(|| unit.to_owned())))
}

fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn decode_number(payload: &[u8], arrival_ms: TimestampMs) -> Result<Decoded, DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotText)?;
    let (value, unit) = parse_number_with_unit(text)?;
    Ok(Decoded {
        key: None,
        value,
        ts: arrival_ms,
        arrival_stamped: true,
        unit,
        name: None,
        group: None,
        quality: Quality::Good,
    })
}

fn decode_json(
    paths: &JsonPaths,
    times: &mut Times,
    payload: &[u8],
    arrival_ms: TimestampMs,
) -> Decoding {
    let doc: Value = match serde_json::from_slice(payload) {
        Ok(doc) => doc,
        Err(e) => return single(Err(DecodeError::Json(e.to_string()))),
    };
    let items = match &paths.items {
        Some(p) => match doc.pointer(p) {
            Some(Value::Array(items)) => items.as_slice(),
            _ => {
                return single(Err(DecodeError::NotAnArray { pointer: p.clone() }));
            }
        },
        None => match &doc {
            Value::Array(items) => items.as_slice(),
            _ => return single(json_reading(paths, times, &doc, arrival_ms)),
        },
    };
    let mut out = Decoding::default();
    for (index, item) in items.iter().enumerate() {
        match json_reading(paths, times, item, arrival_ms) {
            Ok(reading) => out.readings.push(reading),
            Err(source) => {
                out.error.get_or_insert(DecodeError::Item {
                    index,
                    source: Box::new(source),
                });
            }
        }
    }
    out
}

fn json_reading(
    paths: &JsonPaths,
    times: &mut Times,
    doc: &Value,
    arrival_ms: TimestampMs,
) -> Result<Decoded, DecodeError> {
    let found = doc
        .pointer(&paths.value)
        .ok_or_else(|| DecodeError::Missing(paths.value.clone()))?;
    let (value, unit_in_value) = json_number(&paths.value, found)?;
    let (ts, arrival_stamped) = match paths.time.as_deref().map(|p| (p, doc.pointer(p))) {
        Some((p, Some(v))) if !v.is_null() => (times.parse(p, v)?, false),
        _ => (arrival_ms, true),
    };
    let text_at = |p: &Option<String>| -> Option<String> {
        match doc.pointer(p.as_deref()?)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    Ok(Decoded {
        key: text_at(&paths.id),
        value,
        ts,
        arrival_stamped,
        unit: text_at(&paths.unit).or(unit_in_value),
        name: text_at(&paths.name),
        group: text_at(&paths.group),
        quality: paths
            .quality
            .as_deref()
            .and_then(|p| doc.pointer(p))
            .map_or(Quality::Good, quality_of),
    })
}

fn json_number(pointer: &str, v: &Value) -> Result<(f64, Option<String>), DecodeError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| (f, None))
            .ok_or_else(|| DecodeError::NotFinite(n.to_string())),
        Value::String(s) => parse_number_with_unit(s),
        Value::Bool(b) => Ok((f64::from(u8::from(*b)), None)),
        other => Err(DecodeError::NotNumeric {
            pointer: pointer.to_owned(),
            found: short_json(other),
        }),
    }
}

fn short_json(v: &Value) -> String {
    snippet(&v.to_string())
}

/// `1.0`, `true`, `"good"`, `"ok"` → good; `"stale"` → stale; anything else → bad.
/// Numbers are confidences in 0..=1: 0.5 and above is good.
fn quality_of(v: &Value) -> Quality {
    match v {
        Value::Bool(true) => Quality::Good,
        Value::Number(n) if n.as_f64().is_some_and(|q| q >= 0.5) => Quality::Good,
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "good" | "ok" | "valid" => Quality::Good,
            "stale" | "old" => Quality::Stale,
            _ => Quality::Bad,
        },
        _ => Quality::Bad,
    }
}

#[cfg(test)]
mod tests;
