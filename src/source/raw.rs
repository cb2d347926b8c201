//! What a source last received for a sensor, kept so the detail view can show
//! the operator the bytes or registers behind a value ("why does it say 0?").

use crate::model::SensorId;
use std::fmt::Write as _;
use std::sync::Arc;

/// The raw input behind one sensor's latest value.
#[derive(Clone, Debug, PartialEq)]
pub enum RawSample {
    /// An MQTT publish as received (shared by every sensor it fed).
    Mqtt {
        topic: Arc<str>,
        payload: bytes::Bytes,
    },
    /// A UDP datagram or TCP line as received by a `[[listen]]`.
    Line {
        /// The listener and the sender, e.g. `meters from 10.0.0.7:50312`.
        from: Arc<str>,
        payload: bytes::Bytes,
    },
    /// The Modbus registers (or bits, as 0/1) that were decoded.
    Registers {
        device: Arc<str>,
        /// `holding`, `input`, `coil`, `discrete`.
        table: &'static str,
        /// The address as configured.
        address: u16,
        words: Vec<u16>,
    },
}

/// Raw samples of one batch, sent after its readings.
pub type RawBatch = Vec<(SensorId, RawSample)>;

/// Longest payload shown; the rest is cut with a note.
const MAX_PAYLOAD_BYTES: usize = 512;

impl RawSample {
    /// Lines for the detail view: where it came from, then the data as text
    /// (printable UTF-8) or as hex bytes.
    pub fn describe(&self) -> Vec<String> {
        match self {
            RawSample::Mqtt { topic, payload } => {
                let mut lines = vec![format!("topic {topic} ({} bytes)", payload.len())];
                lines.extend(payload_lines(payload));
                lines
            }
            RawSample::Line { from, payload } => {
                let mut lines = vec![format!("{from} ({} bytes)", payload.len())];
                lines.extend(payload_lines(payload));
                lines
            }
            RawSample::Registers {
                device,
                table,
                address,
                words,
            } => {
                let is_bits = matches!(*table, "coil" | "discrete");
                let what = if is_bits { "" } else { " register" };
                let mut line = format!("{device} {table}{what} {address}:");
                for w in words {
                    if is_bits {
                        let _ = write!(line, " {w}");
                    } else {
                        let _ = write!(line, " 0x{w:04X} ({w})");
                    }
                }
                vec![line]
            }
        }
    }
}

/// The start of a payload as quoted text (or `0x…` hex when not UTF-8), for
/// the status pane and logs.
pub fn printable(payload: &[u8]) -> String {
    const MAX: usize = 64;
    let text = match std::str::from_utf8(payload) {
        Ok(s) => s.chars().take(MAX).collect::<String>(),
        Err(_) => format!(
            "0x{}",
            hex::encode_upper(&payload[..payload.len().min(MAX / 2)])
        ),
    };
    let more = if payload.len() > MAX { "…" } else { "" };
    format!("{:?}{more}", text)
}

fn payload_lines(payload: &[u8]) -> Vec<String> {
    let shown = &payload[..payload.len().min(MAX_PAYLOAD_BYTES)];
    let cut = payload.len() > shown.len();
    let mut lines: Vec<String> = match std::str::from_utf8(shown) {
        Ok(text)
            if text
                .chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\t') =>
        {
            text.lines().map(|l| l.replace('\t', "    ")).collect()
        }
        _ => shown
            .chunks(16)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
    };
    if cut {
        lines.push(format!("… {} more bytes", payload.len() - shown.len()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqtt(payload: &[u8]) -> RawSample {
        RawSample::Mqtt {
            topic: "plant/line1/temp".into(),
            payload: bytes::Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn text_payloads_show_as_text_line_by_line() {
        let lines = mqtt(b"{\"t\": 21.5,\n\"u\": \"C\"}").describe();
        assert_eq!(
            lines,
            [
                "topic plant/line1/temp (21 bytes)",
                "{\"t\": 21.5,",
                "\"u\": \"C\"}"
            ]
        );
    }

    #[test]
    fn binary_payloads_show_as_hex_sixteen_bytes_a_line() {
        let payload: Vec<u8> = (0u8..20).collect();
        let lines = mqtt(&payload).describe();
        assert_eq!(lines[0], "topic plant/line1/temp (20 bytes)");
        assert_eq!(lines[1], "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F");
        assert_eq!(lines[2], "10 11 12 13");
    }

    #[test]
    fn long_payloads_are_cut_with_a_count_of_what_is_left() {
        let payload = vec![b'x'; MAX_PAYLOAD_BYTES + 88];
        let lines = mqtt(&payload).describe();
        assert_eq!(lines[1].len(), MAX_PAYLOAD_BYTES);
        assert_eq!(lines.last().map(String::as_str), Some("… 88 more bytes"));
    }

    #[test]
    fn registers_show_hex_and_decimal_and_bits_show_zero_or_one() {
        let regs = RawSample::Registers {
            device: "boiler".into(),
            table: "holding",
            address: 40001,
            words: vec![0x41C8, 0],
        };
        assert_eq!(
            regs.describe(),
            ["boiler holding register 40001: 0x41C8 (16840) 0x0000 (0)"]
        );
        let coil = RawSample::Registers {
            device: "boiler".into(),
            table: "coil",
            address: 7,
            words: vec![1],
        };
        assert_eq!(coil.describe(), ["boiler coil 7: 1"]);
    }
}
