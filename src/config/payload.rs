//! A payload layout: the checked form of the payload keys a binding or a
//! pattern shares (`payload`, `value`, `time`, `fields`, `raw`/`eng`, ...).
//! The MQTT source decodes messages by it.

use super::frame_layout::{FrameIdError, FrameLayout, FrameProblem};
use super::scaling::{Linear, ValidRange, ValidRangeProblem};
use super::time_format::{TimeFormat, TimeFormatError, UnknownTimezone, parse_timezone};
use super::{DecodeKeys, PayloadKind};
use std::ops::Range;
use toml::Spanned;

/// How to read one kind of message.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadLayout {
    pub format: PayloadFormat,
    pub scale: Option<Linear>,
    pub time_format: TimeFormat,
    /// Zone of times without an offset; `None`: the plant's.
    pub tz: Option<chrono_tz::Tz>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PayloadFormat {
    Number,
    Json(JsonPaths),
    Frame(FrameLayout),
}

/// JSON pointers to the parts of a JSON message.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JsonPaths {
    pub value: String,
    pub time: Option<String>,
    pub id: Option<String>,
    pub unit: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
    pub quality: Option<String>,
    pub items: Option<String>,
}

/// A config problem in the payload keys; `span` points at the key when one is to blame.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{problem}")]
pub struct LayoutError {
    pub span: Option<Range<usize>>,
    pub problem: LayoutProblem,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutProblem {
    #[error("JSON pointer keys need payload = \"json\" (this payload is {0})")]
    PointerWithoutJson(&'static str),
    #[error("fields (a frame layout) need payload = \"hex\" or \"binary\"")]
    FieldsWithoutFrame,
    #[error("{0:?} is not a JSON pointer: write it like \"/value\" or \"/location/zone\"")]
    NotAPointer(String),
    #[error(
        "a hex or binary payload needs a layout: fields = [{{ name, offset, type, endian, scale, offset_value }}]"
    )]
    FrameWithoutFields,
    #[error("duplicate field name {0:?} in the layout")]
    DuplicateField(String),
    #[error("field {0:?}: scale and offset_value must be finite")]
    NonFiniteField(String),
    #[error("raw = [a, b] needs two different finite numbers (and eng two finite numbers)")]
    BadScale,
    #[error("linear scaling needs both raw = [lo, hi] and eng = [lo, hi]")]
    HalfScale,
    #[error(transparent)]
    ValidRange(#[from] ValidRangeProblem),
    #[error(transparent)]
    TimeFormat(#[from] TimeFormatError),
    #[error("tz: {0}")]
    Timezone(#[from] UnknownTimezone),
    #[error(transparent)]
    Frame(#[from] FrameProblem),
}

impl LayoutProblem {
    fn at(self, span: Range<usize>) -> LayoutError {
        LayoutError {
            span: Some(span),
            problem: self,
        }
    }
}

impl PayloadLayout {
    /// A plain number (with an optional unit), stamped on arrival.
    pub fn number() -> PayloadLayout {
        PayloadLayout {
            format: PayloadFormat::Number,
            scale: None,
            time_format: TimeFormat::Auto,
            tz: None,
        }
    }

    /// Checks the payload keys of a binding or pattern and builds the layout they describe.
    pub fn from_keys(keys: &DecodeKeys<'_>) -> Result<PayloadLayout, LayoutError> {
        let kind = keys.kind();
        let format = match kind {
            PayloadKind::Number => PayloadFormat::Number,
            PayloadKind::Json => PayloadFormat::Json(json_paths(keys)?),
            PayloadKind::Hex | PayloadKind::Binary => {
                PayloadFormat::Frame(FrameLayout::from_keys(keys, kind == PayloadKind::Hex)?)
            }
        };
        if kind != PayloadKind::Json
            && let Some(key) = json_pointer_keys(keys).into_iter().flatten().next()
        {
            return Err(LayoutProblem::PointerWithoutJson(kind_name(kind)).at(key.span()));
        }
        if matches!(format, PayloadFormat::Json(_) | PayloadFormat::Number)
            && let Some(first) = frame_key_span(keys)
        {
            return Err(LayoutProblem::FieldsWithoutFrame.at(first));
        }
        Ok(PayloadLayout {
            format,
            scale: linear(keys)?,
            time_format: time_format(keys)?,
            tz: timezone(keys)?,
        })
    }

    /// The layout's field names, in order (empty unless hex/binary).
    pub fn field_names(&self) -> Vec<&str> {
        match &self.format {
            PayloadFormat::Frame(frame) => frame.field_names(),
            _ => Vec::new(),
        }
    }

    /// Whether `{frame.NAME}` can name this payload's sensors.
    pub fn check_frame_id(&self, name: &str) -> Result<(), FrameIdError> {
        match &self.format {
            PayloadFormat::Frame(frame) => frame.check_id_field(name),
            _ => Err(FrameIdError::NotAFrame(name.to_owned())),
        }
    }

    /// Whether readings outside a raw range are stored as bad (NAMUR NE 43).
    pub fn checks_raw_range(&self) -> bool {
        self.scale.is_some_and(Linear::checks_range)
    }

    pub fn has_id_path(&self) -> bool {
        matches!(&self.format, PayloadFormat::Json(p) if p.id.is_some())
    }
}

/// The first frame key (`fields`, `layouts`, `frame`, `type_at`) given.
fn frame_key_span(keys: &DecodeKeys<'_>) -> Option<Range<usize>> {
    (keys.fields.first().map(|f| f.span()))
        .or_else(|| keys.layouts.first().map(|l| l.span()))
        .or_else(|| keys.frame.map(|f| f.span()))
        .or_else(|| keys.type_at.map(|t| t.span()))
}

fn json_pointer_keys<'a>(keys: &DecodeKeys<'a>) -> [Option<&'a Spanned<String>>; 8] {
    [
        keys.value,
        keys.time,
        keys.id_path,
        keys.unit_path,
        keys.name_path,
        keys.group_path,
        keys.quality,
        keys.items,
    ]
}

fn kind_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::Number => "number",
        PayloadKind::Json => "json",
        PayloadKind::Hex => "hex",
        PayloadKind::Binary => "binary",
    }
}

fn pointer(key: Option<&Spanned<String>>) -> Result<Option<String>, LayoutError> {
    let Some(key) = key else { return Ok(None) };
    let p = key.get_ref();
    if !p.is_empty() && !p.starts_with('/') {
        return Err(LayoutProblem::NotAPointer(p.clone()).at(key.span()));
    }
    Ok(Some(p.clone()))
}

fn json_paths(keys: &DecodeKeys<'_>) -> Result<JsonPaths, LayoutError> {
    Ok(JsonPaths {
        value: pointer(keys.value)?.unwrap_or_else(|| "/value".into()),
        time: pointer(keys.time)?,
        id: pointer(keys.id_path)?,
        unit: pointer(keys.unit_path)?,
        name: pointer(keys.name_path)?,
        group: pointer(keys.group_path)?,
        quality: pointer(keys.quality)?,
        items: pointer(keys.items)?,
    })
}

fn linear(keys: &DecodeKeys<'_>) -> Result<Option<Linear>, LayoutError> {
    let line = match (keys.raw, keys.eng) {
        (None, None) => None,
        (Some(raw), Some(eng)) => Some(
            Linear::new(*raw.get_ref(), *eng.get_ref())
                .ok_or_else(|| LayoutProblem::BadScale.at(raw.span()))?,
        ),
        (Some(one), None) | (None, Some(one)) => {
            return Err(LayoutProblem::HalfScale.at(one.span()));
        }
    };
    let Some(line) = line else {
        return match keys.raw_valid {
            Some(key) => Err(LayoutProblem::from(ValidRangeProblem::WithoutRaw).at(key.span())),
            None => Ok(None),
        };
    };
    let valid = ValidRange::resolve(keys.raw_valid, Some(line.raw()))
        .map_err(|(span, problem)| LayoutProblem::from(problem).at(span))?;
    Ok(Some(line.with_valid(valid)))
}

fn time_format(keys: &DecodeKeys<'_>) -> Result<TimeFormat, LayoutError> {
    keys.time_format.map_or(Ok(TimeFormat::Auto), |key| {
        (key.get_ref().parse()).map_err(|e| LayoutProblem::from(e).at(key.span()))
    })
}

fn timezone(keys: &DecodeKeys<'_>) -> Result<Option<chrono_tz::Tz>, LayoutError> {
    keys.tz
        .map(|key| parse_timezone(key.get_ref()).map_err(|e| LayoutProblem::from(e).at(key.span())))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MqttBinding;

    fn layout_error(keys: &str) -> String {
        let toml = format!("broker = \"b\"\ntopic = \"t\"\n{keys}");
        let binding: MqttBinding = toml::from_str(&toml).unwrap();
        PayloadLayout::from_keys(&binding.decode_keys())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn config_mistakes_are_reported_with_a_hint() {
        assert!(layout_error("payload = \"hex\"").contains("needs a layout"));
        assert!(layout_error("value = \"value\"").contains("not a JSON pointer"));
        assert!(layout_error("raw = [4, 4]\neng = [0, 1]").contains("two different"));
        assert!(layout_error("raw = [4, 20]").contains("both raw"));
        assert!(
            layout_error("payload = \"number\"\nvalue = \"/v\"")
                .contains("need payload = \"json\"")
        );
        assert!(
            layout_error(
                "payload = \"json\"\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]"
            )
            .contains("hex")
        );
        assert!(
            layout_error(
                "fields = [{ name = \"a\", offset = 0, type = \"u8\" }, { name = \"a\", offset = 1, type = \"u8\" }]"
            )
            .contains("duplicate field")
        );
    }

    #[test]
    fn a_frame_without_fields_names_the_whole_layout_to_write() {
        assert_eq!(
            layout_error("payload = \"hex\""),
            "a hex or binary payload needs a layout: \
             fields = [{ name, offset, type, endian, scale, offset_value }]"
        );
    }
}
