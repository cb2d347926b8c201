//! Building a [`FrameLayout`] from the config keys: every problem names its
//! key (the span) and what would work.

use super::{ChecksumRule, FrameLayout, FrameRules, LayoutField, TypedLayout, type_list};
use crate::config::payload::{LayoutError, LayoutProblem};
use crate::config::{
    ChecksumKind, ChecksumSpec, DecodeKeys, Endian, FieldSpec, FieldType, FrameSpec, LayoutSpec,
    SignBit,
};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;

/// A config problem of a frame layout.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameProblem {
    #[error("use fields (one layout) or layouts (several, chosen by type_at), not both")]
    FieldsAndLayouts,
    #[error(
        "type_at chooses one of several layouts: add layouts = [{{ type = ..., fields = [...] }}]"
    )]
    TypeAtWithoutLayouts,
    #[error("layouts are chosen by a type byte: set type_at = <its offset in the frame>")]
    LayoutsWithoutTypeAt,
    #[error("the layout for type {0} has no fields")]
    LayoutWithoutFields(String),
    #[error("type 0x{0:02X} is in two layouts")]
    TypeTwice(u8),
    #[error("field {0:?}: bit and width are for type = \"bits\" or \"bool\"")]
    BitKeysOnBytes(String),
    #[error("field {0:?}: type = \"{1}\" needs bit = <its lowest bit, 0 = least significant>")]
    NoBit(String, &'static str),
    #[error("field {0:?}: a bool is one bit; width is for type = \"bits\"")]
    WideBool(String),
    #[error("field {name:?}: bit {bit} and width {width} must fit in 32 bits (width 1-32)")]
    BitsOutOfRange { name: String, bit: u32, width: u32 },
    #[error("field {name:?}: sign_bit field {sign:?} is not in the layout (fields: {known})")]
    SignUnknown {
        name: String,
        sign: String,
        known: String,
    },
    #[error("field {0:?}: sign_bit must name another field (the flags), not the field itself")]
    SignOnItself(String),
    #[error("field {name:?}: sign_bit field {sign:?} is {kind}, not an integer")]
    SignNotInteger {
        name: String,
        sign: String,
        kind: String,
    },
    #[error("field {name:?}: sign_bit bit {bit} is outside {sign:?} ({bits} bits, 0-{last})", last = bits - 1)]
    SignBitOutside {
        name: String,
        sign: String,
        bit: u32,
        bits: u32,
    },
    #[error("every field has reading = false: the layout gives no readings")]
    NoReadings,
    #[error("{key} = {text:?} is not hex bytes: write them like \"50F7\"")]
    NotHex { key: &'static str, text: String },
    #[error("give length (exact), or min_length and/or max_length, not both")]
    LengthAndRange,
    #[error("min_length {min} is above max_length {max}")]
    MinAboveMax { min: usize, max: usize },
    #[error("{what} (bytes {need:?}) does not fit a frame of length {length}")]
    Outside {
        what: String,
        need: Range<usize>,
        length: usize,
    },
    #[error(
        "the {kind} checksum (over = [{start}, {end}], at = {at}) does not fit a frame of length {length}"
    )]
    ChecksumOutside {
        kind: &'static str,
        start: i64,
        end: i64,
        at: i64,
        length: usize,
    },
    #[error("checksum over = [{0}, {1}] covers no bytes: write [start, end), e.g. [0, -4]")]
    EmptyChecksumRange(i64, i64),
    #[error("checksum endian is for 2-byte checksums (crc16-modbus), not {0}")]
    EndianOnByteChecksum(&'static str),
}

fn at(span: Range<usize>, problem: FrameProblem) -> LayoutError {
    layout_error(span, LayoutProblem::Frame(problem))
}

fn layout_error(span: Range<usize>, problem: LayoutProblem) -> LayoutError {
    LayoutError {
        span: Some(span),
        problem,
    }
}

/// The decoder of a hex (`hex = true`) or binary payload.
pub(super) fn build(keys: &DecodeKeys<'_>, hex: bool) -> Result<FrameLayout, LayoutError> {
    let rules = match keys.frame {
        Some(frame) => rules(frame.get_ref())?,
        None => FrameRules::default(),
    };
    let (type_at, layouts) = match (keys.fields, keys.layouts, keys.type_at) {
        ([], [], _) => {
            return Err(LayoutError {
                span: keys.payload.map(|p| p.span()),
                problem: LayoutProblem::FrameWithoutFields,
            });
        }
        ([_, ..], [first, ..], _) => return Err(at(first.span(), FrameProblem::FieldsAndLayouts)),
        (_, [], Some(t)) => return Err(at(t.span(), FrameProblem::TypeAtWithoutLayouts)),
        (fields, [], None) => (None, vec![single_layout(fields, &rules)?]),
        ([], [first, ..], None) => {
            return Err(at(first.span(), FrameProblem::LayoutsWithoutTypeAt));
        }
        ([], layouts, Some(t)) => (Some(*t.get_ref()), typed_layouts(layouts, &rules, t)?),
    };
    Ok(FrameLayout {
        hex,
        strict: keys.frame.is_some() || !keys.layouts.is_empty(),
        rules,
        type_at,
        layouts,
    })
}

