//! The TOML configuration: its shape, loading with positions, and the
//! cross-checks `floorwatch check` reports as `file:line:col: message`.

mod alarm;
mod billing;
mod broker_url;
pub mod csv;
mod diagnostics;
mod duration;
mod export;
mod frame;
mod frame_layout;
mod import;
pub mod keys;
mod listen;
mod locate;
mod modbus;
mod modbus_url;
mod mqtt;
mod payload;
mod preflight;
mod route;
mod scaling;
mod secret;
mod split;
mod time_format;
mod unknown_keys;
mod validate;

pub use alarm::{
    AlarmLimits, AlarmSettings, ConsumptionRule, Deadband, InvalidRoc, PerLimit, PriorityName,
    PriorityOverrides, Roc,
};
pub use billing::{
    Customer, EnergyRate, Exact, HOLIDAY_BIT, MeterBinding, MeterKind, Tariff, TariffChange,
    TariffPrices, Tax, Tier, day_mask, parse_local_date,
};
pub use broker_url::{BrokerUrl, BrokerUrlError};
pub use diagnostics::{ConfigErrors, Diagnostic};
pub use duration::{Dur, InvalidDuration};
pub use export::ExportConfig;
pub use frame::{ChecksumKind, ChecksumSpec, FrameSpec, LayoutSpec, SignBit, TypeValues};
pub use frame_layout::{
    ChecksumRule, FrameIdError, FrameLayout, FrameProblem, FrameRules, LayoutField, TypedLayout,
};
pub use import::{ColumnTarget, ImportProfile};
pub use listen::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LINE, DEFAULT_MAX_RATE, Listen, ListenUrl, ListenUrlError,
    Subnet, SubnetError, Transport,
};
pub use modbus::{
    ModbusBinding, ModbusDevice, ModbusTemplate, Table, TemplateField, UnreadableRange, ValueType,
    WordOrder,
};
pub use modbus_url::{ModbusUrl, ModbusUrlError, SerialSettings};
pub use mqtt::{
    DEFAULT_MAX_PACKET_SIZE, DecodeKeys, Endian, FieldSpec, FieldType, MqttBinding, MqttBroker,
    MqttPattern, PatternKeys, PayloadKeys, PayloadKind,
};
pub use payload::{JsonPaths, LayoutError, LayoutProblem, PayloadFormat, PayloadLayout};
pub use preflight::{Purpose, Surroundings};
pub use route::{
    IdError, IdFormat, IdTemplate, LineRoute, RouteError, RouteProblem, RouteTarget, TopicError,
    TopicFilter, TopicRoute,
};
pub use scaling::{Linear, RawValidKey, ValidRange, ValidRangeProblem};
pub use secret::{redact_url, url_user_info};
pub use time_format::{TimeFormat, TimeFormatError, UnknownTimezone, parse_timezone};

use crate::model::{SensorId, SensorMeta};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub plant: Plant,
    #[serde(default)]
    pub history: History,
    #[serde(default)]
    pub ui: Ui,
    #[serde(default)]
    pub mqtt: Vec<MqttBroker>,
    #[serde(default)]
    pub modbus: Vec<ModbusDevice>,
    #[serde(default)]
    pub modbus_template: Vec<ModbusTemplate>,
    #[serde(default)]
    pub sensor: Vec<Sensor>,
    #[serde(default)]
    pub mqtt_pattern: Vec<MqttPattern>,
    /// Raw UDP datagrams or TCP lines from meters that do not speak MQTT.
    #[serde(default)]
    pub listen: Vec<Listen>,
    #[serde(default)]
    pub tariff: BTreeMap<String, Tariff>,
    #[serde(default)]
    pub customer: Vec<Customer>,
    #[serde(default)]
    pub alarms: AlarmSettings,
    #[serde(default)]
    pub export: ExportConfig,
    /// How `floorwatch import` reads families of CSV files.
    #[serde(default)]
    pub import: Vec<ImportProfile>,
    /// Where the config was read from (empty for built-in configs).
    #[serde(skip)]
    pub origin: PathBuf,
    /// The config text, to turn spans into `file:line:col` after loading.
    #[serde(skip)]
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plant {
    #[serde(default = "default_plant_name")]
    pub name: String,
    /// IANA zone used for display and billing periods, e.g. `America/Sao_Paulo`.
    pub timezone: Option<Spanned<String>>,
}

impl Default for Plant {
    fn default() -> Self {
        Plant {
            name: default_plant_name(),
            timezone: None,
        }
    }
}

