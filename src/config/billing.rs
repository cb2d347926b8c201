//! `[tariff.NAME]`, `[[customer]]` and per-sensor `meter = {...}` bindings.

use serde::Deserialize;
use toml::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterBinding {
    pub customer: Spanned<String>,
    pub tariff: Spanned<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub currency: String,
    #[serde(default)]
    pub energy: Vec<EnergyRate>,
    pub monthly_fee: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyRate {
    pub price: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: Spanned<String>,
    pub name: String,
}