fn single_layout(
    fields: &[Spanned<FieldSpec>],
    frame: &FrameRules,
) -> Result<TypedLayout, LayoutError> {
    Ok(TypedLayout {
        types: Vec::new(),
        fields: checked_fields(fields, frame.length)?,
        rules: FrameRules::default(),
    })
}

fn typed_layouts(
    specs: &[Spanned<LayoutSpec>],
    frame: &FrameRules,
    type_at: &Spanned<usize>,
) -> Result<Vec<TypedLayout>, LayoutError> {
    let mut seen = HashSet::new();
    let mut layouts = Vec::with_capacity(specs.len());
    for spec in specs {
        let layout = spec.get_ref();
        let types = &layout.types.get_ref().0;
        if let Some(twice) = types.iter().find(|t| !seen.insert(**t)) {
            return Err(at(layout.types.span(), FrameProblem::TypeTwice(*twice)));
        }
        if layout.fields.is_empty() {
            let problem = FrameProblem::LayoutWithoutFields(type_list(types));
            return Err(at(spec.span(), problem));
        }
        let rules = match &layout.frame {
            Some(f) => rules(f.get_ref())?,
            None => FrameRules::default(),
        };
        let length = rules.length.or(frame.length);
        if let Some(length) = length {
            let need = *type_at.get_ref()..type_at.get_ref().saturating_add(1);
            fits(type_at.span(), "the type byte", need, length)?;
            check_places(&frame_with_length(frame, length), spec.span(), None)?;
            check_places(&frame_with_length(&rules, length), spec.span(), None)?;
        }
        layouts.push(TypedLayout {
            types: types.clone(),
            fields: checked_fields(&layout.fields, length)?,
            rules,
        });
    }
    Ok(layouts)
}

/// The frame's rules with the length a layout fixes (to check places against).
fn frame_with_length(frame: &FrameRules, length: usize) -> FrameRules {
    FrameRules {
        length: Some(length),
        ..frame.clone()
    }
}

fn rules(frame: &FrameSpec) -> Result<FrameRules, LayoutError> {
    let value = |s: &Option<Spanned<usize>>| s.as_ref().map(|v| *v.get_ref());
    let rules = FrameRules {
        length: value(&frame.length),
        min_length: value(&frame.min_length),
        max_length: value(&frame.max_length),
        header: hex_key("header", frame.header.as_ref())?,
        footer: hex_key("footer", frame.footer.as_ref())?,
        checksum: frame.checksum.as_ref().map(checksum).transpose()?,
    };
    check_lengths(frame, &rules)?;
    if let Some(length) = &frame.length {
        let checksum_span = frame.checksum.as_ref().map(|c| c.span());
        check_places(&rules, length.span(), checksum_span)?;
    }
    Ok(rules)
}

fn check_lengths(frame: &FrameSpec, rules: &FrameRules) -> Result<(), LayoutError> {
    if let (Some(length), Some(_)) = (&frame.length, rules.min_length.or(rules.max_length)) {
        return Err(at(length.span(), FrameProblem::LengthAndRange));
    }
    if let (Some(min), Some(max)) = (&frame.min_length, rules.max_length)
        && *min.get_ref() > max
    {
        let problem = FrameProblem::MinAboveMax {
            min: *min.get_ref(),
            max,
        };
        return Err(at(min.span(), problem));
    }
    Ok(())
}

/// Header, footer and checksum must fit the exact length, when there is one.
fn check_places(
    rules: &FrameRules,
    span: Range<usize>,
    checksum_span: Option<Range<usize>>,
) -> Result<(), LayoutError> {
    let Some(length) = rules.length else {
        return Ok(());
    };
    let ends = rules.header.len() + rules.footer.len();
    fits(span.clone(), "the header and footer", 0..ends, length)?;
    if let Some(checksum) = &rules.checksum
        && checksum.places(length).is_none()
    {
        let problem = FrameProblem::ChecksumOutside {
            kind: checksum.kind.name(),
            start: checksum.over[0],
            end: checksum.over[1],
            at: checksum.at,
            length,
        };
        return Err(at(checksum_span.unwrap_or(span), problem));
    }
    Ok(())
}

fn fits(
    span: Range<usize>,
    what: &str,
    need: Range<usize>,
    length: usize,
) -> Result<(), LayoutError> {
    if need.end <= length {
        return Ok(());
    }
    let what = what.to_owned();
    Err(at(span, FrameProblem::Outside { what, need, length }))
}

fn hex_key(key: &'static str, text: Option<&Spanned<String>>) -> Result<Vec<u8>, LayoutError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let compact: String = text
        .get_ref()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let digits = compact
        .strip_prefix("0x")
        .or_else(|| compact.strip_prefix("0X"))
        .unwrap_or(&compact);
    match hex::decode(digits) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => {
            let problem = FrameProblem::NotHex {
                key,
                text: text.get_ref().clone(),
            };
            Err(at(text.span(), problem))
        }
    }
}