fn default_plant_name() -> String {
    "Plant".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// History file; `--db` overrides it.
    pub path: Option<PathBuf>,
    /// A PostgreSQL history instead of the file: `postgres://user@host:5432/db`.
    pub url: Option<String>,
    /// Environment variable holding the PostgreSQL password.
    pub password_env: Option<String>,
    /// File holding the PostgreSQL password.
    pub password_file: Option<PathBuf>,
    /// PEM CA certificates the PostgreSQL server's certificate is checked
    /// against (`sslmode=verify-full`); the system's CA store without it.
    pub ca_file: Option<PathBuf>,
    /// Raw readings older than this are deleted (in small batches); absent = keep forever.
    pub retention: Option<Dur>,
    /// Readings kept in memory per sensor for sparklines.
    #[serde(default = "default_live_points")]
    pub live_points: usize,
    /// Maximum age of the in-memory sparkline window.
    #[serde(default = "default_live_window")]
    pub live_window: Dur,
    /// How hard a commit is made durable before its messages are acknowledged.
    #[serde(default)]
    pub sync: HistorySync,
}

/// `[history] sync`: what a commit (and so an acknowledgement) survives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorySync {
    /// fsync on every commit: survives a power cut or OS crash.
    #[default]
    Full,
    /// No fsync per commit: survives the process being killed, but a power
    /// cut may lose the last commits (faster on slow disks).
    Normal,
}

impl Default for History {
    fn default() -> Self {
        History {
            path: None,
            url: None,
            password_env: None,
            password_file: None,
            ca_file: None,
            retention: None,
            live_points: default_live_points(),
            live_window: default_live_window(),
            sync: HistorySync::default(),
        }
    }
}

fn default_live_points() -> usize {
    240
}
fn default_live_window() -> Dur {
    Dur::from_secs(15 * 60)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// Theme name: a built-in (`default`, `light`, `high-contrast`, `mono`) or a user theme.
    pub theme: Option<String>,
    #[serde(default = "default_fps")]
    pub max_fps: u32,
    /// Status line period in `--headless` mode.
    #[serde(default = "default_status_every")]
    pub status_every: Dur,
    /// ASCII-only drawing; absent = ASCII when the locale is not UTF-8.
    pub ascii: Option<bool>,
    /// Ring the terminal bell when a new unacknowledged alarm appears.
    #[serde(default)]
    pub bell: bool,
    /// How long `s` shelves an alarm.
    #[serde(default = "default_shelve")]
    pub shelve: Dur,
    /// Rebinding: action name = key or [keys].
    #[serde(default)]
    pub keys: keys::KeyBindings,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            theme: None,
            max_fps: default_fps(),
            status_every: default_status_every(),
            ascii: None,
            bell: false,
            shelve: default_shelve(),
            keys: Default::default(),
        }
    }
}

fn default_shelve() -> Dur {
    Dur::from_secs(3600)
}

fn default_fps() -> u32 {
    5
}
fn default_status_every() -> Dur {
    Dur::from_secs(10)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    /// Area or line the sensor belongs to, for grouping on the dashboard.
    pub group: Option<String>,
    /// Display range `[min, max]` for the gauge.
    pub range: Option<Spanned<[f64; 2]>>,
    pub mqtt: Option<MqttBinding>,
    pub modbus: Option<ModbusBinding>,
    pub sim: Option<SimBinding>,
    pub alarm: Option<Spanned<AlarmLimits>>,
    pub meter: Option<MeterBinding>,
    /// Digits after the point on the console (the history keeps every digit).
    pub decimals: Option<Spanned<u8>>,
}

impl Sensor {
    pub fn meta(&self) -> SensorMeta {
        SensorMeta {
            id: SensorId::new(self.id.get_ref()),
            name: self
                .name
                .clone()
                .unwrap_or_else(|| self.id.get_ref().clone()),
            unit: self.unit.clone().unwrap_or_default(),
            group: self.group.clone().unwrap_or_default(),
            range: self
                .range
                .as_ref()
                .map(|r| (r.get_ref()[0], r.get_ref()[1])),
        }
    }
}

/// What a `[[mqtt_pattern]]` or a `[[modbus_template]]` field says about the
/// sensors it makes. A sensor's payload (`name_path`, `unit_path`,
/// `group_path`) comes first; a `[[sensor]]` with the same id keeps what it
/// sets itself and takes the rest from here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SensorDefaults {
    pub name: Option<String>,
    pub unit: Option<String>,
    pub group: Option<String>,
    pub range: Option<(f64, f64)>,
    pub alarm: Option<std::sync::Arc<AlarmLimits>>,
    /// Where the sensors come from, for the detail view: `mqtt BROKER
    /// pattern FILTER`, `listen URL`, `modbus DEVICE template field KEY`.
    pub source: Option<String>,
}

