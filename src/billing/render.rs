//! Invoice renderings: a printable text layout, CSV (one row per line item),
//! JSON (the whole invoice, amounts as decimal strings) and Markdown.

use super::consumption::RegisterPoint;
use super::invoice::{Invoice, MeterBill};
use super::period::local_text_full;
use chrono_tz::Tz;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
    Md,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Md => "md",
        }
    }
}

pub fn render(invoice: &Invoice, format: Format) -> String {
    match format {
        Format::Text => text(invoice),
        Format::Csv => csv(invoice),
        Format::Json => json(invoice),
        Format::Md => markdown(invoice),
    }
}

const WIDTH: usize = 78;

fn tz_of(invoice: &Invoice) -> Tz {
    invoice.period.timezone.parse().unwrap_or(chrono_tz::UTC)
}

fn point_text(p: &Option<RegisterPoint>, tz: Tz) -> String {
    match p {
        Some(p) => format!(
            "{} at {} ({})",
            p.value,
            local_text_full(tz, p.ts),
            p.method.describe()
        ),
        None => "—".into(),
    }
}

/// `text` after `lead`, wrapped to the page width with a hanging indent.
fn wrapped(out: &mut String, lead: &str, text: &str) {
    let indent = " ".repeat(lead.chars().count());
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(lead)
        .subsequent_indent(&indent);
    for line in textwrap::wrap(text, options) {
        let _ = writeln!(out, "{line}");
    }
}

/// A label and a right-aligned amount; a long label wraps above the amount.
fn amount_row(out: &mut String, label: &str, amount: &str) {
    let room = WIDTH - 4 - amount.chars().count() - 2;
    let lines = textwrap::wrap(label, textwrap::Options::new(room).subsequent_indent("  "));
    let (last, first) = lines
        .split_last()
        .unwrap_or((&std::borrow::Cow::Borrowed(""), &[]));
    for line in first {
        let _ = writeln!(out, "    {line}");
    }
    let pad = WIDTH.saturating_sub(4 + last.chars().count());
    let _ = writeln!(out, "    {last}{amount:>pad$}");
}

pub fn text(inv: &Invoice) -> String {
    let tz = tz_of(inv);
    let mut out = String::new();
    let rule = "=".repeat(WIDTH);
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        "ENERGY INVOICE{:>w$}",
        inv.period.label,
        w = WIDTH - 14
    );
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        "Customer      {} ({})",
        inv.customer.name, inv.customer.id
    );
    if let Some(a) = &inv.customer.address {
        let _ = writeln!(out, "Address       {a}");
    }
    if let Some(r) = &inv.customer.registration {
        let _ = writeln!(out, "Registration  {r}");
    }
    wrapped(
        &mut out,
        "Period        ",
        &format!(
            "{} to {} ({}, end exclusive)",
            inv.period.from, inv.period.to, inv.period.timezone
        ),
    );
    let _ = writeln!(out, "Currency      {}", inv.currency);
    for meter in &inv.meters {
        meter_text(&mut out, meter, &inv.currency, tz);
    }
    let _ = writeln!(out, "\n{rule}");
    amount_row(&mut out, "Subtotal", &inv.subtotal.to_string());
    amount_row(&mut out, "Taxes", &inv.tax_total.to_string());
    amount_row(
        &mut out,
        "TOTAL DUE",
        &format!("{} {}", inv.currency, inv.total),
    );
    let _ = writeln!(out, "{rule}");
    wrapped(&mut out, "", &format!("Rounding: {}.", inv.rounding_rule));
    out
}

fn meter_text(out: &mut String, m: &MeterBill, currency: &str, tz: Tz) {
    let _ = writeln!(out, "\n{}", "-".repeat(WIDTH));
    let _ = writeln!(
        out,
        "Meter {} — {} (tariff {}, {})",
        m.meter, m.name, m.tariff, m.kind
    );
    wrapped(out, "  Method        ", &m.method);
    if m.readout.opening.is_some() {
        wrapped(out, "  Opening       ", &point_text(&m.readout.opening, tz));
        wrapped(out, "  Closing       ", &point_text(&m.readout.closing, tz));
    }
    if m.readout.segments.len() > 1 {
        for (i, s) in m.readout.segments.iter().enumerate() {
            let _ = writeln!(
                out,
                "  Segment {}     {} → {}: {:.3} kWh",
                i + 1,
                s.start.value,
                s.end.value,
                s.kwh
            );
        }
    }
    let _ = writeln!(
        out,
        "  Consumption   {} kWh from {} readings",
        m.consumption_kwh, m.readout.readings
    );
    if m.bands.len() > 1 {
        for b in &m.bands {
            let _ = writeln!(out, "      {:<20}{:>14} kWh", b.band, b.kwh.to_string());
        }
    }
    if let Some(d) = &m.peak_demand {
        let _ = writeln!(
            out,
            "  Peak demand   {} kW (15 minutes from {})",
            d.kw, d.window_start
        );
    }
    if let Some((ts, v)) = m.readout.last_reading {
        let _ = writeln!(out, "  Last reading  {v} at {}", local_text_full(tz, ts));
    }
    let _ = writeln!(out, "  Charges ({currency})");
    for line in &m.charges.lines {
        let label = format!(
            "{}  {} {} × {}",
            line.description, line.quantity, line.unit, line.unit_price
        );
        amount_row(out, &label, &line.amount.to_string());
    }
    amount_row(out, "Subtotal", &m.charges.subtotal.to_string());
    for tax in &m.charges.taxes {
        let label = format!(
            "{} {}% of {}{}",
            tax.name,
            tax.percent,
            tax.base,
            if tax.compound { " (compound)" } else { "" }
        );
        amount_row(out, &label, &tax.amount.to_string());
    }
    amount_row(out, "Meter total", &m.charges.total.to_string());
    if !m.notes.is_empty() {
        let _ = writeln!(out, "  Data quality");
        for note in &m.notes {
            wrapped(out, "    - ", note);
        }
    }
    let flag = if m.alert.excessive { "(!) " } else { "" };
    wrapped(out, "  ", &format!("{flag}{}", m.alert.text));
}