fn checksum(spec: &Spanned<ChecksumSpec>) -> Result<ChecksumRule, LayoutError> {
    let c = spec.get_ref();
    let at_offset = *c.at.get_ref();
    let over = c.over.as_ref().map_or([0, at_offset], |o| *o.get_ref());
    if (over[0] >= 0) == (over[1] >= 0) && over[0] >= over[1] {
        let span = c.over.as_ref().map_or(c.at.span(), |o| o.span());
        return Err(at(span, FrameProblem::EmptyChecksumRange(over[0], over[1])));
    }
    if c.kind != ChecksumKind::Crc16Modbus && c.endian.is_some() {
        return Err(at(
            spec.span(),
            FrameProblem::EndianOnByteChecksum(c.kind.name()),
        ));
    }
    Ok(ChecksumRule {
        kind: c.kind,
        over,
        at: at_offset,
        little_endian: c.endian.unwrap_or(Endian::Little) == Endian::Little,
    })
}

/// The fields of one layout, checked; `length` is the frame's exact length if fixed.
fn checked_fields(
    fields: &[Spanned<FieldSpec>],
    length: Option<usize>,
) -> Result<Vec<LayoutField>, LayoutError> {
    let mut names = HashSet::new();
    for field in fields {
        let f = field.get_ref();
        if !names.insert(f.name.as_str()) {
            let problem = LayoutProblem::DuplicateField(f.name.clone());
            return Err(layout_error(field.span(), problem));
        }
        check_field(f).map_err(|p| layout_error(field.span(), p))?;
        if let Some(length) = length {
            let what = format!("field {:?}", f.name);
            fits(field.span(), &what, f.offset..f.offset + f.size(), length)?;
        }
    }
    if fields.iter().all(|f| !f.get_ref().reading) {
        return Err(at(fields[0].span(), FrameProblem::NoReadings));
    }
    fields
        .iter()
        .map(|f| with_sign(f.get_ref(), fields).map_err(|p| at(f.span(), p)))
        .collect()
}

fn check_field(f: &FieldSpec) -> Result<(), LayoutProblem> {
    if !(f.scale.is_finite() && f.offset_value.is_finite()) {
        return Err(LayoutProblem::NonFiniteField(f.name.clone()));
    }
    check_bits(f).map_err(LayoutProblem::Frame)
}

fn check_bits(f: &FieldSpec) -> Result<(), FrameProblem> {
    let bit_keys = f.bit.is_some() || f.width.is_some();
    match f.kind {
        FieldType::Bits | FieldType::Bool if f.bit.is_none() => {
            let kind = if f.kind == FieldType::Bool {
                "bool"
            } else {
                "bits"
            };
            Err(FrameProblem::NoBit(f.name.clone(), kind))
        }
        FieldType::Bool if f.width.is_some() => Err(FrameProblem::WideBool(f.name.clone())),
        FieldType::Bits | FieldType::Bool => {
            let (bit, width) = (f.bit_at(), f.bit_width());
            if width == 0 || width > 32 || bit.saturating_add(width) > 32 {
                let name = f.name.clone();
                return Err(FrameProblem::BitsOutOfRange { name, bit, width });
            }
            Ok(())
        }
        _ if bit_keys => Err(FrameProblem::BitKeysOnBytes(f.name.clone())),
        _ => Ok(()),
    }
}

/// The field with its sign source resolved to an index in the layout.
fn with_sign(f: &FieldSpec, fields: &[Spanned<FieldSpec>]) -> Result<LayoutField, FrameProblem> {
    let sign = match &f.sign_bit {
        Some(sign) => Some(sign_source(f, sign.get_ref(), fields)?),
        None => None,
    };
    Ok(LayoutField {
        spec: f.clone(),
        name: Arc::from(f.name.as_str()),
        sign,
    })
}

fn sign_source(
    f: &FieldSpec,
    sign: &SignBit,
    fields: &[Spanned<FieldSpec>],
) -> Result<(usize, u32), FrameProblem> {
    let (name, wanted) = (f.name.clone(), sign.field.get_ref().clone());
    if wanted == f.name {
        return Err(FrameProblem::SignOnItself(name));
    }
    let Some(index) = fields.iter().position(|x| x.get_ref().name == wanted) else {
        let known: Vec<&str> = fields.iter().map(|x| x.get_ref().name.as_str()).collect();
        let known = known.join(", ");
        return Err(FrameProblem::SignUnknown {
            name,
            sign: wanted,
            known,
        });
    };
    let source = fields[index].get_ref();
    if !source.kind.is_integer() {
        let kind = format!("{:?}", source.kind).to_lowercase();
        return Err(FrameProblem::SignNotInteger {
            name,
            sign: wanted,
            kind,
        });
    }
    let (bit, bits) = (*sign.bit.get_ref(), source.bits());
    if bit >= bits {
        return Err(FrameProblem::SignBitOutside {
            name,
            sign: wanted,
            bit,
            bits,
        });
    }
    Ok((index, bit))
}
