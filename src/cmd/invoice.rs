//! `floorwatch invoice`: one customer, one meter, or every customer.

use crate::billing::render::{Format, render};
use crate::billing::{Billing, BillingError, CustomerTotal, Invoice, Period, PeriodChoice};
use crate::config::{Config, Customer};
use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_OK};
use crate::store::{HistoryReader, Location};
use anyhow::{Context, Result};
use clap::{ArgGroup, Args, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Args, Clone)]
#[command(group(ArgGroup::new("who").required(true).args(["customer", "meter", "all"])))]
pub struct InvoiceArgs {
    /// Invoice this customer (all its meters).
    #[arg(long)]
    pub customer: Option<String>,
    /// Invoice only this meter (a sensor id with a `meter` binding).
    #[arg(long)]
    pub meter: Option<String>,
    /// Every customer: one file each in the -o directory, plus summary-PERIOD.csv.
    #[arg(long)]
    pub all: bool,
    /// Billing month, e.g. 2026-10 [default: the last complete month].
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// Start of an arbitrary period: 2026-10-01, 2026-10-01T06:00 (plant time) or RFC 3339.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End of the period (exclusive), same forms as --from.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Day of the month periods start on (1–28) [default: the customer's start_day, or 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=28))]
    pub start_day: Option<u32>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: InvoiceFormat,
    /// Output file (one invoice) or directory (--all) [default: stdout; --all: ./invoices-PERIOD].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Config file [default: config.toml in the config dir]
    #[arg(short, long, env = "FLOORWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// History file [default: [history] path, or history.sqlite in the data dir]
    #[arg(long, env = "FLOORWATCH_DB")]
    pub db: Option<PathBuf>,
}

/// `--format`: the command line's names for [`Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InvoiceFormat {
    Text,
    Csv,
    Json,
    Md,
}

impl From<InvoiceFormat> for Format {
    fn from(format: InvoiceFormat) -> Format {
        match format {
            InvoiceFormat::Text => Format::Text,
            InvoiceFormat::Csv => Format::Csv,
            InvoiceFormat::Json => Format::Json,
            InvoiceFormat::Md => Format::Md,
        }
    }
}

pub(super) fn run(args: InvoiceArgs, config_path: &Path) -> Result<u8> {
    let config = Config::load(config_path)?;
    let db = super::history::existing(args.db.as_deref(), Some(&config.history))?;
    let mut billing = Billing::new(&config);
    billing.start_day = args.start_day;
    let choice = period_choice(&args, &config)?;
    if args.all {
        return run_all(&billing, &db, &choice, &args);
    }
    let reader = HistoryReader::open(&db)?;
    let (customer, meter) = match (&args.customer, &args.meter) {
        (Some(c), _) => (billing.customer(c).map_err(bad)?, args.meter.as_deref()),
        (None, Some(m)) => (billing.customer_of_meter(m).map_err(bad)?, Some(m.as_str())),
        (None, None) => unreachable!("clap requires --customer, --meter or --all"),
    };
    let invoice = billing
        .invoice(&reader, customer, meter, &choice)
        .map_err(to_anyhow)?;
    write_one(&invoice, args.format.into(), args.output.as_deref())?;
    Ok(EXIT_OK)
}

fn bad(e: BillingError) -> anyhow::Error {
    BadInput(e.to_string()).into()
}

fn to_anyhow(e: BillingError) -> anyhow::Error {
    if e.is_bad_input() { bad(e) } else { e.into() }
}

fn period_choice(args: &InvoiceArgs, config: &Config) -> Result<PeriodChoice> {
    let tz = config.timezone();
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        let p = Period::custom(tz, from, to).map_err(|e| BadInput(e.to_string()))?;
        return Ok(PeriodChoice::Custom(p));
    }
    match &args.period {
        Some(text) => PeriodChoice::parse_month(text).map_err(|e| BadInput(e.to_string()).into()),
        // The last billing period that has ended, by each customer's start_day.
        None => Ok(PeriodChoice::Back {
            now: crate::model::now_ms(),
            back: 1,
        }),
    }
}

fn file_name(invoice: &Invoice, format: Format) -> String {
    let safe = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!(
        "{}-{}.{}",
        safe(&invoice.customer.id),
        safe(&invoice.period.label),
        format.extension()
    )
}

