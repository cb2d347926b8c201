//! Checks of `[tariff.*]`, `[[customer]]` and `meter = {...}`.

use super::{require_known, unique_names};
use crate::config::{Config, Diagnostic, EnergyRate, Exact, Tariff, TariffPrices, Tax, Tier};
use crate::config::{day_mask, parse_local_date};
use rust_decimal::Decimal;

use toml::Spanned;

pub fn check(config: &Config, diags: &mut Vec<Diagnostic>) {
    let customers = unique_names(config.customer.iter().map(|c| &c.id), "customer id", diags);
    for sensor in &config.sensor {
        if let Some(meter) = &sensor.meter {
            // Without any [[customer]], customers are implied by the meters (the
            // product sketch); once some are declared, a meter must name one.
            if !customers.is_empty() {
                require_known(
                    &meter.customer,
                    &customers,
                    "customer",
                    "[[customer]]",
                    diags,
                );
            }
            positive(meter.multiplier.as_ref(), "multiplier", diags);
            positive(meter.rollover.as_ref(), "rollover", diags);
        }
    }
    for customer in &config.customer {
        check_customer_meters(config, customer, diags);
        check_currencies(config, customer, diags);
        if let Some(day) = &customer.start_day
            && !(1..=28).contains(day.get_ref())
        {
            diags.push(Diagnostic::at(
                day.span(),
                format!("start_day = {} must be between 1 and 28", day.get_ref()),
            ));
        }
    }
    for tariff in config.tariff.values() {
        check_tariff(tariff, diags);
    }
}

fn check_customer_meters(
    config: &Config,
    customer: &crate::config::Customer,
    diags: &mut Vec<Diagnostic>,
) {
    for meter in &customer.meters {
        let sensor = config
            .sensor
            .iter()
            .find(|s| s.id.get_ref() == meter.get_ref());
        let message = match sensor {
            None => format!("unknown sensor {:?} in meters", meter.get_ref()),
            Some(s) => match &s.meter {
                None => format!(
                    "sensor {:?} has no meter = {{ customer, tariff }} binding",
                    meter.get_ref()
                ),
                Some(b) if b.customer.get_ref() != customer.id.get_ref() => format!(
                    "sensor {:?} is bound to customer {:?}, not {:?}",
                    meter.get_ref(),
                    b.customer.get_ref(),
                    customer.id.get_ref()
                ),
                Some(_) => continue,
            },
        };
        diags.push(Diagnostic::at(meter.span(), message));
    }
}

/// One invoice has one currency: every meter of a customer must be billed in it.
fn check_currencies(
    config: &Config,
    customer: &crate::config::Customer,
    diags: &mut Vec<Diagnostic>,
) {
    let mut first: Option<&str> = None;
    for sensor in &config.sensor {
        let Some(meter) = &sensor.meter else { continue };
        if meter.customer.get_ref() != customer.id.get_ref() {
            continue;
        }
        let Some(tariff) = config.tariff.get(meter.tariff.get_ref()) else {
            continue;
        };
        let currency = tariff.currency.get_ref().as_str();
        match first {
            None => first = Some(currency),
            Some(c) if c != currency => diags.push(Diagnostic::at(
                meter.tariff.span(),
                format!(
                    "customer {:?} is billed in {c}, but tariff {:?} is in {currency}: one invoice has one currency",
                    customer.id.get_ref(),
                    meter.tariff.get_ref()
                ),
            )),
            Some(_) => {}
        }
    }
}

fn check_tariff(tariff: &Tariff, diags: &mut Vec<Diagnostic>) {
    let currency = tariff.currency.get_ref();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        diags.push(Diagnostic::at(
            tariff.currency.span(),
            format!(
                "currency {currency:?} must be a three-letter ISO 4217 code like \"BRL\" or \"EUR\""
            ),
        ));
    }
    for day in &tariff.holidays {
        check_date(day, "holiday", diags);
    }
    let base = tariff.base_prices();
    if let (Some(_), Some(tiers)) = (&base.energy, &base.tiers) {
        diags.push(Diagnostic::at(
            tiers.span(),
            "a tariff has either energy = [...] (flat or time-of-use) or tiers = [...], not both",
        ));
    }
    check_prices(&base, diags);
    let mut previous: Option<chrono::NaiveDate> = None;
    for change in &tariff.change {
        let change = change.get_ref();
        let prices = change.prices();
        if let (Some(_), Some(tiers)) = (&prices.energy, &prices.tiers) {
            diags.push(Diagnostic::at(
                tiers.span(),
                "a change sets either energy or tiers, not both",
            ));
        }
        check_prices(&prices, diags);
        if let Some(date) = check_date(&change.from, "change", diags) {
            if previous.is_some_and(|p| p >= date) {
                diags.push(Diagnostic::at(
                    change.from.span(),
                    "tariff changes must be listed in increasing `from` order",
                ));
            }
            previous = Some(date);
        }
    }
}