const CSV_HEADER: [&str; 10] = [
    "customer",
    "period",
    "meter",
    "kind",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
];

/// meter, kind, description, quantity, unit, unit price, amount
type CsvItem = [String; 7];

fn csv_items(inv: &Invoice) -> Vec<CsvItem> {
    let mut items = Vec::new();
    for m in &inv.meters {
        for l in &m.charges.lines {
            let kind = serde_json::to_value(&l.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            items.push([
                m.meter.clone(),
                kind,
                l.description.clone(),
                l.quantity.to_string(),
                l.unit.clone(),
                l.unit_price.to_string(),
                l.amount.to_string(),
            ]);
        }
        for t in &m.charges.taxes {
            items.push([
                m.meter.clone(),
                "tax".into(),
                t.name.clone(),
                t.base.to_string(),
                "base".into(),
                format!("{}%", t.percent),
                t.amount.to_string(),
            ]);
        }
    }
    items.push([
        String::new(),
        "total".into(),
        "Total due".into(),
        String::new(),
        String::new(),
        String::new(),
        inv.total.to_string(),
    ]);
    items
}

pub fn csv(inv: &Invoice) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER);
    for item in csv_items(inv) {
        let [meter, kind, desc, q, unit, price, amount] = item;
        let _ = w.write_record([
            inv.customer.id.as_str(),
            &inv.period.label,
            &meter,
            &kind,
            &desc,
            &q,
            &unit,
            &price,
            &amount,
            &inv.currency,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub fn json(inv: &Invoice) -> String {
    serde_json::to_string_pretty(inv).unwrap_or_default() + "\n"
}

pub fn markdown(inv: &Invoice) -> String {
    let tz = tz_of(inv);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Energy invoice {} — {}\n",
        inv.period.label, inv.customer.name
    );
    let _ = writeln!(
        out,
        "- **Customer:** {} (`{}`)",
        inv.customer.name, inv.customer.id
    );
    if let Some(a) = &inv.customer.address {
        let _ = writeln!(out, "- **Address:** {a}");
    }
    if let Some(r) = &inv.customer.registration {
        let _ = writeln!(out, "- **Registration:** {r}");
    }
    let _ = writeln!(
        out,
        "- **Period:** {} to {} ({}, end exclusive)",
        inv.period.from, inv.period.to, inv.period.timezone
    );
    let _ = writeln!(out, "- **Currency:** {}", inv.currency);
    for m in &inv.meters {
        let _ = writeln!(out, "\n## Meter `{}` — {}\n", m.meter, m.name);
        let _ = writeln!(out, "- Tariff: {} ({})", m.tariff, m.kind);
        let _ = writeln!(out, "- Method: {}", m.method);
        if m.readout.opening.is_some() {
            let _ = writeln!(out, "- Opening: {}", point_text(&m.readout.opening, tz));
            let _ = writeln!(out, "- Closing: {}", point_text(&m.readout.closing, tz));
        }
        let _ = writeln!(out, "- Consumption: {} kWh", m.consumption_kwh);
        for b in m.bands.iter().filter(|_| m.bands.len() > 1) {
            let _ = writeln!(out, "  - {}: {} kWh", b.band, b.kwh);
        }
        if let Some(d) = &m.peak_demand {
            let _ = writeln!(
                out,
                "- Peak demand: {} kW (15 minutes from {})",
                d.kw, d.window_start
            );
        }
        if let Some((ts, v)) = m.readout.last_reading {
            let _ = writeln!(out, "- Last reading: {v} at {}", local_text_full(tz, ts));
        }
        let _ = writeln!(out, "\n| Charge | Quantity | Unit price | Amount |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
        for l in &m.charges.lines {
            let _ = writeln!(
                out,
                "| {} | {} {} | {} | {} |",
                l.description, l.quantity, l.unit, l.unit_price, l.amount
            );
        }
        let _ = writeln!(out, "| **Subtotal** | | | **{}** |", m.charges.subtotal);
        for t in &m.charges.taxes {
            let _ = writeln!(
                out,
                "| {} {}% | {} | | {} |",
                t.name, t.percent, t.base, t.amount
            );
        }
        let _ = writeln!(out, "| **Meter total** | | | **{}** |", m.charges.total);
        if !m.notes.is_empty() {
            let _ = writeln!(out, "\n**Data quality**\n");
            for n in &m.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        let _ = writeln!(
            out,
            "\n{}{}",
            if m.alert.excessive { "**⚠** " } else { "" },
            m.alert.text
        );
    }
    let _ = writeln!(
        out,
        "\n**Total due: {} {}** (subtotal {}, taxes {})",
        inv.currency, inv.total, inv.subtotal, inv.tax_total
    );
    let _ = writeln!(out, "\n_Rounding: {}._", inv.rounding_rule);
    out
}
