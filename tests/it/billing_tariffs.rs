//! Hand-computed invoices, one per tariff kind, asserted to the cent. Every
//! case bills October 2026 (UTC unless stated): 744 hours, Thursday the 1st,
//! 22 weekdays and 9 weekend days.

use crate::billing_support;

use billing_support::*;
use rust_decimal_macros::dec;

/// 0.5 kWh per hour, hourly readings: 372 kWh in October.
fn october_steady() -> Vec<floorwatch::model::Reading> {
    steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        0.5,
    )
}

#[test]
fn flat_price_with_monthly_fee() {
    // 372 kWh × 0.89 = 331.08; + 25.00 fee = 356.08
    let plant = Plant::new(
        &one_meter_config(
            "UTC",
            "",
            "currency = \"BRL\"\nenergy = [ { price = 0.89 } ]\nmonthly_fee = 25.00",
        ),
        october_steady(),
    );
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(inv.meters[0].consumption_kwh, dec!(372));
    assert_eq!(
        lines(&inv),
        vec![
            ("Energy".to_owned(), "331.08".to_owned()),
            ("Monthly fee".to_owned(), "25.00".to_owned()),
        ]
    );
    assert_eq!(inv.total, dec!(356.08));
    assert_eq!(inv.currency, "BRL");
}

#[test]
fn time_of_use_across_midnight_weekends_and_a_holiday() {
    // 1 kWh/h. night 22–06 every day: 8 h × 31 = 248 kWh × 0.50 = 124.00
    // peak 18–21 on weekdays except the holiday (Mon 12th): 3 h × 21 = 63 kWh × 1.20 = 75.60
    // standard: 744 − 248 − 63 = 433 kWh × 0.80 = 346.40 ; total 546.00
    let tariff = r#"currency = "EUR"
holidays = ["2026-10-12"]
energy = [
  { band = "night", price = 0.50, hours = [22, 6] },
  { band = "peak", price = 1.20, hours = [18, 21], days = ["weekdays"] },
  { band = "standard", price = 0.80 },
]"#;
    let plant = Plant::new(
        &one_meter_config("UTC", "", tariff),
        steady(
            "m1",
            "2026-09-30T00:00:00Z",
            "2026-11-02T00:00:00Z",
            15 * MINUTE,
            1.0,
        ),
    );
    let inv = plant.invoice("c1", "2026-10");
    let bands: Vec<(String, String)> = inv.meters[0]
        .bands
        .iter()
        .map(|b| (b.band.clone(), b.kwh.to_string()))
        .collect();
    assert_eq!(
        bands,
        vec![
            ("night".to_owned(), "248.000".to_owned()),
            ("peak".to_owned(), "63.000".to_owned()),
            ("standard".to_owned(), "433.000".to_owned()),
        ]
    );
    assert_eq!(
        lines(&inv),
        vec![
            ("Energy night".to_owned(), "124.00".to_owned()),
            ("Energy peak".to_owned(), "75.60".to_owned()),
            ("Energy standard".to_owned(), "346.40".to_owned()),
        ]
    );
    assert_eq!(inv.total, dec!(546.00));
}

#[test]
fn time_of_use_follows_local_hours_in_the_plant_timezone() {
    // Sao Paulo is UTC−3 all of October 2026 (no DST since 2019): the local
    // night 22–06 is 01:00–09:00 UTC; the totals match the UTC case shifted.
    let tariff = r#"currency = "BRL"
energy = [ { band = "night", price = 0.50, hours = [22, 6] }, { band = "day", price = 1.00 } ]"#;
    let plant = Plant::new(
        &one_meter_config("America/Sao_Paulo", "", tariff),
        steady(
            "m1",
            "2026-09-30T00:00:00Z",
            "2026-11-02T00:00:00Z",
            HOUR,
            1.0,
        ),
    );
    let inv = plant.invoice("c1", "2026-10");
    // 248 night kWh × 0.50 + 496 day kWh × 1.00 = 124.00 + 496.00
    assert_eq!(inv.meters[0].consumption_kwh, dec!(744));
    assert_eq!(inv.total, dec!(620.00));
    assert_eq!(inv.period.from, "2026-10-01 00:00");
    assert_eq!(
        floorwatch::model::format_ts(inv.period.from_ms),
        "2026-10-01T03:00:00.000Z"
    );
}

