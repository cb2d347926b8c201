//! CSV cells for reports: RFC 4180 through the `csv` crate, numbers that stay
//! numbers, text that cannot start a spreadsheet formula, timestamps in the
//! plant timezone or as epoch milliseconds.

use super::OptionError;
use super::clock::IsoFormatter;
use crate::model::TimestampMs;
use chrono_tz::Tz;
use std::borrow::Cow;
use std::io::Write;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How timestamps are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeStyle {
    /// ISO 8601 with the UTC offset of this zone.
    Local(Tz),
    /// Milliseconds since the Unix epoch.
    EpochMs,
}

/// Spreadsheet-facing choices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CsvStyle {
    pub delimiter: u8,
    pub decimal_comma: bool,
    pub bom: bool,
    pub time: TimeStyle,
}

impl Default for CsvStyle {
    fn default() -> Self {
        CsvStyle {
            delimiter: b',',
            decimal_comma: false,
            bom: false,
            time: TimeStyle::Local(chrono_tz::UTC),
        }
    }
}

impl CsvStyle {
    /// Checks the options together: `--decimal-comma` defaults the delimiter
    /// to `;` and cannot be combined with `,`.
    pub fn build(
        delimiter: Option<&str>,
        decimal_comma: bool,
        bom: bool,
        time: TimeStyle,
    ) -> std::result::Result<CsvStyle, OptionError> {
        let delimiter = match delimiter {
            None if decimal_comma => b';',
            None => b',',
            Some(text) => parse_delimiter(text)?,
        };
        if decimal_comma && delimiter == b',' {
            return Err(OptionError::DecimalCommaWithCommaDelimiter);
        }
        Ok(CsvStyle {
            delimiter,
            decimal_comma,
            bom,
            time,
        })
    }

    /// Header of a timestamp column.
    pub fn time_header(&self, name: &str) -> String {
        match self.time {
            TimeStyle::Local(_) => name.to_owned(),
            TimeStyle::EpochMs => format!("{name}_epoch_ms"),
        }
    }
}

fn parse_delimiter(text: &str) -> std::result::Result<u8, OptionError> {
    let byte = match text {
        "tab" | "\\t" | "\t" => b'\t',
        _ if text.len() == 1 && text.is_ascii() => text.as_bytes()[0],
        _ => {
            return Err(OptionError::DelimiterNotOneCharacter { text: text.into() });
        }
    };
    if matches!(byte, b'"' | b'\n' | b'\r' | b'.' | b'\'' | b'-') || byte.is_ascii_alphanumeric() {
        return Err(OptionError::DelimiterReserved { text: text.into() });
    }
    Ok(byte)
}

/// Neutralises a text cell a spreadsheet would run as a formula (OWASP CSV
/// injection guidance): a leading `=`, `+`, `-`, `@`, tab or CR gets a `'`
/// in front. Text that is just a number (`-3.5`) is left as it is.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') if !is_plain_number(cell) => {
            Cow::Owned(format!("'{cell}"))
        }
        _ => Cow::Borrowed(cell),
    }
}