fn check_date(
    text: &Spanned<String>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<chrono::NaiveDate> {
    let date = parse_local_date(text.get_ref());
    if date.is_none() {
        diags.push(Diagnostic::at(
            text.span(),
            format!(
                "{what} date {:?} must be a date like \"2026-12-25\"",
                text.get_ref()
            ),
        ));
    }
    date
}

fn check_prices(prices: &TariffPrices, diags: &mut Vec<Diagnostic>) {
    if let Some(energy) = &prices.energy {
        check_energy(energy, diags);
    }
    if let Some(tiers) = &prices.tiers {
        check_tiers(tiers, diags);
    }
    for (value, what) in [
        (&prices.demand, "demand"),
        (&prices.monthly_fee, "monthly_fee"),
        (&prices.minimum, "minimum"),
    ] {
        not_negative(value.as_ref(), what, diags);
    }
    if let Some(taxes) = &prices.taxes {
        check_taxes(taxes.get_ref(), diags);
    }
}

fn check_energy(energy: &Spanned<Vec<EnergyRate>>, diags: &mut Vec<Diagnostic>) {
    let rates = energy.get_ref();
    let Some(last) = rates.last() else {
        diags.push(Diagnostic::at(
            energy.span(),
            "energy = [] is empty: add at least { price = ... }",
        ));
        return;
    };
    if last.hours.is_some() || last.days.is_some() {
        diags.push(Diagnostic::at(
            last.price.span(),
            "the last energy entry must be a catch-all without hours or days, so every hour has a price",
        ));
    }
    for rate in rates {
        not_negative(Some(&rate.price), "price", diags);
        if let Some(hours) = &rate.hours {
            let [start, end] = *hours.get_ref();
            if start > 24 || end > 24 || start == end {
                diags.push(Diagnostic::at(
                    hours.span(),
                    format!(
                        "hours = [{start}, {end}] must be two different local hours from 0 to 24 ([22, 6] runs across midnight)"
                    ),
                ));
            }
        }
        for day in rate.days.iter().flatten() {
            if day_mask(day.get_ref()).is_none() {
                diags.push(Diagnostic::at(
                    day.span(),
                    format!(
                        "unknown day {:?}: expected mon..sun, weekdays, weekend or holiday",
                        day.get_ref()
                    ),
                ));
            }
        }
    }
}

fn check_tiers(tiers: &Spanned<Vec<Tier>>, diags: &mut Vec<Diagnostic>) {
    let blocks = tiers.get_ref();
    if blocks.is_empty() {
        diags.push(Diagnostic::at(tiers.span(), "tiers = [] is empty"));
        return;
    }
    let mut previous = Decimal::ZERO;
    for (i, tier) in blocks.iter().enumerate() {
        not_negative(Some(&tier.price), "price", diags);
        let is_last = i + 1 == blocks.len();
        match (&tier.up_to, is_last) {
            (Some(up_to), true) => diags.push(Diagnostic::at(
                up_to.span(),
                "the last tier must have no up_to: it prices everything above the previous block",
            )),
            (None, false) => diags.push(Diagnostic::at(
                tier.price.span(),
                "every tier but the last needs up_to = <kWh>",
            )),
            (Some(up_to), false) => {
                if up_to.get_ref().get() <= previous {
                    diags.push(Diagnostic::at(
                        up_to.span(),
                        format!(
                            "up_to = {} must be greater than the previous block's {previous}",
                            up_to.get_ref().get()
                        ),
                    ));
                }
                previous = up_to.get_ref().get();
            }
            (None, true) => {}
        }
    }
}

fn check_taxes(taxes: &[Tax], diags: &mut Vec<Diagnostic>) {
    for tax in taxes {
        let p = tax.percent.get_ref().get();
        if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
            diags.push(Diagnostic::at(
                tax.percent.span(),
                format!("tax {:?} percent = {p} must be between 0 and 100", tax.name),
            ));
        }
    }
}

fn not_negative(value: Option<&Spanned<Exact>>, what: &str, diags: &mut Vec<Diagnostic>) {
    if let Some(v) = value
        && v.get_ref().get() < Decimal::ZERO
    {
        diags.push(Diagnostic::at(
            v.span(),
            format!("{what} = {} must not be negative", v.get_ref().get()),
        ));
    }
}

fn positive(value: Option<&Spanned<Exact>>, what: &str, diags: &mut Vec<Diagnostic>) {
    if let Some(v) = value
        && v.get_ref().get() <= Decimal::ZERO
    {
        diags.push(Diagnostic::at(
            v.span(),
            format!("{what} = {} must be greater than 0", v.get_ref().get()),
        ));
    }
}
