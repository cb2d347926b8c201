//! The invoice of one customer for one period: its meters, what each used,
//! what it costs, what the data was like, and the consumption alert.

use super::consumption::{
    ConsumptionError, MeterSpec, QualityNote, Readout, TotalOnly, read_consumption,
};
use super::period::{Period, local_text, local_text_full};
use super::tariff::{
    Charges, EnergyPricing, PriceBook, minor_units, quantity_from_f64, rounding_rule,
};
use super::usage::UsageAccumulator;
use crate::config::MeterKind;
use crate::store::HistoryReader;
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Invoice {
    pub customer: CustomerInfo,
    pub period: PeriodInfo,
    pub currency: String,
    pub meters: Vec<MeterBill>,
    pub subtotal: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
    pub rounding_rule: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CustomerInfo {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub registration: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PeriodInfo {
    pub label: String,
    pub timezone: String,
    /// Local start, `2026-10-01 00:00`.
    pub from: String,
    /// Local end (exclusive).
    pub to: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeterBill {
    pub meter: String,
    pub name: String,
    pub tariff: String,
    pub kind: MeterKind,
    pub multiplier: f64,
    /// How consumption was computed, in words.
    pub method: String,
    pub readout: Readout,
    /// kWh billed: the sum of `bands`.
    pub consumption_kwh: Decimal,
    pub bands: Vec<BandUsage>,
    pub peak_demand: Option<Demand>,
    pub charges: Charges,
    /// Data-quality notes in words.
    pub notes: Vec<String>,
    pub alert: ConsumptionAlert,
}

#[derive(Clone, Debug, Serialize)]
pub struct BandUsage {
    pub band: String,
    pub kwh: Decimal,
}

#[derive(Clone, Debug, Serialize)]
pub struct Demand {
    pub kw: Decimal,
    pub window_start_ms: i64,
    pub window_start: String,
}

/// This period against the mean of the three before it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsumptionAlert {
    /// (period label, kWh) of the three previous periods, newest first; `None`
    /// where that period has no readings.
    pub previous: Vec<(String, Option<Decimal>)>,
    pub mean_kwh: Option<Decimal>,
    /// This period's kWh divided by the mean (2 decimals).
    pub ratio: Option<Decimal>,
    /// More than 1.5 × the mean of the previous three.
    pub excessive: bool,
    pub text: String,
}

pub const ALERT_FACTOR: &str = "1.5";

/// A meter, its binding resolved.
pub struct BillableMeter<'a> {
    pub spec: MeterSpec,
    pub name: String,
    pub book: &'a PriceBook,
}

pub fn bill_meter(
    reader: &HistoryReader,
    meter: &BillableMeter<'_>,
    period: &Period,
) -> Result<MeterBill, ConsumptionError> {
    let mut usage = UsageAccumulator::new(meter.book);
    let readout = read_consumption(reader, &meter.spec, period, &mut usage)?;
    let (priced, peak) = usage.finish(period);
    let charges = meter.book.price(&priced);
    let bands = band_usage(meter.book, &priced.energy);
    let consumption_kwh = bands.iter().map(|b| b.kwh).sum();
    let tz = period.tz;
    let alert = consumption_alert(reader, &meter.spec, period, consumption_kwh)?;
    Ok(MeterBill {
        meter: meter.spec.sensor.clone(),
        name: meter.name.clone(),
        tariff: meter.book.name.clone(),
        kind: meter.spec.kind,
        multiplier: meter.spec.multiplier,
        method: method_text(&meter.spec),
        notes: readout.notes.iter().map(|n| note_text(n, tz)).collect(),
        readout,
        consumption_kwh,
        bands,
        peak_demand: peak
            .filter(|_| meter.book.versions.iter().any(|v| v.demand.is_some()))
            .map(|p| Demand {
                kw: quantity_from_f64(p.kw),
                window_start_ms: p.window_start,
                window_start: local_text(tz, p.window_start),
            }),
        charges,
        alert,
    })
}

fn band_usage(book: &PriceBook, energy: &[Vec<Decimal>]) -> Vec<BandUsage> {
    let mut out: Vec<BandUsage> = Vec::new();
    for (version, kwh) in book.versions.iter().zip(energy) {
        let names: Vec<String> = match &version.energy {
            EnergyPricing::Bands { bands, .. } => bands.iter().map(|b| b.name.clone()).collect(),
            EnergyPricing::Tiers(_) => vec!["energy".into()],
        };
        for (name, q) in names.into_iter().zip(kwh) {
            match out.iter_mut().find(|b| b.band == name) {
                Some(b) => b.kwh += *q,
                None => out.push(BandUsage {
                    band: name,
                    kwh: *q,
                }),
            }
        }
    }
    if out.iter().any(|b| !b.kwh.is_zero()) {
        out.retain(|b| !b.kwh.is_zero());
    } else {
        out.truncate(1);
    }
    out
}

fn method_text(spec: &MeterSpec) -> String {
    let multiplier = if spec.multiplier == 1.0 {
        String::new()
    } else {
        format!(", × multiplier {}", spec.multiplier)
    };
    match spec.kind {
        MeterKind::Cumulative => format!(
            "cumulative register: reading at each period boundary, interpolated linearly between the readings around it{multiplier}"
        ),
        MeterKind::Interval => format!(
            "interval meter: sum of the readings whose interval ends inside the period{multiplier}"
        ),
    }
}

pub fn note_text(note: &QualityNote, tz: chrono_tz::Tz) -> String {
    let t = |ts| local_text_full(tz, ts);
    match note {
        QualityNote::Rollover { at, before, after } => format!(
            "register rolled over at {}: {before} → {after} (counted through the maximum)",
            t(*at)
        ),
        QualityNote::Reset { at, before, after } => format!(
            "meter reset or replaced at {}: register went from {before} to {after}; billed as two segments, the energy between those two readings is not counted",
            t(*at)
        ),
        QualityNote::Gap { from, to, kwh } if *kwh != 0.0 => format!(
            "gap in readings from {} to {}: {:.3} kWh estimated by linear interpolation",
            t(*from),
            t(*to),
            kwh
        ),
        QualityNote::Gap { from, to, .. } => format!(
            "gap in readings from {} to {}: intervals missing, not billed",
            t(*from),
            t(*to)
        ),
        QualityNote::BadReadings { count } => {
            format!("{count} reading(s) of bad or stale quality ignored")
        }
        QualityNote::NegativeInterval { at, value } => {
            format!("negative interval reading {value} at {}", t(*at))
        }
    }
}

fn consumption_alert(
    reader: &HistoryReader,
    spec: &MeterSpec,
    period: &Period,
    current: Decimal,
) -> Result<ConsumptionAlert, ConsumptionError> {
    let mut previous = Vec::new();
    let mut p = period.previous();
    for _ in 0..3 {
        let mut total = TotalOnly::default();
        let kwh = match read_consumption(reader, spec, &p, &mut total) {
            Ok(_) => Some(quantity_from_f64(total.0)),
            Err(ConsumptionError::NoReadings { .. }) => None,
            Err(e) => return Err(e),
        };
        previous.push((p.label.clone(), kwh));
        p = p.previous();
    }
    Ok(alert_from(current, previous))
}

/// Excessive when current > 1.5 × mean(previous three), i.e. 2 × current > their sum.
pub fn alert_from(current: Decimal, previous: Vec<(String, Option<Decimal>)>) -> ConsumptionAlert {
    let known: Vec<Decimal> = previous.iter().filter_map(|(_, k)| *k).collect();
    if known.len() < 3 {
        return ConsumptionAlert {
            text: format!(
                "consumption alert: not enough history ({} of the 3 previous periods have readings)",
                known.len()
            ),
            previous,
            mean_kwh: None,
            ratio: None,
            excessive: false,
        };
    }
    let sum: Decimal = known.iter().sum();
    let mean = sum / Decimal::from(3);
    let excessive = current * Decimal::TWO > sum;
    let ratio = (!mean.is_zero()).then(|| (current / mean).round_dp(2));
    let text = format!(
        "consumption alert: {current} kWh vs mean {} kWh of the previous 3 periods{} — {}",
        mean.round_dp(3),
        ratio.map(|r| format!(" ({r}×)")).unwrap_or_default(),
        if excessive {
            format!("EXCESSIVE (above {ALERT_FACTOR}× the mean)")
        } else {
            format!("normal (not above {ALERT_FACTOR}× the mean)")
        }
    );
    ConsumptionAlert {
        previous,
        mean_kwh: Some(mean.round_dp(3)),
        ratio,
        excessive,
        text,
    }
}

pub fn assemble(
    customer: CustomerInfo,
    period: &Period,
    currency: String,
    meters: Vec<MeterBill>,
) -> Invoice {
    let rule = rounding_rule(minor_units(&currency));
    let subtotal = meters.iter().map(|m| m.charges.subtotal).sum();
    let tax_total = meters
        .iter()
        .flat_map(|m| &m.charges.taxes)
        .map(|t| t.amount)
        .sum();
    let total = meters.iter().map(|m| m.charges.total).sum();
    Invoice {
        customer,
        period: PeriodInfo {
            label: period.label.clone(),
            timezone: period.tz.name().to_owned(),
            from: local_text(period.tz, period.from),
            to: local_text(period.tz, period.to),
            from_ms: period.from,
            to_ms: period.to,
        },
        currency,
        meters,
        subtotal,
        tax_total,
        total,
        rounding_rule: rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn prev(values: [Option<Decimal>; 3]) -> Vec<(String, Option<Decimal>)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("p{i}"), v))
            .collect()
    }

    #[test]
    fn alert_flags_only_above_one_and_a_half_times_the_mean() {
        let history = prev([Some(dec!(100)), Some(dec!(110)), Some(dec!(90))]);
        assert!(
            !alert_from(dec!(150), history.clone()).excessive,
            "exactly 1.5× is not above"
        );
        let a = alert_from(dec!(150.001), history.clone());
        assert!(a.excessive);
        assert_eq!(a.mean_kwh, Some(dec!(100)));
        assert_eq!(a.ratio, Some(dec!(1.50)));
        assert!(a.text.contains("EXCESSIVE"), "{}", a.text);
        let missing = alert_from(dec!(1000), prev([Some(dec!(1)), None, Some(dec!(1))]));
        assert!(!missing.excessive);
        assert!(missing.text.contains("2 of the 3"), "{}", missing.text);
    }
}
