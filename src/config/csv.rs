//! How CSV files are written, as `[[import]]` profiles and the import flags
//! spell it: delimiter, decimal mark, date format, layout. Syntax only; the
//! reading is `csvio`'s (which re-exports these).

/// A CSV setting written in a way no parser here understands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvSyntaxError {
    #[error("unknown decimal mark {0:?}: expected \"point\" or \"comma\"")]
    DecimalMark(String),
    #[error(
        "unknown date format {0:?}: expected auto, dmy, mdy, epoch-s, epoch-ms or a pattern like \"%d.%m.%Y %H:%M\""
    )]
    DateFormat(String),
    #[error("unknown layout {0:?}: expected \"long\" or \"wide\"")]
    Layout(String),
    #[error("delimiter {0:?} should be one character, e.g. \",\", \";\" or \"tab\"")]
    Delimiter(String),
}

/// Which character separates the integer and fractional part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DecimalMark {
    #[default]
    Point,
    Comma,
}

impl std::str::FromStr for DecimalMark {
    type Err = CsvSyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "." | "point" => Ok(DecimalMark::Point),
            "," | "comma" => Ok(DecimalMark::Comma),
            _ => Err(CsvSyntaxError::DecimalMark(s.to_owned())),
        }
    }
}

/// How day and month are ordered in `dd/dd/yyyy` dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    DayFirst,
    MonthFirst,
}

/// The `--date-format` choice.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// ISO/RFC 3339 and epoch recognised by shape; slash dates need their order
    /// proven by a day > 12 in the file's first rows.
    #[default]
    Auto,
    Order(DateOrder),
    EpochSeconds,
    EpochMillis,
    /// A chrono `strftime` pattern, e.g. `%d.%m.%Y %H:%M`.
    Pattern(String),
}

impl std::str::FromStr for DateFormat {
    type Err = CsvSyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => DateFormat::Auto,
            "dmy" | "dd/mm/yyyy" => DateFormat::Order(DateOrder::DayFirst),
            "mdy" | "mm/dd/yyyy" => DateFormat::Order(DateOrder::MonthFirst),
            "epoch" | "epoch-s" | "s" => DateFormat::EpochSeconds,
            "epoch-ms" | "ms" => DateFormat::EpochMillis,
            _ if s.contains('%') => DateFormat::Pattern(s.to_owned()),
            _ => return Err(CsvSyntaxError::DateFormat(s.to_owned())),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Long,
    Wide,
}

impl std::str::FromStr for Layout {
    type Err = CsvSyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "long" => Ok(Layout::Long),
            "wide" => Ok(Layout::Wide),
            _ => Err(CsvSyntaxError::Layout(s.to_owned())),
        }
    }
}

/// Parses a `--delimiter` value: one character, or `tab`.
pub fn parse_delimiter(s: &str) -> Result<u8, CsvSyntaxError> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(CsvSyntaxError::Delimiter(s.to_owned())),
    }
}
