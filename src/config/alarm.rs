//! Per-sensor `alarm = {...}` limits.

use super::Dur;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmLimits {
    pub hh: Option<f64>,
    pub h: Option<f64>,
    pub l: Option<f64>,
    pub ll: Option<f64>,
    pub deadband: Option<f64>,
    /// On-delay: the condition must hold this long before the alarm is raised.
    pub delay: Option<Dur>,
    pub off_delay: Option<Dur>,
    /// No reading within this long makes the sensor stale (and raises a stale alarm).
    pub stale: Option<Dur>,
}

impl AlarmLimits {
    /// Limits from the most severe high to the most severe low, as (name, value).
    pub fn ordered(&self) -> Vec<(&'static str, f64)> {
        [
            ("hh", self.hh),
            ("h", self.h),
            ("l", self.l),
            ("ll", self.ll),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }
}