impl Sensor {
    /// The sensor's alarm limits: its own, or for an input that checks its
    /// raw range (NAMUR NE 43, `raw_valid`) the `bad` alarm alone.
    pub fn alarm_limits(&self) -> Option<AlarmLimits> {
        if let Some(own) = &self.alarm {
            return Some(own.get_ref().clone());
        }
        let mqtt_checks = self.mqtt.as_ref().is_some_and(|b| {
            PayloadLayout::from_keys(&b.decode_keys()).is_ok_and(|l| l.checks_raw_range())
        });
        let modbus_checks = (self.modbus.as_ref()).is_some_and(|b| b.valid_range().is_some());
        (mqtt_checks || modbus_checks).then(AlarmLimits::bad_quality_only)
    }
}

/// A built-in simulated signal, for demos and for running the console without hardware.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimBinding {
    pub signal: SimSignal,
    #[serde(default = "default_sim_period")]
    pub period: Dur,
    #[serde(default)]
    pub seed: u64,
}

fn default_sim_period() -> Dur {
    Dur::from_secs(1)
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SimSignal {
    Temperature,
    Vibration,
    Power,
    Energy,
}

impl Config {
    /// Reads, parses and validates a config file; every problem found is returned.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = read_text(path)?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` names it in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let (config, mut diags) = Self::deserialize(path, text)?;
        diags.extend(validate::validate(&config));
        config.unless(diags)
    }

    /// The config's shape, without the cross-checks, and its unknown keys
    /// (the rest of the file is read without them, so that it is checked too).
    fn deserialize(path: &Path, text: &str) -> Result<(Config, Vec<Diagnostic>), ConfigErrors> {
        let (mut config, unknown) =
            unknown_keys::read::<Config>(text).map_err(|diags| ConfigErrors {
                path: path.to_owned(),
                text: text.to_owned(),
                diags,
            })?;
        config.origin = path.to_owned();
        config.source = text.to_owned();
        Ok((config, unknown))
    }

    /// The config, or every problem in `diags` (in file order).
    fn unless(self, mut diags: Vec<Diagnostic>) -> Result<Config, ConfigErrors> {
        if diags.is_empty() {
            return Ok(self);
        }
        diags.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
        Err(ConfigErrors {
            path: self.origin,
            text: self.source,
            diags,
        })
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.plant
            .timezone
            .as_ref()
            .and_then(|tz| tz.get_ref().parse().ok())
            .unwrap_or(chrono_tz::UTC)
    }

    /// `file:line:col` of a span of this config, for problems found after loading
    /// (e.g. an `[[import]]` column that a CSV file does not have).
    pub fn position(&self, span: std::ops::Range<usize>) -> String {
        let (line, col) = diagnostics::line_col(&self.source, span.start);
        format!("{}:{line}:{col}", self.origin.display())
    }

    /// The `[[import]]` profile named `name`.
    pub fn import_profile(&self, name: &str) -> Option<&ImportProfile> {
        self.import.iter().find(|p| p.name.get_ref() == name)
    }

    /// The first `[[import]]` profile whose `files` glob matches `path`.
    pub fn import_profile_for(&self, path: &Path) -> Option<&ImportProfile> {
        self.import.iter().find(|p| p.matches(path))
    }

    /// The sensor keys of every `[[mqtt_pattern]]` and `[[listen]]`.
    pub fn patterns(&self) -> impl Iterator<Item = &PatternKeys> {
        let topics = self.mqtt_pattern.iter().map(|p| &p.keys);
        topics.chain(self.listen.iter().map(|l| &l.keys))
    }

    /// Each pattern's sensor keys with the number of captures its id may use
    /// (the topic's wildcards; none for a listener). A topic that does not
    /// parse gives none (`check` reports it).
    pub fn patterns_with_wildcards(&self) -> impl Iterator<Item = (&PatternKeys, usize)> {
        let topics = self.mqtt_pattern.iter().filter_map(|p| {
            let filter = TopicFilter::parse(p.topic.get_ref()).ok()?;
            Some((&p.keys, filter.wildcards()))
        });
        topics.chain(self.listen.iter().map(|l| (&l.keys, 0)))
    }

    pub fn sensor_metas(&self) -> Vec<SensorMeta> {
        self.sensor.iter().map(Sensor::meta).collect()
    }
}

/// A config file's text; unreadable or non-UTF-8 files are problems too.
fn read_text(path: &Path) -> Result<String, ConfigErrors> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigErrors::single(
            path,
            String::new(),
            None,
            format!("cannot read config: {e}"),
        )
    })?;
    diagnostics::utf8_text(path, bytes)
}
