//! A tariff resolved from config into dated versions, the clock that says which
//! version and time-of-use band an instant falls in, and the pricing of a
//! period's usage into charge lines.
//!
//! Rounding rule (stated on every invoice, see [`rounding_rule`]): quantities of
//! energy are rounded to 0.001 kWh and demand to 0.001 kW before pricing; each
//! charge line and each tax line is rounded to the currency's minor unit (0.01
//! for BRL or EUR, 1 for JPY, 0.001 for KWD; half away from zero); the subtotal
//! and total are exact sums of the rounded lines.

use crate::config::{self, HOLIDAY_BIT, day_mask, parse_local_date};
use crate::model::TimestampMs;
use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::HashSet;

/// The rounding rule printed on an invoice in a currency with `dp` minor-unit decimals.
pub fn rounding_rule(dp: u32) -> String {
    let unit = if dp == 0 {
        "1".to_owned()
    } else {
        format!("0.{}1", "0".repeat(dp as usize - 1))
    };
    format!(
        "energy rounded to 0.001 kWh and demand to 0.001 kW before pricing; \
         each charge and tax line rounded to {unit}, half away from zero; totals are exact sums of the rounded lines"
    )
}

/// Decimal places of a currency's minor unit (ISO 4217): 2 for BRL or EUR,
/// 0 for JPY, 3 for KWD; 2 for a code ISO 4217 does not list.
pub fn minor_units(currency: &str) -> u32 {
    iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// To the currency's minor unit (`dp` decimals), half away from zero, always
/// shown with `dp` decimals.
pub fn round_money(amount: Decimal, dp: u32) -> Decimal {
    let mut minor = amount.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    minor.rescale(dp);
    minor
}

/// A unit price as configured, shown with at least two decimals.
pub fn price_text(price: Decimal) -> Decimal {
    let mut p = price;
    if p.scale() < 2 {
        p.rescale(2);
    }
    p
}

/// To 0.001 (kWh or kW), half away from zero, always shown with three decimals.
pub fn round_quantity(q: Decimal) -> Decimal {
    let mut q = q.round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero);
    q.rescale(3);
    q
}

/// A kWh or kW figure computed in f64 from readings, as an exact quantity.
pub fn quantity_from_f64(q: f64) -> Decimal {
    Decimal::from_f64_retain(q)
        .map(round_quantity)
        .unwrap_or_default()
}

#[derive(Clone, Debug)]
pub struct PriceBook {
    pub name: String,
    pub currency: String,
    /// Decimals of the currency's minor unit, which money is rounded to.
    pub money_dp: u32,
    pub versions: Vec<Version>,
    holidays: HashSet<NaiveDate>,
    tz: Tz,
}

#[derive(Clone, Debug)]
pub struct Version {
    /// First local day these prices apply (`None` for the tariff's base prices).
    pub from_date: Option<NaiveDate>,
    /// UTC ms of `from_date`'s local midnight (`i64::MIN` for the base).
    pub from: TimestampMs,
    pub energy: EnergyPricing,
    pub demand: Option<Decimal>,
    pub monthly_fee: Option<Decimal>,
    pub minimum: Option<Decimal>,
    pub taxes: Vec<TaxRule>,
}

#[derive(Clone, Debug)]
pub enum EnergyPricing {
    /// Flat (one band) or time-of-use bands; `table[day][hour]` is the band index,
    /// day 0–6 Monday–Sunday, 7 a holiday.
    Bands {
        bands: Vec<Band>,
        table: Box<[[u8; 24]; 8]>,
    },
    Tiers(Vec<TierRule>),
}

#[derive(Clone, Debug)]
pub struct Band {
    pub name: String,
    pub price: Decimal,
}