#[test]
fn tiers_crossing_two_boundaries() {
    // 372 kWh: 100 × 0.50 = 50.00 ; 200 × 0.70 = 140.00 ; 72 × 0.90 = 64.80 ; = 254.80
    let tariff = r#"currency = "BRL"
tiers = [ { up_to = 100, price = 0.50 }, { up_to = 300, price = 0.70 }, { price = 0.90 } ]"#;
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), october_steady());
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(
        lines(&inv),
        vec![
            ("Energy tier 1 (0–100 kWh)".to_owned(), "50.00".to_owned()),
            (
                "Energy tier 2 (100–300 kWh)".to_owned(),
                "140.00".to_owned()
            ),
            (
                "Energy tier 3 (above 300 kWh)".to_owned(),
                "64.80".to_owned()
            ),
        ]
    );
    assert_eq!(inv.total, dec!(254.80));
}

#[test]
fn demand_charge_on_the_highest_15_minute_average() {
    // 0.5 kWh/h base (0.125 kWh per quarter hour) plus 3 kWh in the quarter
    // 2026-10-14 10:00–10:15: peak (0.125 + 3) × 4 = 12.5 kW × 30.00 = 375.00;
    // energy (372 + 3) × 0.89 = 333.75 ; total 708.75
    let mut readings = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        15 * MINUTE,
        0.5,
    );
    let spike_end = ts("2026-10-14T10:15:00Z");
    for r in &mut readings {
        if r.ts >= spike_end {
            r.value += 3.0;
        }
    }
    let tariff = "currency = \"BRL\"\nenergy = [ { price = 0.89 } ]\ndemand = 30.00";
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), readings);
    let inv = plant.invoice("c1", "2026-10");
    let demand = inv.meters[0].peak_demand.clone().unwrap();
    assert_eq!(demand.kw, dec!(12.5));
    assert_eq!(demand.window_start, "2026-10-14 10:00");
    assert_eq!(
        lines(&inv),
        vec![
            ("Energy".to_owned(), "333.75".to_owned()),
            (
                "Demand (max 15-min average)".to_owned(),
                "375.00".to_owned()
            ),
        ]
    );
    assert_eq!(inv.total, dec!(708.75));
}

#[test]
fn taxes_apply_in_the_stated_order_and_compound_on_request() {
    // subtotal 331.08 + 25.00 = 356.08
    // ICMS 18% of 356.08 = 64.0944 → 64.09
    // PIS 1.65% of (356.08 + 64.09 = 420.17) = 6.932805 → 6.93 ; total 427.10
    let tariff = r#"currency = "BRL"
energy = [ { price = 0.89 } ]
monthly_fee = 25.00
taxes = [ { name = "ICMS", percent = 18 }, { name = "PIS", percent = 1.65, compound = true } ]"#;
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), october_steady());
    let inv = plant.invoice("c1", "2026-10");
    let taxes: Vec<(String, String, String)> = inv.meters[0]
        .charges
        .taxes
        .iter()
        .map(|t| (t.name.clone(), t.base.to_string(), t.amount.to_string()))
        .collect();
    assert_eq!(
        taxes,
        vec![
            ("ICMS".into(), "356.08".into(), "64.09".into()),
            ("PIS".into(), "420.17".into(), "6.93".into()),
        ]
    );
    assert_eq!(inv.subtotal, dec!(356.08));
    assert_eq!(inv.tax_total, dec!(71.02));
    assert_eq!(inv.total, dec!(427.10));
}

