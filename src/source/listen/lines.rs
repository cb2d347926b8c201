//! Newline-delimited messages from a TCP stream, read in whatever chunks the
//! socket gives: at most `max` bytes a line (a `\r` before the `\n` is not
//! part of it). A longer line is reported once as [`Line::TooLong`] and
//! skipped up to the next newline, where reading resynchronises; it is never
//! held in memory whole. Blank lines are not messages.

use bytes::Bytes;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Text(Bytes),
    /// A line longer than the limit: dropped.
    TooLong,
}

#[derive(Debug)]
pub struct LineSplitter {
    max: usize,
    /// The line so far: at most `max + 1` bytes (room for a `\r`).
    partial: Vec<u8>,
    /// Inside a line already reported too long.
    skipping: bool,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            max,
            partial: Vec::new(),
            skipping: false,
        }
    }

    /// The lines `chunk` completes, in order, added to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Line>) {
        while let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            self.extend(&chunk[..end], out);
            out.extend(self.end_line());
            chunk = &chunk[end + 1..];
        }
        self.extend(chunk, out);
    }

    /// The last line of a stream that did not end with a newline.
    pub fn finish(&mut self) -> Option<Line> {
        self.end_line()
    }

    fn extend(&mut self, part: &[u8], out: &mut Vec<Line>) {
        if self.skipping || part.is_empty() {
            return;
        }
        if self.partial.len() + part.len() > self.max.saturating_add(1) {
            self.partial = Vec::new();
            self.skipping = true;
            out.push(Line::TooLong);
            return;
        }
        self.partial.extend_from_slice(part);
    }

    fn end_line(&mut self) -> Option<Line> {
        if std::mem::take(&mut self.skipping) {
            return None;
        }
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        match line.len() {
            0 => None,
            n if n > self.max => Some(Line::TooLong),
            _ => Some(Line::Text(Bytes::from(line))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<Line> {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        out.extend(splitter.finish());
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn lines_across_chunks_crlf_and_blank_lines() {
        assert_eq!(
            split(16, &[b"12.5\r\n\n1", b"3.0\n", b"\r\n", b"14"]),
            [text("12.5"), text("13.0"), text("14")]
        );
    }

    #[test]
    fn a_long_line_is_reported_once_and_the_next_line_is_read() {
        let long = [b'x'; 50];
        assert_eq!(
            split(8, &[&long[..20], &long[20..], b"\nshort\n"]),
            [Line::TooLong, text("short")]
        );
        // Exactly the limit is fine, with or without a \r; one more is not.
        assert_eq!(
            split(4, &[b"abcd\r\nabcd\nabcde\n"]),
            [text("abcd"), text("abcd"), Line::TooLong]
        );
        assert_eq!(split(4, &[b"abcde"]), [Line::TooLong]);
    }

    /// What a splitter must give: every line of the input, split at `\n`,
    /// without a trailing `\r`, blank ones left out, long ones too long.
    fn reference(max: usize, input: &[u8]) -> Vec<Line> {
        input
            .split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .map(|line| match line.len() > max {
                true => Line::TooLong,
                false => Line::Text(Bytes::copy_from_slice(line)),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes in any chunks give the reference's lines, and the
        /// splitter never holds more than a line's worth.
        #[test]
        fn any_chunking_gives_the_same_lines(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            max in 1usize..24,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut splitter = LineSplitter::new(max);
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([input.len()]) {
                splitter.push(&input[at..cut], &mut out);
                prop_assert!(splitter.partial.len() <= max + 1);
                at = cut;
            }
            out.extend(splitter.finish());
            prop_assert_eq!(out, reference(max, &input));
        }
    }
}