fn write_one(invoice: &Invoice, format: Format, output: Option<&Path>) -> Result<()> {
    let body = render(invoice, format);
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(body.as_bytes())
                .and_then(|_| out.flush())
                .context("writing the invoice to stdout")?;
        }
        Some(path) => {
            let path = if path.is_dir() {
                path.join(file_name(invoice, format))
            } else {
                path.to_owned()
            };
            std::fs::write(&path, body)
                .with_context(|| format!("writing invoice {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn progress(len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} invoices {bar:30} {pos}/{len} {msg} ({eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// One customer's line in the summary: its totals and file, or its error.
type Outcome = Result<(CustomerTotal, String), BillingError>;

fn run_all(
    billing: &Billing<'_>,
    db: &Location,
    choice: &PeriodChoice,
    args: &InvoiceArgs,
) -> Result<u8> {
    let customers: Vec<&Customer> = billing.customers().collect();
    let label = match choice {
        PeriodChoice::Month { year, month } => format!("{year:04}-{month:02}"),
        PeriodChoice::Back { now, back } => {
            let tz = billing.timezone();
            let day = billing.start_day.unwrap_or(1).clamp(1, 28);
            (0..*back)
                .fold(Period::month_containing(tz, *now, day), |p, _| p.previous())
                .label
        }
        PeriodChoice::Custom(p) => p.label.replace([' ', ':'], "_"),
    };
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("invoices-{label}")));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating output directory {}", dir.display()))?;
    let bar = progress(customers.len());
    // Customers are independent: one reader per core, each taking every n-th customer.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(customers.len().max(1));
    let mut outcomes: Vec<Option<Outcome>> = (0..customers.len()).map(|_| None).collect();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (customers, bar, dir) = (&customers, &bar, &dir);
                scope.spawn(move || -> Result<Vec<(usize, Outcome)>> {
                    let reader = HistoryReader::open(db)?;
                    let mut done = Vec::new();
                    for i in (w..customers.len()).step_by(workers) {
                        let outcome = bill_one(
                            billing,
                            &reader,
                            customers[i],
                            choice,
                            args.format.into(),
                            dir,
                        )?;
                        done.push((i, outcome));
                        bar.inc(1);
                    }
                    Ok(done)
                })
            })
            .collect();
        for handle in handles {
            let done = handle
                .join()
                .map_err(|_| anyhow::anyhow!("an invoice worker panicked"))??;
            for (i, outcome) in done {
                outcomes[i] = Some(outcome);
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let summary_path = dir.join(format!("summary-{label}.csv"));
    let failures = write_summary(&summary_path, &customers, &outcomes, &label)?;
    eprintln!(
        "wrote {} invoice(s) and {} to {}",
        customers.len() - failures.len(),
        summary_path.display(),
        dir.display()
    );
    if failures.is_empty() {
        Ok(EXIT_OK)
    } else {
        for f in &failures {
            eprintln!("floorwatch: {f}");
        }
        Ok(EXIT_BAD_INPUT)
    }
}

/// Bills one customer and writes its file. Errors about the data (no readings)
/// are the customer's outcome; errors reading the history stop the run.
fn bill_one(
    billing: &Billing<'_>,
    reader: &HistoryReader,
    customer: &Customer,
    choice: &PeriodChoice,
    format: Format,
    dir: &Path,
) -> Result<Outcome> {
    match billing.invoice(reader, customer, None, choice) {
        Ok(invoice) => {
            let name = file_name(&invoice, format);
            let path = dir.join(&name);
            std::fs::write(&path, render(&invoice, format))
                .with_context(|| format!("writing invoice {}", path.display()))?;
            Ok(Ok((CustomerTotal::of(&invoice), name)))
        }
        Err(e) if e.is_bad_input() => Ok(Err(e)),
        Err(e) => Err(e.into()),
    }
}

/// Writes the summary CSV in config order; returns the failures as messages.
fn write_summary(
    path: &Path,
    customers: &[&Customer],
    outcomes: &[Option<Outcome>],
    label: &str,
) -> Result<Vec<String>> {
    let mut summary =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    // The export's totals columns, with the invoice file before the error.
    let totals = &crate::report::invoices::HEADER;
    let (before_error, error) = totals.split_at(totals.len() - 1);
    summary.write_record(before_error.iter().chain(&["file"]).chain(error))?;
    let mut failures = Vec::new();
    for (customer, outcome) in customers.iter().zip(outcomes) {
        match outcome {
            Some(Ok((t, name))) => summary.write_record([
                t.customer.as_str(),
                &t.name,
                &t.period,
                &t.currency,
                &t.consumption_kwh.to_string(),
                &t.subtotal.to_string(),
                &t.taxes.to_string(),
                &t.total.to_string(),
                &t.excessive_consumption.to_string(),
                name,
                "",
            ])?,
            Some(Err(e)) => {
                summary.write_record([
                    customer.id.get_ref().as_str(),
                    &customer.name,
                    label,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &e.to_string(),
                ])?;
                failures.push(format!("customer {:?}: {e}", customer.id.get_ref()));
            }
            None => {}
        }
    }
    summary.flush()?;
    Ok(failures)
}
