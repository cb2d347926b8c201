//! `[[mqtt]]` brokers, per-sensor `mqtt = {...}` bindings and `[[mqtt_pattern]]`.

use super::Dur;
use serde::Deserialize;
use toml::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttBroker {
    pub name: Spanned<String>,
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: Spanned<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<String>,
    /// File whose first line is the password.
    pub password_file: Option<String>,
    pub keep_alive: Option<Dur>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttBinding {
    pub broker: Spanned<String>,
    pub topic: Spanned<String>,
    /// JSON pointer to the value (`/value`); absent = the payload is a number.
    pub value: Option<String>,
    /// JSON pointer to the timestamp; absent = arrival time.
    pub time: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttPattern {
    pub broker: Spanned<String>,
    pub topic: Spanned<String>,
    /// Sensor id built from the wildcard captures: `{1}.{2}`.
    pub id: Spanned<String>,
    #[serde(default)]
    pub payload: PayloadKind,
    pub value: Option<String>,
    pub time: Option<String>,
    pub unit: Option<String>,
    pub group: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PayloadKind {
    #[default]
    Number,
    Json,
    Hex,
}