fn is_plain_number(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A CSV writer that knows the report's style. Cells are written left to
/// right, then [`Table::end_row`].
pub struct Table<W: Write> {
    out: csv::Writer<W>,
    style: CsvStyle,
    iso: Option<IsoFormatter>,
    number: ryu::Buffer,
    integer: String,
    comma: String,
}

pub type Result<T> = std::result::Result<T, csv::Error>;

impl<W: Write> Table<W> {
    pub fn new(mut inner: W, style: CsvStyle) -> Result<Self> {
        if style.bom {
            inner.write_all(UTF8_BOM)?;
        }
        let out = csv::WriterBuilder::new()
            .delimiter(style.delimiter)
            .flexible(false)
            .buffer_capacity(256 * 1024)
            .from_writer(inner);
        Ok(Table {
            out,
            style,
            iso: match style.time {
                TimeStyle::Local(tz) => Some(IsoFormatter::new(tz)),
                TimeStyle::EpochMs => None,
            },
            number: ryu::Buffer::new(),
            integer: String::new(),
            comma: String::new(),
        })
    }

    pub fn style(&self) -> &CsvStyle {
        &self.style
    }

    pub fn header<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        for name in names {
            self.text(name.as_ref())?;
        }
        self.end_row()
    }

    pub fn text(&mut self, cell: &str) -> Result<()> {
        self.out.write_field(neutralise(cell).as_bytes())
    }

    pub fn empty(&mut self) -> Result<()> {
        self.out.write_field(b"")
    }

    /// A finite number in its shortest round-trip form; non-finite values
    /// are written as an empty cell.
    pub fn number(&mut self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return self.empty();
        }
        let text = self.number.format_finite(v);
        let text = text.strip_suffix(".0").unwrap_or(text);
        if self.style.decimal_comma {
            self.comma.clear();
            self.comma
                .extend(text.chars().map(|c| if c == '.' { ',' } else { c }));
            self.out.write_field(self.comma.as_bytes())
        } else {
            self.out.write_field(text.as_bytes())
        }
    }

    /// An exact decimal already in text form (`-12.50`), e.g. money.
    pub fn decimal(&mut self, text: &str) -> Result<()> {
        if self.style.decimal_comma {
            self.comma.clear();
            self.comma
                .extend(text.chars().map(|c| if c == '.' { ',' } else { c }));
            self.out.write_field(self.comma.as_bytes())
        } else {
            self.out.write_field(text.as_bytes())
        }
    }

    pub fn optional_number(&mut self, v: Option<f64>) -> Result<()> {
        match v {
            Some(v) => self.number(v),
            None => self.empty(),
        }
    }

    pub fn integer(&mut self, v: i64) -> Result<()> {
        use std::fmt::Write as _;
        self.integer.clear();
        let _ = write!(self.integer, "{v}");
        self.out.write_field(self.integer.as_bytes())
    }

    pub fn time(&mut self, ts: TimestampMs) -> Result<()> {
        match &mut self.iso {
            Some(iso) => self.out.write_field(iso.format(ts).as_bytes()),
            None => self.integer(ts),
        }
    }

    pub fn end_row(&mut self) -> Result<()> {
        self.out.write_record(None::<&[u8]>)
    }

    /// Flushes and gives back the destination.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(style: CsvStyle, f: impl FnOnce(&mut Table<Vec<u8>>) -> Result<()>) -> String {
        let mut t = Table::new(Vec::new(), style).unwrap();
        f(&mut t).unwrap();
        String::from_utf8(t.finish().unwrap()).unwrap()
    }

    #[test]
    fn delimiters_are_checked() {
        let t = TimeStyle::EpochMs;
        assert_eq!(
            CsvStyle::build(Some(";"), false, false, t)
                .unwrap()
                .delimiter,
            b';'
        );
        assert_eq!(
            CsvStyle::build(Some("tab"), false, false, t)
                .unwrap()
                .delimiter,
            b'\t'
        );
        assert_eq!(
            CsvStyle::build(None, true, false, t).unwrap().delimiter,
            b';'
        );
        assert_eq!(
            CsvStyle::build(Some("ab"), false, false, t),
            Err(OptionError::DelimiterNotOneCharacter { text: "ab".into() })
        );
        assert_eq!(
            CsvStyle::build(Some("\""), false, false, t),
            Err(OptionError::DelimiterReserved { text: "\"".into() })
        );
        assert_eq!(
            CsvStyle::build(Some(","), true, false, t),
            Err(OptionError::DecimalCommaWithCommaDelimiter)
        );
    }

    #[test]
    fn formula_starters_are_neutralised_and_numbers_are_not() {
        let cases = [
            ("=1+1", "'=1+1"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-3.5", "-3.5"),
            ("+7", "+7"),
            ("-1e-3", "-1e-3"),
            ("-inf", "'-inf"),
            ("line1.temp", "line1.temp"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (cell, expected) in cases {
            assert_eq!(neutralise(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn quotes_where_rfc4180_needs_it_and_escapes_formulas() {
        let out = render(CsvStyle::default(), |t| {
            t.text("a,b")?;
            t.text("say \"hi\"")?;
            t.text("=HYPERLINK(\"x\")")?;
            t.number(-2.5)?;
            t.end_row()
        });
        assert_eq!(
            out,
            "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-2.5\n"
        );
    }

    #[test]
    fn numbers_round_trip_and_follow_the_decimal_style() {
        let values = [0.1 + 0.2, -273.15, 1e-7, 12345678.0, 3.0];
        let out = render(CsvStyle::default(), |t| {
            for v in values {
                t.number(v)?;
            }
            t.number(f64::NAN)?;
            t.end_row()
        });
        let cells: Vec<&str> = out.trim_end().split(',').collect();
        for (cell, v) in cells.iter().zip(values) {
            assert_eq!(cell.parse::<f64>().unwrap(), v, "{cell}");
        }
        assert_eq!(cells[4], "3");
        assert_eq!(cells[5], "");

        let style = CsvStyle {
            delimiter: b';',
            decimal_comma: true,
            bom: true,
            ..CsvStyle::default()
        };
        let out = render(style, |t| {
            t.number(-1.5)?;
            t.text("x;y")?;
            t.end_row()
        });
        assert_eq!(out, "\u{feff}-1,5;\"x;y\"\n");
    }

    #[test]
    fn timestamps_in_plant_time_or_epoch() {
        let paris = CsvStyle {
            time: TimeStyle::Local(chrono_tz::Europe::Paris),
            ..CsvStyle::default()
        };
        let out = render(paris, |t| {
            t.time(1_774_746_000_000)?;
            t.end_row()
        });
        assert_eq!(out, "2026-03-29T03:00:00+02:00\n");
        let epoch = CsvStyle {
            time: TimeStyle::EpochMs,
            ..CsvStyle::default()
        };
        let out = render(epoch, |t| {
            t.time(-5)?;
            t.end_row()
        });
        assert_eq!(out, "-5\n");
    }
}
