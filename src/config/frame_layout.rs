//! A frame layout, checked: the validity rules of a binding's `frame`, its
//! layouts (one, or several chosen by the type byte at `type_at`) and their
//! fields with sign sources resolved. The MQTT source reads frames by it.

mod check;

pub use check::FrameProblem;

use super::payload::LayoutError;
use super::{ChecksumKind, DecodeKeys, FieldSpec};
use std::ops::Range;
use std::sync::Arc;

/// How to check and read the frames of one binding or pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameLayout {
    /// A hex string (else raw bytes).
    pub hex: bool,
    /// Validity was declared (`frame` or `layouts`): a frame is read whole or rejected.
    pub strict: bool,
    /// The binding's `frame` rules, checked on every frame first.
    pub rules: FrameRules,
    /// Offset of the type byte that chooses the layout.
    pub type_at: Option<usize>,
    /// One layout (no `type_at`), or one per set of type values.
    pub layouts: Vec<TypedLayout>,
}

/// One layout of a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedLayout {
    /// Type byte values (empty: the one layout, no type byte).
    pub types: Vec<u8>,
    /// This type's own rules (e.g. its length), after the binding's.
    pub rules: FrameRules,
    pub fields: Vec<LayoutField>,
}

/// A field of a layout.
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutField {
    pub spec: FieldSpec,
    /// The name, shared by every frame value of this field.
    pub name: Arc<str>,
    /// Index of the flags field and the bit of it that makes this value negative.
    pub sign: Option<(usize, u32)>,
}

/// What makes a frame valid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameRules {
    pub length: Option<usize>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub header: Vec<u8>,
    pub footer: Vec<u8>,
    pub checksum: Option<ChecksumRule>,
}

/// A checksum stored in the frame; negative offsets count from the end.
#[derive(Clone, Debug, PartialEq)]
pub struct ChecksumRule {
    pub kind: ChecksumKind,
    /// The bytes covered, `[start, end)`.
    pub over: [i64; 2],
    pub at: i64,
    pub little_endian: bool,
}

impl ChecksumRule {
    /// The covered bytes and the stored checksum's place in a frame of `len`
    /// bytes; `None` when they do not fit it.
    pub fn places(&self, len: usize) -> Option<(Range<usize>, Range<usize>)> {
        let start = resolve(self.over[0], len)?;
        let end = resolve(self.over[1], len)?;
        let at = resolve(self.at, len)?;
        let stored = at..at.checked_add(self.kind.size())?;
        (start <= end && stored.end <= len).then_some((start..end, stored))
    }
}

/// An offset into a frame of `len` bytes: negative counts from the end.
fn resolve(offset: i64, len: usize) -> Option<usize> {
    if offset >= 0 {
        usize::try_from(offset).ok().filter(|o| *o <= len)
    } else {
        len.checked_sub(usize::try_from(offset.unsigned_abs()).ok()?)
    }
}

/// Why `{frame.NAME}` cannot name sensors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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

/// `0x02` or `0x02, 0x03`.
pub fn type_list(types: &[u8]) -> String {
    let shown: Vec<String> = types.iter().map(|t| format!("0x{t:02X}")).collect();
    shown.join(", ")
}

impl FrameLayout {
    /// Checks the frame keys of a binding or pattern (`fields`, `frame`,
    /// `type_at`, `layouts`) and builds the layout they describe.
    pub fn from_keys(keys: &DecodeKeys<'_>, hex: bool) -> Result<FrameLayout, LayoutError> {
        check::build(keys, hex)
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

    /// Every type value with a layout.
    pub fn known_types(&self) -> String {
        let all: Vec<u8> = self.layouts.iter().flat_map(|l| l.types.clone()).collect();
        type_list(&all)
    }

    /// Whether `{frame.NAME}` can be read from every frame this layout accepts.
    pub fn check_id_field(&self, name: &str) -> Result<(), FrameIdError> {
        for layout in &self.layouts {
            let Some(field) = layout.fields.iter().find(|f| f.spec.name == name) else {
                return Err(self.unknown_id_field(layout, name));
            };
            if !field.spec.kind.is_integer() {
                let kind = format!("{:?}", field.spec.kind).to_lowercase();
                let name = name.to_owned();
                return Err(FrameIdError::NotInteger { name, kind });
            }
        }
        Ok(())
    }

    fn unknown_id_field(&self, layout: &TypedLayout, name: &str) -> FrameIdError {
        let name = name.to_owned();
        if self.layouts.len() > 1 {
            let types = type_list(&layout.types);
            return FrameIdError::NotInEveryLayout { name, types };
        }
        let known: Vec<&str> = (layout.fields.iter())
            .filter(|f| f.spec.kind.is_integer())
            .map(|f| f.spec.name.as_str())
            .collect();
        let known = known.join(", ");
        FrameIdError::Unknown { name, known }
    }
}
