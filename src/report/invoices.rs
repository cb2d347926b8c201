//! One row per customer with the invoice totals of a period, computed by
//! [`crate::billing`] (exact decimals, written as they are). A customer that
//! cannot be billed (no readings, no meters) gets a row with the reason
//! instead of numbers, so nobody silently drops off the list.

use super::ReportError;
use super::progress::Progress;
use super::table::Table;
use crate::billing::{Billing, CustomerTotal, PeriodChoice};
use crate::store::HistoryReader;
use std::io::Write;

/// Columns of the invoice totals (also the `invoice --all` summary, which adds `file`).
pub const HEADER: [&str; 10] = [
    "customer",
    "name",
    "period",
    "currency",
    "consumption_kwh",
    "subtotal",
    "taxes",
    "total",
    "excessive_consumption",
    "error",
];

/// Writes the totals of every customer; returns the number of rows. Each
/// customer that could not be billed is also reported to `problem`.
pub fn export_invoices<W: Write>(
    billing: &Billing<'_>,
    reader: &HistoryReader,
    choice: &PeriodChoice,
    table: &mut Table<W>,
    progress: &mut Progress,
    mut problem: impl FnMut(&str, &str),
) -> Result<u64, ReportError> {
    table.header(&HEADER)?;
    let mut rows = 0;
    for customer in billing.customers() {
        let total = billing
            .invoice(reader, customer, None, choice)
            .map(|inv| CustomerTotal::of(&inv));
        match total {
            Ok(t) => {
                table.text(&t.customer)?;
                table.text(&t.name)?;
                table.text(&t.period)?;
                table.text(&t.currency)?;
                table.decimal(&t.consumption_kwh.to_string())?;
                table.decimal(&t.subtotal.to_string())?;
                table.decimal(&t.taxes.to_string())?;
                table.decimal(&t.total.to_string())?;
                table.text(if t.excessive_consumption { "yes" } else { "no" })?;
                table.empty()?;
            }
            Err(e) => {
                problem(customer.id.get_ref(), &e.to_string());
                table.text(customer.id.get_ref())?;
                table.text(&customer.name)?;
                let period = billing.period_for(customer, choice);
                table.text(&period.label)?;
                for _ in 0..6 {
                    table.empty()?;
                }
                table.text(&e.to_string())?;
            }
        }
        table.end_row()?;
        rows += 1;
        progress.add(1);
    }
    Ok(rows)
}
