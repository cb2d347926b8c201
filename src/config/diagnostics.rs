//! Config problems with their position in the file.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Byte range in the config text; `None` when the problem has no single place.
    pub span: Option<Range<usize>>,
    pub message: String,
    /// Another place the message refers to, e.g. the first definition of a duplicate.
    pub related: Option<(Range<usize>, &'static str)>,
}

impl Diagnostic {
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            span: Some(span),
            message: message.into(),
            related: None,
        }
    }

    /// Adds "(LABEL LINE:COL)" pointing at another place in the file.
    pub fn with_related(mut self, span: Range<usize>, label: &'static str) -> Self {
        self.related = Some((span, label));
        self
    }
}

/// Every problem found in one config file. Bad input: exit code 2.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub path: PathBuf,
    pub text: String,
    pub diags: Vec<Diagnostic>,
}

impl ConfigErrors {
    pub fn single(path: &Path, text: String, span: Option<Range<usize>>, message: String) -> Self {
        ConfigErrors {
            path: path.to_owned(),
            text,
            diags: vec![Diagnostic {
                span,
                message,
                related: None,
            }],
        }
    }

    /// One `file:line:col: message` line per problem.
    pub fn lines(&self) -> Vec<String> {
        self.diags
            .iter()
            .map(|d| {
                let file = self.path.display();
                let mut message = d.message.clone();
                if let Some((span, label)) = &d.related {
                    let (line, col) = line_col(&self.text, span.start);
                    message.push_str(&format!(" ({label} {line}:{col})"));
                }
                match &d.span {
                    Some(span) => {
                        let (line, col) = line_col(&self.text, span.start);
                        format!("{file}:{line}:{col}: {message}")
                    }
                    None => format!("{file}: {message}"),
                }
            })
            .collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// The bytes of a config file as text. A file that is not UTF-8 is reported
/// at the line and column of its first invalid byte.
pub fn utf8_text(path: &Path, bytes: Vec<u8>) -> Result<String, ConfigErrors> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let message = format!(
            "not UTF-8 text: byte 0x{:02X} cannot start a character here \
             (a config is a UTF-8 TOML file; is this a binary file?)",
            bytes[valid]
        );
        // The valid prefix converts losslessly and ends where the bad byte starts.
        let text = String::from_utf8_lossy(&bytes[..valid]).into_owned();
        ConfigErrors::single(path, text, Some(valid..valid), message)
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_file_is_reported_at_its_first_invalid_byte() {
        let bytes = b"[plant]\nname = \"\xC2\xB0C \xFF\"\n".to_vec();
        let err = utf8_text(Path::new("bin.toml"), bytes).unwrap_err();
        assert_eq!(
            err.lines(),
            [
                "bin.toml:2:12: not UTF-8 text: byte 0xFF cannot start a character here \
              (a config is a UTF-8 TOML file; is this a binary file?)"
            ]
        );
        let ok = utf8_text(Path::new("ok.toml"), "a = \"°\"".into()).unwrap();
        assert_eq!(ok, "a = \"°\"");
    }

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let text = "a = 1\nb = \"°C\" x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_col(text, x), (2, 10));
    }
}
