//! Showing input text in messages without echoing its control bytes to the
//! terminal, and telling whether a field can name a sensor.

use std::fmt::Write;

/// `bytes` in double quotes as Rust writes a string literal: control
/// characters escaped (`\0`, `\u{1b}`), bytes that are not UTF-8 as `\xFF`.
pub fn quoted(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return format!("{text:?}");
    }
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        let valid = format!("{:?}", chunk.valid());
        out.push_str(&valid[1..valid.len() - 1]);
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02X}");
        }
    }
    out.push('"');
    out
}

/// Why `bytes` cannot be a sensor id (not UTF-8, or a control character
/// such as NUL in it), naming the first offending character; `None` when it can.
pub fn not_an_id(bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            let chars = String::from_utf8_lossy(&bytes[..at]).chars().count();
            return Some(format!(
                "byte 0x{:02X} at character {} is not UTF-8 text",
                bytes[at],
                chars + 1
            ));
        }
    };
    let (index, c) = text.chars().enumerate().find(|(_, c)| c.is_control())?;
    Some(format!(
        "control character U+{:04X} at character {}",
        u32::from(c),
        index + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_control_characters_and_bytes_that_are_not_utf8() {
        assert_eq!(quoted(b"temp-001"), "\"temp-001\"");
        assert_eq!(quoted(b"a\0b\x1b[2J"), "\"a\\0b\\u{1b}[2J\"");
        assert_eq!(quoted(b"\xFF\xFEx\xC2\xB0"), "\"\\xFF\\xFEx\u{b0}\"");
        assert!(
            !quoted(b"\x07\x1b\x00\x9b\xFF")
                .bytes()
                .any(|b| b.is_ascii_control())
        );
    }

    #[test]
    fn ids_must_be_utf8_without_control_characters() {
        assert_eq!(not_an_id("line1.temp °C".as_bytes()), None);
        assert_eq!(
            not_an_id(b"ab\0c").as_deref(),
            Some("control character U+0000 at character 3")
        );
        assert_eq!(
            not_an_id("é\u{85}".as_bytes()).as_deref(),
            Some("control character U+0085 at character 2")
        );
        assert_eq!(
            not_an_id(b"\xC3\xA9x\xFF").as_deref(),
            Some("byte 0xFF at character 3 is not UTF-8 text")
        );
    }
}
