//! Values that parse but cannot work: periods of zero, rates and sizes out of
//! range, numbers that are not finite, control characters in names. Fields
//! the model keeps without a span are found in the text by their path.

use crate::config::locate::{Document, Leaf, Step, key_path};
use crate::config::{Config, Diagnostic, Dur};
use std::ops::{Range, RangeInclusive};

/// `[ui] max_fps`: the documented redraw range.
pub const FPS_RANGE: RangeInclusive<u32> = 1..=60;
/// `[history] live_points`: a sparkline needs two points; more than this per
/// sensor only costs memory.
pub const LIVE_POINTS_RANGE: RangeInclusive<usize> = 2..=100_000;

pub fn check(config: &Config, doc: &Document<'_>, diags: &mut Vec<Diagnostic>) {
    let mut out = Found { doc, diags };
    check_periods(config, &mut out);
    check_counts(config, &mut out);
    check_text_and_numbers(doc, out.diags);
}

/// Problems of values found by their path in the document.
struct Found<'d, 'v> {
    doc: &'d Document<'d>,
    diags: &'v mut Vec<Diagnostic>,
}

impl Found<'_, '_> {
    /// A problem with the value at `path`: `key = <as written> <problem>`,
    /// at the value (at the file start if it cannot be found).
    fn at(&mut self, path: &[Step<'_>], shown: impl std::fmt::Display, problem: &str) {
        let key = match path.last() {
            Some(Step::Key(key)) => *key,
            _ => "value",
        };
        let (message, span) = match self.doc.written(path) {
            Some((written, span)) => (format!("{key} = {written} {problem}"), span),
            None => (format!("{key} = {shown} {problem}"), 0..0),
        };
        self.diags.push(Diagnostic::at(span, message));
    }

    /// A period of zero is a problem: it must be longer than zero.
    fn positive(&mut self, dur: Option<Dur>, path: &[Step<'_>], example: &str) {
        if let Some(dur) = dur.filter(|d| d.0.is_zero()) {
            let problem = format!("must be longer than zero, e.g. \"{example}\"");
            self.at(path, format!("\"{dur}\""), &problem);
        }
    }

    /// A count outside `range` is a problem.
    fn within<T>(&mut self, value: T, range: RangeInclusive<T>, path: &[Step<'_>], meaning: &str)
    where
        T: PartialOrd + std::fmt::Display,
    {
        if !range.contains(&value) {
            let problem = format!(
                "must be between {} and {} ({meaning})",
                range.start(),
                range.end()
            );
            self.at(path, value, &problem);
        }
    }
}

fn check_periods(config: &Config, out: &mut Found<'_, '_>) {
    for (i, device) in config.modbus.iter().enumerate() {
        out.positive(device.poll, key_path!["modbus", i, "poll"], "1s");
        out.positive(device.timeout, key_path!["modbus", i, "timeout"], "500ms");
    }
    for (i, sensor) in config.sensor.iter().enumerate() {
        let period = sensor.sim.as_ref().map(|sim| sim.period);
        out.positive(period, key_path!["sensor", i, "sim", "period"], "1s");
        let stale = sensor.alarm.as_ref().and_then(|a| a.get_ref().stale);
        out.positive(stale, key_path!["sensor", i, "alarm", "stale"], "30s");
    }
    for (i, pattern) in config.mqtt_pattern.iter().enumerate() {
        let stale = pattern.keys.alarm.as_ref().and_then(|a| a.get_ref().stale);
        out.positive(stale, key_path!["mqtt_pattern", i, "alarm", "stale"], "30s");
    }
    for (i, listen) in config.listen.iter().enumerate() {
        let stale = listen.keys.alarm.as_ref().and_then(|a| a.get_ref().stale);
        out.positive(stale, key_path!["listen", i, "alarm", "stale"], "30s");
    }
    let ui = &config.ui;
    out.positive(
        Some(ui.status_every),
        key_path!["ui", "status_every"],
        "10s",
    );
    out.positive(Some(ui.shelve), key_path!["ui", "shelve"], "1h");
    let history = &config.history;
    out.positive(history.retention, key_path!["history", "retention"], "90d");
    out.positive(
        Some(history.live_window),
        key_path!["history", "live_window"],
        "15m",
    );
    let shelve_max = Some(config.alarms.shelve_max);
    out.positive(shelve_max, key_path!["alarms", "shelve_max"], "8h");
}

fn check_counts(config: &Config, out: &mut Found<'_, '_>) {
    let fps = key_path!["ui", "max_fps"];
    out.within(config.ui.max_fps, FPS_RANGE, fps, "redraws per second");
    let points = key_path!["history", "live_points"];
    let meaning = "readings kept in memory per sensor";
    out.within(
        config.history.live_points,
        LIVE_POINTS_RANGE,
        points,
        meaning,
    );
}

/// Keys whose strings name or identify something: no control character at all.
const NAME_KEYS: &[&str] = &[
    "id",
    "name",
    "key",
    "unit",
    "group",
    "broker",
    "device",
    "customer",
    "tariff",
    "meters",
    "sensor",
    "template",
    "field",
    "client_id",
    "username",
];

/// Every number must be finite and no name may hold a control character;
/// other text may hold tabs and line breaks (a `"\t"` delimiter, an address).
fn check_text_and_numbers(doc: &Document<'_>, diags: &mut Vec<Diagnostic>) {
    doc.walk(&mut |leaf| match leaf {
        Leaf::Key(key, span) => control_character("key", key, span, true, diags),
        Leaf::Str { key, value, span } => {
            let names = NAME_KEYS.contains(&key);
            control_character(key, value, span, names, diags);
        }
        Leaf::Float { key, written, span } => {
            // `1e400` overflows to inf as surely as `inf` is written.
            let value = written.replace('_', "").parse::<f64>();
            if value.is_ok_and(|v| !v.is_finite()) {
                diags.push(Diagnostic::at(
                    span,
                    format!("{key} = {written}: numbers must be finite (not nan or inf)"),
                ));
            }
        }
    });
}

fn control_character(
    key: &str,
    text: &str,
    span: Range<usize>,
    is_name: bool,
    diags: &mut Vec<Diagnostic>,
) {
    let allowed = |c: char| !is_name && matches!(c, '\t' | '\n' | '\r');
    if let Some(c) = text.chars().find(|c| c.is_control() && !allowed(*c)) {
        diags.push(Diagnostic::at(
            span,
            format!(
                "{key} {text:?} contains the control character U+{:04X}: write it as plain text",
                u32::from(c)
            ),
        ));
    }
}
