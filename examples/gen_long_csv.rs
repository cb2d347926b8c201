//! Writes a long-layout CSV of N rows (50 sensors, one row per sensor per
//! second, RFC 3339 UTC) for the import benchmark:
//!
//! ```sh
//! cargo run --release --example gen_long_csv -- 5000000 /tmp/long.csv
//! ```

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000_000);
    let path = args.next().unwrap_or_else(|| "long.csv".into());
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    writeln!(out, "timestamp,sensor,value")?;
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("valid time");
    const SENSORS: u64 = 50;
    let mut ts = String::new();
    for i in 0..rows {
        if i % SENSORS == 0 {
            let t = start + chrono::Duration::seconds((i / SENSORS) as i64);
            ts = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        }
        let value = ((i * 7919) % 100_000) as f64 / 1000.0;
        writeln!(out, "{ts},sensor-{:03},{value}", i % SENSORS)?;
    }
    out.flush()
}
