//! Guessing only what can be told for certain from the first rows: whether
//! the file is text at all, the delimiter and whether numbers use a decimal
//! comma.

/// The first bytes of the file (after any BOM), used for sniffing.
pub const SAMPLE_BYTES: u64 = 64 * 1024;

const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// The first bytes (after any gunzip) looked at to tell text from binary.
const TEXT_WINDOW: usize = 4096;

/// Control bytes no text file has (tab, line feed, vertical tab, form feed
/// and carriage return are text).
fn is_binary_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0E..=0x1F | 0x7F)
}

/// Why the sample is not CSV text (binary data, UTF-16), or `None` when it
/// looks like text. A stray NUL or two in a text file is left to the rows
/// it is in (bad rows); binary data has them by the hundred.
pub fn not_text(sample: &[u8]) -> Option<String> {
    if sample.starts_with(b"\xFF\xFE") || sample.starts_with(b"\xFE\xFF") {
        return Some(
            "UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8".into(),
        );
    }
    let window = &sample[..sample.len().min(TEXT_WINDOW)];
    let binary = window.iter().filter(|&&b| is_binary_byte(b)).count();
    // 8 or more, and at least 1 in 20 bytes (random data has 1 in 9).
    if binary < 8 || binary * 20 < window.len() {
        return None;
    }
    let first = window.iter().position(|&b| is_binary_byte(b))?;
    Some(format!(
        "binary data ({binary} of its first {} bytes are control characters, the first 0x{:02X} at byte {first}); expected text with a header row like timestamp,sensor,value",
        window.len(),
        window[first]
    ))
}

/// The delimiter that appears in the header and the same number of times on
/// most sample lines; `,` when nothing fits.
pub fn delimiter(sample: &[u8]) -> u8 {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let lines: Vec<&[u8]> = sample
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(50)
        .collect();
    // The last line may be cut off by the sample size.
    let complete = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let Some(header) = complete.first() else {
        return b',';
    };
    CANDIDATES
        .iter()
        .copied()
        .filter_map(|d| {
            let in_header = count_outside_quotes(header, d);
            if in_header == 0 {
                return None;
            }
            let consistent = complete
                .iter()
                .filter(|l| count_outside_quotes(l, d) == in_header)
                .count();
            Some((consistent, in_header, d))
        })
        .max_by_key(|&(consistent, in_header, d)| (consistent, in_header, d == b','))
        .map(|(_, _, d)| d)
        .unwrap_or(b',')
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    line.iter()
        .filter(|&&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            !quoted && b == delimiter
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comma_semicolon_and_tab() {
        assert_eq!(
            delimiter(b"timestamp,sensor,value\n2025-01-01,a,1.5\n"),
            b','
        );
        assert_eq!(
            delimiter(
                b"Date;Time;Voltage\n16/12/2006;17:24:00;234,84\n16/12/2006;17:25:00;233,63\n"
            ),
            b';'
        );
        assert_eq!(delimiter(b"ts\ta\tb\n1\t2\t3\n"), b'\t');
    }

    #[test]
    fn ignores_delimiters_inside_quotes_and_a_bom() {
        assert_eq!(
            delimiter(b"\xEF\xBB\xBF\"time;zone\",\"a\"\n\"2025-01-01\",\"1;2\"\n"),
            b','
        );
    }

    #[test]
    fn decimal_commas_do_not_win_over_the_semicolon() {
        assert_eq!(
            delimiter(b"timestamp;temp\n2025-01-01 00:00;21,5\n2025-01-01 00:01;21,6\n"),
            b';'
        );
    }

    #[test]
    fn binary_data_and_utf16_are_not_text_a_stray_nul_is() {
        let text = b"timestamp,sensor,value\n2025-10-02T12:00:00Z,a\0b,1\n";
        assert_eq!(not_text(text), None);
        assert_eq!(not_text(b""), None);
        assert_eq!(not_text(b"Date;Time\r\n\x0c16/12/2006;17:24:00\r\n"), None);
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0".to_vec();
        elf.extend(std::iter::repeat_n(b'a', 100));
        assert_eq!(
            not_text(&elf).as_deref(),
            Some(
                "binary data (16 of its first 120 bytes are control characters, the first 0x7F at byte 0); expected text with a header row like timestamp,sensor,value"
            )
        );
        let utf16: Vec<u8> = "\u{feff}timestamp,v\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(not_text(&utf16).unwrap().starts_with("UTF-16 text"));
        // Without a byte-order mark every other byte is NUL: binary.
        assert!(not_text(&utf16[2..]).unwrap().starts_with("binary data"));
    }

    #[test]
    fn falls_back_to_comma() {
        assert_eq!(delimiter(b""), b',');
        assert_eq!(delimiter(b"justonecolumn\n1\n"), b',');
    }
}
