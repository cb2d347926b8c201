//! Guessing only what can be told for certain from the first rows: the
//! delimiter and whether numbers use a decimal comma.

/// The first bytes of the file (after any BOM), used for sniffing.
pub const SAMPLE_BYTES: u64 = 64 * 1024;

const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

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
    fn falls_back_to_comma() {
        assert_eq!(delimiter(b""), b',');
        assert_eq!(delimiter(b"justonecolumn\n1\n"), b',');
    }
}
