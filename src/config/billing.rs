//! `[tariff.NAME]`, `[[customer]]` and per-sensor `meter = {...}` bindings.
//!
//! Prices, quantities and percentages are [`Exact`] decimals: a TOML number is
//! read through its shortest decimal spelling (`0.89` is exactly 0.89), and a
//! quoted string (`"0.89"`) is accepted too.

use super::Dur;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;
use toml::Spanned;

/// An exact decimal read from config (never a float after parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Exact(pub Decimal);

impl Exact {
    pub fn get(self) -> Decimal {
        self.0
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Exact;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number like 0.89 or \"0.89\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Exact, E> {
                Ok(Exact(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Exact, E> {
                Ok(Exact(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Exact, E> {
                if !v.is_finite() {
                    return Err(E::custom(format!("{v} is not a usable number")));
                }
                // `Display` of an f64 is its shortest round-trip spelling, which is
                // the literal as written for any price with up to 15 digits.
                parse_decimal(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Exact, E> {
                parse_decimal(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A price or quantity that is not a decimal number.
#[derive(Debug, thiserror::Error)]
#[error("invalid decimal {text:?}: {source}")]
struct InvalidDecimal {
    text: String,
    #[source]
    source: rust_decimal::Error,
}

fn parse_decimal(text: &str) -> Result<Exact, InvalidDecimal> {
    Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map(|d| Exact(d.normalize()))
        .map_err(|source| InvalidDecimal {
            text: text.to_owned(),
            source,
        })
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MeterKind {
    /// A register that only grows (kWh since installation); consumption is a difference.
    #[default]
    Cumulative,
    /// Each reading is the energy of the interval that ends at its timestamp.
    Interval,
}

impl fmt::Display for MeterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MeterKind::Cumulative => "cumulative",
            MeterKind::Interval => "interval",
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterBinding {
    pub customer: Spanned<String>,
    pub tariff: Spanned<String>,
    #[serde(default)]
    pub kind: MeterKind,
    /// Reading × multiplier = kWh (CT/PT ratio, Wh → kWh, ...). Default 1.
    pub multiplier: Option<Spanned<Exact>>,
    /// The largest value the register shows (e.g. `999999.9`); it wraps to 0 after it.
    pub rollover: Option<Spanned<Exact>>,
    /// Silence between two readings longer than this is reported as a gap whose
    /// consumption is estimated. Default 1 hour.
    pub max_gap: Option<Dur>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub currency: Spanned<String>,
    /// Public holidays (`"YYYY-MM-DD"`): time-of-use windows see them as the day `"holiday"`.
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    /// One entry without `hours`/`days` = a flat price; several = time-of-use
    /// windows, first match wins, the last one a catch-all.
    pub energy: Option<Spanned<Vec<EnergyRate>>>,
    /// Blocks: `{ up_to = 100, price = .. }` for the first 100 kWh, the last without `up_to`.
    pub tiers: Option<Spanned<Vec<Tier>>>,
    /// Price per kW of the period's highest 15-minute average demand.
    pub demand: Option<Spanned<Exact>>,
    pub monthly_fee: Option<Spanned<Exact>>,
    /// The period's charges before taxes are raised to at least this.
    pub minimum: Option<Spanned<Exact>>,
    /// Applied in the order listed.
    pub taxes: Option<Spanned<Vec<Tax>>>,
    /// Later versions of the prices, each from a local date on; a change inside a
    /// billing period splits it. Keys left out keep their previous value.
    #[serde(default)]
    pub change: Vec<Spanned<TariffChange>>,
}

/// The parts of a tariff that can change over time (`None` = unchanged).
#[derive(Clone, Debug, Default)]
pub struct TariffPrices {
    pub energy: Option<Spanned<Vec<EnergyRate>>>,
    pub tiers: Option<Spanned<Vec<Tier>>>,
    pub demand: Option<Spanned<Exact>>,
    pub monthly_fee: Option<Spanned<Exact>>,
    pub minimum: Option<Spanned<Exact>>,
    pub taxes: Option<Spanned<Vec<Tax>>>,
}

impl Tariff {
    pub fn base_prices(&self) -> TariffPrices {
        TariffPrices {
            energy: self.energy.clone(),
            tiers: self.tiers.clone(),
            demand: self.demand.clone(),
            monthly_fee: self.monthly_fee.clone(),
            minimum: self.minimum.clone(),
            taxes: self.taxes.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffChange {
    /// Local date (plant timezone) from which these prices apply, `"YYYY-MM-DD"`.
    pub from: Spanned<String>,
    pub energy: Option<Spanned<Vec<EnergyRate>>>,
    pub tiers: Option<Spanned<Vec<Tier>>>,
    pub demand: Option<Spanned<Exact>>,
    pub monthly_fee: Option<Spanned<Exact>>,
    pub minimum: Option<Spanned<Exact>>,
    pub taxes: Option<Spanned<Vec<Tax>>>,
}

impl TariffChange {
    pub fn prices(&self) -> TariffPrices {
        TariffPrices {
            energy: self.energy.clone(),
            tiers: self.tiers.clone(),
            demand: self.demand.clone(),
            monthly_fee: self.monthly_fee.clone(),
            minimum: self.minimum.clone(),
            taxes: self.taxes.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyRate {
    /// Name of the time-of-use band on the invoice (default "energy").
    pub band: Option<String>,
    pub price: Spanned<Exact>,
    /// Local hours `[start, end)`, 0–24; `[22, 6]` runs across midnight.
    pub hours: Option<Spanned<[u32; 2]>>,
    /// `"mon"`..`"sun"`, `"weekdays"`, `"weekend"`, `"holiday"`.
    pub days: Option<Vec<Spanned<String>>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Upper bound of the block in kWh counted from the start of the period.
    pub up_to: Option<Spanned<Exact>>,
    pub price: Spanned<Exact>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tax {
    pub name: String,
    pub percent: Spanned<Exact>,
    /// When true the base includes the taxes listed before this one.
    #[serde(default)]
    pub compound: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: Spanned<String>,
    pub name: String,
    pub address: Option<String>,
    /// Tax / registration number printed on the invoice.
    pub registration: Option<String>,
    /// Sensor ids billed to this customer (besides sensors whose `meter` names it).
    #[serde(default)]
    pub meters: Vec<Spanned<String>>,
    /// Day of the month a billing period starts (1–28). Default 1.
    pub start_day: Option<Spanned<u32>>,
}

/// Day-of-week bit mask for a `days` name: bits 0–6 are Monday–Sunday, bit 7
/// is a holiday. `None` for an unknown name.
pub fn day_mask(name: &str) -> Option<u8> {
    const WEEK: [(&str, &str); 7] = [
        ("mon", "monday"),
        ("tue", "tuesday"),
        ("wed", "wednesday"),
        ("thu", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
        ("sun", "sunday"),
    ];
    let name = name.trim().to_ascii_lowercase();
    if let Some(i) = WEEK.iter().position(|(s, l)| name == *s || name == *l) {
        return Some(1 << i);
    }
    match name.as_str() {
        "weekdays" | "weekday" => Some(0b0001_1111),
        "weekend" | "weekends" => Some(0b0110_0000),
        "holiday" | "holidays" => Some(HOLIDAY_BIT),
        _ => None,
    }
}

pub const HOLIDAY_BIT: u8 = 1 << 7;

/// A `"YYYY-MM-DD"` local date.
pub fn parse_local_date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct P {
        p: Exact,
    }

    #[test]
    fn prices_are_read_exactly_from_numbers_and_strings() {
        let parse = |s: &str| toml::from_str::<P>(s).unwrap().p.get().to_string();
        assert_eq!(parse("p = 0.89"), "0.89");
        assert_eq!(parse("p = 0.1"), "0.1");
        assert_eq!(parse("p = 25.00"), "25");
        assert_eq!(parse("p = 7"), "7");
        assert_eq!(
            parse("p = \"0.123456789012345678\""),
            "0.123456789012345678"
        );
        assert_eq!(parse("p = 1e-3"), "0.001");
        assert!(toml::from_str::<P>("p = \"abc\"").is_err());
        assert!(toml::from_str::<P>("p = nan").is_err());
    }
}
