//! Numbers as exports write them: decimal point or decimal comma, and the
//! many spellings of "no value" (`""`, `?`, `NaN`, `null`, `NA`, `N/A`).

pub use crate::config::csv::DecimalMark;

/// One field read as a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Missing,
    NotANumber,
}

const MISSING: &[&[u8]] = &[
    b"", b"?", b"nan", b"null", b"na", b"n/a", b"none", b"-", b"--",
];

pub fn is_missing(field: &[u8]) -> bool {
    field.len() <= 4 && MISSING.iter().any(|m| m.eq_ignore_ascii_case(field))
}

/// Reads a field as a finite number; whitespace around it is ignored.
pub fn parse_value(field: &[u8], mark: DecimalMark) -> Value {
    let field = field.trim_ascii();
    if is_missing(field) {
        return Value::Missing;
    }
    let number = match mark {
        DecimalMark::Point => parse_f64(field),
        DecimalMark::Comma => {
            let mut buf = [0u8; 64];
            if field.len() > buf.len() || field.contains(&b'.') {
                return Value::NotANumber;
            }
            let buf = &mut buf[..field.len()];
            for (out, &b) in buf.iter_mut().zip(field) {
                *out = if b == b',' { b'.' } else { b };
            }
            parse_f64(buf)
        }
    };
    match number {
        Some(v) => Value::Number(v),
        None => Value::NotANumber,
    }
}

fn parse_f64(bytes: &[u8]) -> Option<f64> {
    // Rust's parser accepts "inf" and "nan": readings must be finite numbers.
    let first = *bytes.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let value: f64 = std::str::from_utf8(bytes).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Whether a field looks like a number written with a decimal comma (`21,5`).
pub fn looks_decimal_comma(field: &[u8]) -> bool {
    let field = field.trim_ascii();
    let field = field.strip_prefix(b"-").unwrap_or(field);
    let Some(comma) = field.iter().position(|&b| b == b',') else {
        return false;
    };
    comma > 0
        && comma + 1 < field.len()
        && field
            .iter()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || i == comma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_point_or_comma() {
        assert_eq!(
            parse_value(b" 234.840 ", DecimalMark::Point),
            Value::Number(234.84)
        );
        assert_eq!(
            parse_value(b"-1e3", DecimalMark::Point),
            Value::Number(-1000.0)
        );
        assert_eq!(
            parse_value(b"21,5", DecimalMark::Comma),
            Value::Number(21.5)
        );
        assert_eq!(
            parse_value(b"-0,25", DecimalMark::Comma),
            Value::Number(-0.25)
        );
        assert_eq!(parse_value(b"7", DecimalMark::Comma), Value::Number(7.0));
        assert_eq!(parse_value(b"21.5", DecimalMark::Comma), Value::NotANumber);
        assert_eq!(parse_value(b"21,5", DecimalMark::Point), Value::NotANumber);
    }

    #[test]
    fn missing_spellings_are_missing_not_zero() {
        for m in ["", " ", "?", "NaN", "nan", "null", "NULL", "NA", "N/A", "-"] {
            assert_eq!(
                parse_value(m.as_bytes(), DecimalMark::Point),
                Value::Missing,
                "{m:?}"
            );
        }
    }

    #[test]
    fn words_and_infinities_are_not_numbers() {
        for bad in [
            "23O.1", "inf", "infinity", "+inf", "1.2.3", "0x10", "1e999", "abc",
        ] {
            assert_eq!(
                parse_value(bad.as_bytes(), DecimalMark::Point),
                Value::NotANumber,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decimal_comma_shape() {
        assert!(looks_decimal_comma(b"21,5"));
        assert!(looks_decimal_comma(b"-0,25"));
        assert!(!looks_decimal_comma(b"21.5"));
        assert!(!looks_decimal_comma(b"1,2,3"));
        assert!(!looks_decimal_comma(b",5"));
    }
}