#[derive(Clone, Debug)]
pub struct TierRule {
    pub up_to: Option<Decimal>,
    pub price: Decimal,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaxRule {
    pub name: String,
    pub percent: Decimal,
    pub compound: bool,
}

impl EnergyPricing {
    pub fn band_count(&self) -> usize {
        match self {
            EnergyPricing::Bands { bands, .. } => bands.len(),
            EnergyPricing::Tiers(_) => 1,
        }
    }
}

impl PriceBook {
    /// Resolves a validated tariff. Unparseable parts (already reported by
    /// `floorwatch check`) are skipped rather than guessed.
    pub fn from_config(name: &str, tariff: &config::Tariff, tz: Tz) -> PriceBook {
        let holidays = tariff
            .holidays
            .iter()
            .filter_map(|d| parse_local_date(d.get_ref()))
            .collect();
        let mut versions = Vec::new();
        let mut current = tariff.base_prices();
        versions.push(version(None, i64::MIN, &current));
        for change in &tariff.change {
            let change = change.get_ref();
            let Some(date) = parse_local_date(change.from.get_ref()) else {
                continue;
            };
            current = merge(&current, &change.prices());
            let from = super::period::local_midnight(tz, date);
            versions.push(version(Some(date), from, &current));
        }
        PriceBook {
            name: name.to_owned(),
            currency: tariff.currency.get_ref().clone(),
            money_dp: minor_units(tariff.currency.get_ref()),
            versions,
            holidays,
            tz,
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn version_at(&self, ts: TimestampMs) -> usize {
        self.versions
            .partition_point(|v| v.from <= ts)
            .saturating_sub(1)
    }

    /// The version and band at `ts`, and the instant both stay valid until
    /// (the next local hour or the next version, whichever is first).
    pub fn locate(&self, ts: TimestampMs) -> (usize, usize, TimestampMs) {
        let v = self.version_at(ts);
        let offset_ms = self
            .tz
            .offset_from_utc_datetime(
                &chrono::DateTime::from_timestamp_millis(ts)
                    .unwrap_or_default()
                    .naive_utc(),
            )
            .fix()
            .local_minus_utc() as i64
            * 1000;
        let local = ts + offset_ms;
        let mut until = ts - local.rem_euclid(HOUR) + HOUR;
        if let Some(next) = self.versions.get(v + 1) {
            until = until.min(next.from);
        }
        let band = match &self.versions[v].energy {
            EnergyPricing::Tiers(_) => 0,
            EnergyPricing::Bands { table, .. } => {
                let date = chrono::DateTime::from_timestamp_millis(local.div_euclid(DAY) * DAY)
                    .unwrap_or_default()
                    .date_naive();
                let day = if self.holidays.contains(&date) {
                    7
                } else {
                    date.weekday().num_days_from_monday() as usize
                };
                let hour = (local.rem_euclid(DAY) / HOUR) as usize;
                table[day][hour] as usize
            }
        };
        (v, band, until)
    }
}

fn merge(base: &config::TariffPrices, change: &config::TariffPrices) -> config::TariffPrices {
    let (energy, tiers) = match (&change.energy, &change.tiers) {
        (None, None) => (base.energy.clone(), base.tiers.clone()),
        (e, t) => (e.clone(), t.clone()),
    };
    config::TariffPrices {
        energy,
        tiers,
        demand: change.demand.clone().or_else(|| base.demand.clone()),
        monthly_fee: change
            .monthly_fee
            .clone()
            .or_else(|| base.monthly_fee.clone()),
        minimum: change.minimum.clone().or_else(|| base.minimum.clone()),
        taxes: change.taxes.clone().or_else(|| base.taxes.clone()),
    }
}

fn version(from_date: Option<NaiveDate>, from: TimestampMs, p: &config::TariffPrices) -> Version {
    let energy = match (&p.tiers, &p.energy) {
        (Some(tiers), _) => EnergyPricing::Tiers(
            tiers
                .get_ref()
                .iter()
                .map(|t| TierRule {
                    up_to: t.up_to.as_ref().map(|u| u.get_ref().get()),
                    price: t.price.get_ref().get(),
                })
                .collect(),
        ),
        (None, Some(energy)) => bands(energy.get_ref()),
        (None, None) => bands(&[]),
    };
    let exact = |v: &Option<toml::Spanned<config::Exact>>| v.as_ref().map(|v| v.get_ref().get());
    Version {
        from_date,
        from,
        energy,
        demand: exact(&p.demand),
        monthly_fee: exact(&p.monthly_fee),
        minimum: exact(&p.minimum),
        taxes: p
            .taxes
            .as_ref()
            .map(|t| {
                t.get_ref()
                    .iter()
                    .map(|t| TaxRule {
                        name: t.name.clone(),
                        percent: t.percent.get_ref().get(),
                        compound: t.compound,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn bands(rates: &[config::EnergyRate]) -> EnergyPricing {
    let mut bands: Vec<Band> = rates
        .iter()
        .enumerate()
        .map(|(i, r)| Band {
            name: r.band.clone().unwrap_or_else(|| {
                if rates.len() == 1 {
                    "energy".to_owned()
                } else {
                    format!("band {}", i + 1)
                }
            }),
            price: r.price.get_ref().get(),
        })
        .collect();
    if bands.is_empty() {
        bands.push(Band {
            name: "energy".into(),
            price: Decimal::ZERO,
        });
    }
    let last = (bands.len() - 1) as u8;
    let mut table = Box::new([[last; 24]; 8]);
    for (day, row) in table.iter_mut().enumerate() {
        for (hour, cell) in row.iter_mut().enumerate() {
            if let Some(i) = rates.iter().position(|r| matches(r, day, hour as u32)) {
                *cell = i as u8;
            }
        }
    }
    EnergyPricing::Bands { bands, table }
}

/// First-match rule of a time-of-use window; a window across midnight is
/// judged by the weekday of each hour it covers.
fn matches(rate: &config::EnergyRate, day: usize, hour: u32) -> bool {
    let day_bit = if day == 7 { HOLIDAY_BIT } else { 1 << day };
    let days_ok = match &rate.days {
        None => true,
        Some(days) => days
            .iter()
            .filter_map(|d| day_mask(d.get_ref()))
            .any(|m| m & day_bit != 0),
    };
    let hours_ok = match &rate.hours {
        None => true,
        Some(h) => {
            let [start, end] = *h.get_ref();
            if start < end {
                (start..end).contains(&hour)
            } else {
                hour >= start || hour < end
            }
        }
    };
    days_ok && hours_ok
}

/// What a period used, as exact quantities, ready to price.
#[derive(Clone, Debug, Default)]
pub struct PricedUsage {
    /// kWh per version per band (rounded to 0.001).
    pub energy: Vec<Vec<Decimal>>,
    /// Milliseconds of the period under each version.
    pub version_ms: Vec<i64>,
    pub demand_kw: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    Energy,
    Demand,
    Fee,
    Minimum,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChargeLine {
    pub kind: LineKind,
    pub description: String,
    pub quantity: Decimal,
    pub unit: String,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaxLine {
    pub name: String,
    pub percent: Decimal,
    pub compound: bool,
    pub base: Decimal,
    pub amount: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Charges {
    pub lines: Vec<ChargeLine>,
    pub subtotal: Decimal,
    pub taxes: Vec<TaxLine>,
    pub total: Decimal,
}

impl PriceBook {
    /// Prices a period's usage. Energy under each version at its prices; demand
    /// and the monthly fee shared between versions by time; the minimum and the
    /// taxes of the version in force at the end of the period.
    pub fn price(&self, usage: &PricedUsage) -> Charges {
        let active: Vec<usize> = (0..self.versions.len())
            .filter(|&v| usage.version_ms.get(v).copied().unwrap_or(0) > 0)
            .collect();
        let total_ms: i64 = usage.version_ms.iter().sum();
        let split = active.len() > 1;
        let mut lines = Vec::new();
        self.energy_lines(usage, &active, split, &mut lines);
        for &v in &active {
            let share = Decimal::from(usage.version_ms[v]) / Decimal::from(total_ms.max(1));
            let suffix = self.version_suffix(v, split);
            let version = &self.versions[v];
            if let (Some(price), Some(kw)) = (version.demand, usage.demand_kw) {
                lines.push(ChargeLine {
                    kind: LineKind::Demand,
                    description: format!(
                        "Demand (max 15-min average){}",
                        share_text(share, split, &suffix)
                    ),
                    quantity: kw,
                    unit: "kW".into(),
                    unit_price: price_text(price),
                    amount: round_money(kw * price * share, self.money_dp),
                });
            }
            if let Some(fee) = version.monthly_fee {
                lines.push(ChargeLine {
                    kind: LineKind::Fee,
                    description: format!("Monthly fee{}", share_text(share, split, &suffix)),
                    quantity: Decimal::ONE,
                    unit: "period".into(),
                    unit_price: price_text(fee),
                    amount: round_money(fee * share, self.money_dp),
                });
            }
        }
        let last = active.last().map(|&v| &self.versions[v]);
        let mut subtotal: Decimal = lines.iter().map(|l| l.amount).sum();
        if let Some(minimum) = last.and_then(|v| v.minimum)
            && subtotal < minimum
        {
            let top_up = round_money(minimum - subtotal, self.money_dp);
            lines.push(ChargeLine {
                kind: LineKind::Minimum,
                description: format!("Minimum charge {minimum} (top-up)"),
                quantity: Decimal::ONE,
                unit: "period".into(),
                unit_price: top_up,
                amount: top_up,
            });
            subtotal += top_up;
        }
        let taxes = apply_taxes(
            last.map(|v| v.taxes.as_slice()).unwrap_or(&[]),
            subtotal,
            self.money_dp,
        );
        let total = subtotal + taxes.iter().map(|t| t.amount).sum::<Decimal>();
        Charges {
            lines,
            subtotal,
            taxes,
            total,
        }
    }

    fn version_suffix(&self, v: usize, split: bool) -> String {
        if !split {
            return String::new();
        }
        match (self.versions[v].from_date, self.versions.get(v + 1)) {
            (Some(from), _) => format!(", prices from {from}"),
            (None, Some(next)) => match next.from_date.and_then(|d| d.pred_opt()) {
                Some(until) => format!(", prices until {until}"),
                None => String::new(),
            },
            (None, None) => String::new(),
        }
    }

    fn energy_lines(
        &self,
        usage: &PricedUsage,
        active: &[usize],
        split: bool,
        lines: &mut Vec<ChargeLine>,
    ) {
        let mut tier_position = Decimal::ZERO;
        for &v in active {
            let suffix = self.version_suffix(v, split);
            let kwh = usage.energy.get(v).cloned().unwrap_or_default();
            match &self.versions[v].energy {
                EnergyPricing::Bands { bands, .. } => {
                    for (band, q) in bands.iter().zip(&kwh) {
                        if q.is_zero() && bands.len() > 1 {
                            continue;
                        }
                        let name = if band.name == "energy" {
                            "Energy".to_owned()
                        } else {
                            format!("Energy {}", band.name)
                        };
                        lines.push(energy_line(
                            format!("{name}{suffix}"),
                            *q,
                            band.price,
                            self.money_dp,
                        ));
                    }
                }
                EnergyPricing::Tiers(tiers) => {
                    let used: Decimal = kwh.iter().sum();
                    for (label, q, price) in fill_tiers(tiers, &mut tier_position, used) {
                        lines.push(energy_line(
                            format!("Energy {label}{suffix}"),
                            q,
                            price,
                            self.money_dp,
                        ));
                    }
                }
            }
        }
    }
}

fn share_text(share: Decimal, split: bool, suffix: &str) -> String {
    if split {
        format!(
            " × {}% of period{suffix}",
            (share * Decimal::ONE_HUNDRED).round_dp(2)
        )
    } else {
        String::new()
    }
}

fn energy_line(description: String, kwh: Decimal, price: Decimal, money_dp: u32) -> ChargeLine {
    ChargeLine {
        kind: LineKind::Energy,
        description,
        quantity: kwh,
        unit: "kWh".into(),
        unit_price: price_text(price),
        amount: round_money(kwh * price, money_dp),
    }
}

/// Puts `used` kWh into the blocks from `position` on (blocks count from the
/// start of the period, across tariff versions); returns (label, kWh, price).
fn fill_tiers(
    tiers: &[TierRule],
    position: &mut Decimal,
    used: Decimal,
) -> Vec<(String, Decimal, Decimal)> {
    let mut out = Vec::new();
    let mut remaining = used;
    let mut lower = Decimal::ZERO;
    for (i, tier) in tiers.iter().enumerate() {
        let upper = tier.up_to;
        let label = match upper {
            Some(u) => format!("tier {} ({lower}–{u} kWh)", i + 1),
            None => format!("tier {} (above {lower} kWh)", i + 1),
        };
        let room = match upper {
            Some(u) => (u - *position).max(Decimal::ZERO),
            None => remaining,
        };
        let take = room.min(remaining);
        if take > Decimal::ZERO || (i == 0 && used.is_zero()) {
            out.push((label, take, tier.price));
            *position += take;
            remaining -= take;
        }
        lower = upper.unwrap_or(lower);
        if remaining.is_zero() && !used.is_zero() {
            break;
        }
    }
    out
}

fn apply_taxes(rules: &[TaxRule], subtotal: Decimal, money_dp: u32) -> Vec<TaxLine> {
    let mut taxes: Vec<TaxLine> = Vec::new();
    for rule in rules {
        let base = if rule.compound {
            subtotal + taxes.iter().map(|t| t.amount).sum::<Decimal>()
        } else {
            subtotal
        };
        taxes.push(TaxLine {
            name: rule.name.clone(),
            percent: rule.percent,
            compound: rule.compound,
            base,
            amount: round_money(base * rule.percent / Decimal::ONE_HUNDRED, money_dp),
        });
    }
    taxes
}

#[cfg(test)]
mod money_tests;
