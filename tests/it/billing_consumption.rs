//! Consumption from raw history: interpolation at the boundaries, rollover,
//! reset/replacement, gaps, DST, interval meters, multiplier, bad readings.

use crate::billing_support;

use billing_support::*;
use floorwatch::billing::consumption::{PointMethod, QualityNote};
use floorwatch::billing::{Billing, BillingError, ConsumptionError, PeriodChoice};
use floorwatch::model::{Quality, Reading};
use rust_decimal_macros::dec;

const FLAT: &str = "currency = \"BRL\"\nenergy = [ { price = 1.00 } ]";

fn plant(meter_extra: &str, readings: Vec<Reading>) -> Plant {
    Plant::on_both_backends(&one_meter_config("UTC", meter_extra, FLAT), readings)
}

#[test]
fn boundaries_are_interpolated_between_the_readings_around_them() {
    // Readings every 2 h at odd hours: Oct 1 00:00 lies between 23:00 and 01:00.
    let readings = steady(
        "m1",
        "2026-09-30T01:00:00Z",
        "2026-11-02T01:00:00Z",
        2 * HOUR,
        1.0,
    );
    let inv = plant("", readings).invoice("c1", "2026-10");
    let m = &inv.meters[0];
    let opening = m.readout.opening.clone().unwrap();
    assert_eq!(opening.method, PointMethod::Interpolated);
    assert_eq!(opening.ts, ts("2026-10-01T00:00:00Z"));
    assert_eq!(opening.value, 1023.0);
    let closing = m.readout.closing.clone().unwrap();
    assert_eq!(closing.value, 1023.0 + 744.0);
    assert_eq!(m.consumption_kwh, dec!(744));
    assert!(m.method.contains("interpolated"), "{}", m.method);
}

#[test]
fn a_register_that_rolls_over_is_counted_through_its_maximum() {
    // rollover = 9999.9 → the register shows 0.0 after 9999.9; 2 kWh/h from 9000.
    let readings = series("m1", ts("2026-09-30T00:00:00Z"), HOUR, 34 * 24, |i| {
        (9000.0 + 2.0 * i as f64) % 10000.0
    });
    let inv = plant(", rollover = 9999.9", readings).invoice("c1", "2026-10");
    let m = &inv.meters[0];
    assert_eq!(m.consumption_kwh, dec!(1488));
    let rollovers: Vec<_> = m
        .readout
        .notes
        .iter()
        .filter(|n| matches!(n, QualityNote::Rollover { .. }))
        .collect();
    assert_eq!(rollovers.len(), 1, "{:?}", m.readout.notes);
    assert!(
        m.notes.iter().any(|n| n.contains("rolled over")),
        "{:?}",
        m.notes
    );
}

#[test]
fn a_reset_splits_the_register_and_is_flagged() {
    // 1 kWh/h; the meter is replaced on Oct 10: 11:00 shows 1227 (old), 12:00 shows 0 (new).
    let reset_at = ts("2026-10-10T12:00:00Z");
    let mut readings = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        1.0,
    );
    for r in &mut readings {
        if r.ts >= reset_at {
            r.value = (r.ts - reset_at) as f64 / HOUR as f64;
        }
    }
    let inv = plant("", readings).invoice("c1", "2026-10");
    let m = &inv.meters[0];
    // The hour 11:00–12:00 across the replacement is not measured.
    assert_eq!(m.consumption_kwh, dec!(743));
    assert_eq!(m.readout.segments.len(), 2);
    assert_eq!(
        m.readout.segments[0].end.value,
        1000.0 + 24.0 + 9.0 * 24.0 + 11.0
    );
    assert_eq!(m.readout.segments[1].start.value, 0.0);
    assert_eq!(m.readout.segments[0].kwh + m.readout.segments[1].kwh, 743.0);
    assert!(
        m.readout
            .notes
            .iter()
            .any(|n| matches!(n, QualityNote::Reset { at, .. } if *at == reset_at))
    );
    assert!(m.notes.iter().any(|n| n.contains("reset or replaced")));
}

#[test]
fn a_gap_longer_than_the_threshold_is_reported_as_estimated() {
    let (gap_from, gap_to) = (ts("2026-10-05T02:00:00Z"), ts("2026-10-05T08:00:00Z"));
    let readings: Vec<Reading> = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        15 * MINUTE,
        1.0,
    )
    .into_iter()
    .filter(|r| r.ts <= gap_from || r.ts >= gap_to)
    .collect();
    let inv = plant(", max_gap = \"2h\"", readings).invoice("c1", "2026-10");
    let m = &inv.meters[0];
    assert_eq!(m.consumption_kwh, dec!(744));
    assert_eq!(
        m.readout.notes,
        vec![QualityNote::Gap {
            from: gap_from,
            to: gap_to,
            kwh: 6.0
        }]
    );
    assert_eq!(m.readout.estimated_kwh, 6.0);
    assert!(m.notes[0].contains("6.000 kWh estimated"), "{:?}", m.notes);
}

