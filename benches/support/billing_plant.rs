//! The billing benches' plant: 1,000 meters, a month (October 2026) of
//! 15-minute readings each, one time-of-use tariff; shared by `billing` and
//! `postgres_e2e`.

use floorwatch::model::{Reading, SensorId};
use floorwatch::store::writer::WriterConfig;
use floorwatch::store::{Location, WriteMsg, Writer};

pub const METERS: usize = 1000;
pub const STEP_MS: i64 = 15 * 60_000;
/// 2026-10-01 00:00 in America/Sao_Paulo (UTC−3).
pub const FROM_MS: i64 = 1_790_823_600_000;
/// 31 days of quarter hours, both boundaries included.
pub const READINGS_PER_METER: i64 = 31 * 96 + 1;

pub const TARIFF: &str = r#"[tariff.tou]
currency = "BRL"
energy = [
  { band = "peak", price = 1.37, hours = [18, 21], days = ["weekdays"] },
  { band = "night", price = 0.48, hours = [22, 6] },
  { band = "standard", price = 0.79 },
]
demand = 31.50
monthly_fee = 25.00
taxes = [ { name = "ICMS", percent = 18 }, { name = "PIS", percent = 1.65, compound = true } ]
"#;

pub fn meter_id(m: usize) -> String {
    format!("tenant{m:04}.kwh")
}

pub fn config_text(customers: usize) -> String {
    let mut text = String::from("[plant]\ntimezone = \"America/Sao_Paulo\"\n\n");
    text += TARIFF;
    for m in 0..customers {
        text += &format!(
            "\n[[sensor]]\nid = \"{}\"\nmeter = {{ customer = \"c{m:04}\", tariff = \"tou\" }}\n\n[[customer]]\nid = \"c{m:04}\"\nname = \"Tenant {m}\"\n",
            meter_id(m)
        );
    }
    text
}

pub fn generate(db: Location) {
    eprintln!("generating {db} ({METERS} meters × {READINGS_PER_METER} readings)...");
    let (writer, handle) = Writer::spawn(db, WriterConfig::default()).unwrap();
    for m in 0..METERS {
        let id = SensorId::new(meter_id(m));
        let mut value = (m * 1234 % 100_000) as f64;
        let batch: Vec<Reading> = (0..READINGS_PER_METER)
            .map(|i| {
                // 0–3 kWh per quarter hour, a deterministic pattern per meter.
                value += ((i as usize * 7919 + m * 104_729) % 3000) as f64 / 1000.0;
                Reading::good(id.clone(), FROM_MS + i * STEP_MS, value)
            })
            .collect();
        handle.blocking_send(WriteMsg::Readings(batch)).unwrap();
    }
    handle.blocking_flush().unwrap();
    drop(handle);
    writer.join().unwrap();
}