#[test]
fn a_tariff_change_mid_period_splits_it() {
    // 1–15 Oct: 360 h × 0.5 = 180 kWh × 0.89 = 160.20 ; 16–31 Oct: 192 kWh × 1.00 = 192.00
    // fee 25.00 × 15/31 = 12.0967… → 12.10 ; 31.00 × 16/31 = 16.00 ; total 380.30
    let tariff = r#"currency = "BRL"
energy = [ { price = 0.89 } ]
monthly_fee = 25.00

[[tariff.t.change]]
from = "2026-10-16"
energy = [ { price = 1.00 } ]
monthly_fee = 31.00"#;
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), october_steady());
    let inv = plant.invoice("c1", "2026-10");
    let amounts: Vec<String> = lines(&inv).into_iter().map(|(_, a)| a).collect();
    assert_eq!(amounts, vec!["160.20", "192.00", "12.10", "16.00"]);
    let l = lines(&inv);
    assert!(l[0].0.contains("prices until 2026-10-15"), "{l:?}");
    assert!(l[1].0.contains("prices from 2026-10-16"), "{l:?}");
    assert!(
        l[2].0.starts_with("Monthly fee × 48.39% of period"),
        "{l:?}"
    );
    assert_eq!(inv.total, dec!(380.30));
}

#[test]
fn minimum_charge_tops_up_a_small_bill() {
    // 0.01 kWh/h → 7.44 kWh × 0.89 = 6.6216 → 6.62 ; minimum 50.00 → top-up 43.38
    let tariff = "currency = \"BRL\"\nenergy = [ { price = 0.89 } ]\nminimum = 50";
    let readings = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        0.01,
    );
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), readings);
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(inv.meters[0].consumption_kwh, dec!(7.44));
    let amounts: Vec<String> = lines(&inv).into_iter().map(|(_, a)| a).collect();
    assert_eq!(amounts, vec!["6.62", "43.38"]);
    assert_eq!(inv.total, dec!(50.00));
}

#[test]
fn each_line_rounds_half_away_from_zero() {
    // 372 kWh × 0.89125 = 331.545 exactly → 331.55 (banker's rounding would give 331.54)
    let tariff = "currency = \"BRL\"\nenergy = [ { price = 0.89125 } ]";
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), october_steady());
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(lines(&inv)[0].1, "331.55");
    assert_eq!(inv.total, dec!(331.55));
    assert!(inv.rounding_rule.contains("half away from zero"));
}

#[test]
fn prices_in_the_config_are_exact_decimals() {
    // 0.1 + 0.2 style trap: 372 × 0.1 + fee 0.2 must be exactly 37.40
    let tariff = "currency = \"BRL\"\nenergy = [ { price = 0.1 } ]\nmonthly_fee = 0.2";
    let plant = Plant::new(&one_meter_config("UTC", "", tariff), october_steady());
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(inv.total.to_string(), "37.40");
}

#[test]
fn yen_bills_whole_yen_and_dinar_bills_fils() {
    // 372 kWh × 31.45 = 11,699.4 → 11,699 yen; fee 1,000; 10 % tax on 12,699 = 1,269.9 → 1,270
    let plant = Plant::new(
        &one_meter_config(
            "UTC",
            "",
            "currency = \"JPY\"\nenergy = [ { price = 31.45 } ]\nmonthly_fee = 1000\ntaxes = [ { name = \"consumption tax\", percent = 10 } ]",
        ),
        october_steady(),
    );
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(
        lines(&inv),
        vec![
            ("Energy".to_owned(), "11699".to_owned()),
            ("Monthly fee".to_owned(), "1000".to_owned()),
        ]
    );
    assert_eq!(inv.total.to_string(), "13969");
    assert!(
        inv.rounding_rule.contains("rounded to 1,"),
        "{}",
        inv.rounding_rule
    );

    // 372 kWh × 0.0145 KWD = 5.394 KWD, three decimals (fils).
    let plant = Plant::new(
        &one_meter_config(
            "UTC",
            "",
            "currency = \"KWD\"\nenergy = [ { price = 0.0145 } ]",
        ),
        october_steady(),
    );
    let inv = plant.invoice("c1", "2026-10");
    assert_eq!(lines(&inv), vec![("Energy".to_owned(), "5.394".to_owned())]);
}