#[test]
fn a_dst_change_inside_the_month_gives_it_745_or_743_hours() {
    // Europe/Berlin: summer time ends 2026-10-25 (an hour repeats) and starts 2026-03-29.
    let tariff = r#"currency = "EUR"
energy = [ { band = "night", price = 0.50, hours = [22, 6] }, { band = "day", price = 1.00 } ]"#;
    let readings = steady(
        "m1",
        "2026-02-27T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        1.0,
    );
    let plant = Plant::on_both_backends(&one_meter_config("Europe/Berlin", "", tariff), readings);
    let october = plant.invoice("c1", "2026-10");
    let bands: Vec<(String, String)> = october.meters[0]
        .bands
        .iter()
        .map(|b| (b.band.clone(), b.kwh.to_string()))
        .collect();
    // The repeated 02:00–03:00 is a night hour: 31 × 8 + 1.
    assert_eq!(
        bands,
        vec![
            ("night".into(), "249.000".into()),
            ("day".into(), "496.000".into())
        ]
    );
    assert_eq!(october.total, dec!(620.50));
    let march = plant.invoice("c1", "2026-03");
    assert_eq!(march.meters[0].consumption_kwh, dec!(743));
    assert_eq!(march.meters[0].bands[0].kwh, dec!(247));
}

#[test]
fn interval_meters_sum_the_intervals_ending_in_the_period() {
    // 0.25 kWh per quarter hour: readings at 00:15 .. 00:00 of Nov 1 belong to October.
    let readings = series(
        "m1",
        ts("2026-09-30T00:00:00Z"),
        15 * MINUTE,
        34 * 96,
        |_| 0.25,
    );
    let tariff = "currency = \"BRL\"\nenergy = [ { price = 1.00 } ]\ndemand = 10";
    let plant = Plant::on_both_backends(
        &one_meter_config("UTC", ", kind = \"interval\"", tariff),
        readings,
    );
    let inv = plant.invoice("c1", "2026-10");
    let m = &inv.meters[0];
    assert_eq!(m.readout.readings, 2976);
    assert_eq!(m.consumption_kwh, dec!(744));
    assert_eq!(m.peak_demand.clone().unwrap().kw, dec!(1));
    assert!(m.readout.opening.is_none());
    assert_eq!(inv.total, dec!(754.00));
}

#[test]
fn the_multiplier_scales_the_register() {
    let readings = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        0.5,
    );
    let inv = plant(", multiplier = 40", readings).invoice("c1", "2026-10");
    assert_eq!(inv.meters[0].consumption_kwh, dec!(14880));
    assert_eq!(
        inv.meters[0].readout.closing.clone().unwrap().value,
        1000.0 + 0.5 * 768.0
    );
}

#[test]
fn bad_quality_readings_are_ignored_and_counted() {
    let mut readings = steady(
        "m1",
        "2026-09-30T00:00:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        1.0,
    );
    for r in readings.iter_mut().skip(100).step_by(97) {
        r.value = 1e9;
        r.quality = Quality::Bad;
    }
    let inv = plant("", readings).invoice("c1", "2026-10");
    assert_eq!(inv.meters[0].consumption_kwh, dec!(744));
    assert!(
        inv.meters[0]
            .notes
            .iter()
            .any(|n| n.contains("bad or stale quality ignored")),
        "{:?}",
        inv.meters[0].notes
    );
}

#[test]
fn a_meter_installed_mid_period_opens_at_its_first_reading() {
    let readings = steady(
        "m1",
        "2026-10-10T06:30:00Z",
        "2026-11-02T00:00:00Z",
        HOUR,
        1.0,
    );
    let inv = plant("", readings).invoice("c1", "2026-10");
    let opening = inv.meters[0].readout.opening.clone().unwrap();
    assert_eq!(opening.method, PointMethod::NearestInside);
    assert_eq!(opening.ts, ts("2026-10-10T06:30:00Z"));
    // 21 days 17.5 hours to Nov 1 00:00
    assert_eq!(inv.meters[0].consumption_kwh, dec!(521.5));
}

#[test]
fn a_period_without_readings_is_an_error_naming_meter_and_period() {
    let readings = steady(
        "m1",
        "2026-09-01T00:00:00Z",
        "2026-09-30T00:00:00Z",
        HOUR,
        1.0,
    );
    let plant = plant("", readings);
    let billing = Billing::new(&plant.config);
    let customer = billing.customer("c1").unwrap();
    let err = billing
        .invoice(
            &plant.reader(),
            customer,
            None,
            &PeriodChoice::parse_month("2026-10").unwrap(),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        BillingError::Consumption(ConsumptionError::NoReadings { .. })
    ));
    assert!(err.is_bad_input());
    assert_eq!(err.to_string(), "meter \"m1\" has no readings in 2026-10");
}

#[test]
fn the_alert_compares_with_the_mean_of_the_three_previous_months() {
    // July, August, September at 1 kWh/h, October at 2 kWh/h: 1488 vs mean 736 → excessive.
    let mut readings = steady(
        "m1",
        "2026-06-30T00:00:00Z",
        "2026-10-01T00:00:00Z",
        HOUR,
        1.0,
    );
    let base = readings.last().unwrap().value;
    let start = ts("2026-10-01T00:00:00Z");
    readings.extend(series("m1", start + HOUR, HOUR, 24 * 33, |i| {
        base + 2.0 * (i + 1) as f64
    }));
    let inv = plant("", readings).invoice("c1", "2026-10");
    let alert = &inv.meters[0].alert;
    assert_eq!(inv.meters[0].consumption_kwh, dec!(1488));
    let previous: Vec<_> = alert.previous.iter().map(|(_, k)| k.unwrap()).collect();
    assert_eq!(previous, vec![dec!(720), dec!(744), dec!(744)]);
    assert_eq!(alert.mean_kwh, Some(dec!(736)));
    assert!(alert.excessive);
    assert_eq!(alert.ratio, Some(dec!(2.02)));
}
