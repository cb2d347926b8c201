//! `[[mqtt]]` brokers, per-sensor `mqtt = {...}` bindings and `[[mqtt_pattern]]`.
//!
//! Bindings and patterns share the payload keys (`payload`, `value`, `time`,
//! `fields`, `raw`/`eng`, ...) as [`PayloadKeys`], and patterns (also
//! `[[listen]]`) the sensor keys (`id`, `unit`, ...) as [`PatternKeys`],
//! read beside each table's own keys by `config::split` (serde's `flatten`
//! would lose the spans). [`DecodeKeys`] is the borrowed view the decoder is
//! built from.

use super::frame::{FrameSpec, LayoutSpec, SignBit};
use super::scaling::RawValidKey;
use super::split::{OwnKeys, required, split};
use super::{AlarmLimits, Dur};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess};
use toml::Spanned;

/// Default largest packet accepted from a broker: 1 MiB (rumqttc's own default is 10 KiB).
pub const DEFAULT_MAX_PACKET_SIZE: usize = 1024 * 1024;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttBroker {
    pub name: Spanned<String>,
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: Spanned<String>,
    /// Tried in turn after `url` when a connection attempt fails.
    #[serde(default)]
    pub fallback_urls: Vec<Spanned<String>>,
    /// Stable id for the persistent session; default `floorwatch-<host>-<user>`.
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<Spanned<String>>,
    /// File whose first line is the password.
    pub password_file: Option<Spanned<String>>,
    pub keep_alive: Option<Dur>,
    /// PEM file with the CA certificate(s) for `mqtts://` (default: the system roots).
    pub ca_file: Option<Spanned<String>>,
    /// PEM client certificate and key for brokers that require client authentication.
    pub client_cert: Option<Spanned<String>>,
    pub client_key: Option<Spanned<String>>,
    /// Accept any server certificate. Only for a lab; logs a warning on every connect.
    #[serde(default)]
    pub insecure: bool,
    /// Largest packet accepted, in bytes.
    pub max_packet_size: Option<Spanned<usize>>,
    /// Subscription QoS: 1 (default, no loss) or 0.
    pub qos: Option<Spanned<u8>>,
    /// `false` (default) keeps the broker session, so QoS 1 messages wait while the console is down.
    #[serde(default)]
    pub clean_session: bool,
}

impl MqttBroker {
    pub fn qos(&self) -> u8 {
        self.qos.as_ref().map_or(1, |q| *q.get_ref())
    }
    pub fn max_packet_size(&self) -> usize {
        self.max_packet_size
            .as_ref()
            .map_or(DEFAULT_MAX_PACKET_SIZE, |s| *s.get_ref())
    }
    /// `url` then `fallback_urls`.
    pub fn urls(&self) -> impl Iterator<Item = &Spanned<String>> {
        std::iter::once(&self.url).chain(self.fallback_urls.iter())
    }
}

/// A sensor's `mqtt = {...}`: where its values come from and how they read.
#[derive(Clone, Debug)]
pub struct MqttBinding {
    pub broker: Spanned<String>,
    pub topic: Spanned<String>,
    /// Which field of a hex/binary layout is this sensor's value (default: the first).
    pub field: Option<Spanned<String>>,
    /// Take only the readings whose `id_path` equals this (one topic carrying many sensors).
    pub match_id: Option<String>,
    pub keys: PayloadKeys,
}

/// A `[[mqtt_pattern]]`: topics whose messages name their sensors.
#[derive(Clone, Debug)]
pub struct MqttPattern {
    pub broker: Spanned<String>,
    pub topic: Spanned<String>,
    pub keys: PatternKeys,
}

/// What a pattern (`[[mqtt_pattern]]`, `[[listen]]`) says about the sensors
/// it discovers, with its payload keys.
#[derive(Clone, Debug)]
pub struct PatternKeys {
    /// Sensor id built from the wildcard captures (`{1}.{2}`), the payload's
    /// id (`{id}`, needs `id_path`), the layout field name (`{field}`) and
    /// a frame field's value (`{frame.device}`).
    pub id: Spanned<String>,
    pub unit: Option<String>,
    pub group: Option<String>,
    /// JSON pointer to the discovered sensor's group (e.g. `/location/zone`).
    pub group_path: Option<Spanned<String>>,
    /// Display range `[min, max]` of the discovered sensors' gauges.
    pub range: Option<Spanned<[f64; 2]>>,
    /// Alarm limits of every discovered sensor, as on a `[[sensor]]`.
    pub alarm: Option<Spanned<AlarmLimits>>,
    /// Display precision of the discovered sensors (the history keeps every digit).
    pub decimals: Option<Spanned<u8>>,
    pub payload: PayloadKeys,
}

impl PatternKeys {
    pub fn decode_keys(&self) -> DecodeKeys<'_> {
        DecodeKeys {
            group_path: self.group_path.as_ref(),
            ..self.payload.decode_keys()
        }
    }
}

/// The payload keys bindings and patterns share: how one message reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadKeys {
    pub payload: Option<Spanned<PayloadKind>>,
    /// JSON pointer to the value (`/value`).
    pub value: Option<Spanned<String>>,
    /// JSON pointer to the timestamp; absent = arrival time.
    pub time: Option<Spanned<String>>,
    /// `auto`, `rfc3339`, `s`, `ms` or a strftime pattern (see [`TimeFormat`]).
    pub time_format: Option<Spanned<String>>,
    /// Zone of times written without an offset (default: the plant's).
    pub tz: Option<Spanned<String>>,
    pub id_path: Option<Spanned<String>>,
    pub unit_path: Option<Spanned<String>>,
    pub name_path: Option<Spanned<String>>,
    pub quality: Option<Spanned<String>>,
    /// JSON pointer to an array of readings inside the message.
    pub items: Option<Spanned<String>>,
    pub raw: Option<Spanned<[f64; 2]>>,
    pub eng: Option<Spanned<[f64; 2]>>,
    /// Raw values outside this range are faults (default NAMUR NE 43 for `raw = [4, 20]`).
    pub raw_valid: Option<Spanned<RawValidKey>>,
    #[serde(default)]
    pub fields: Vec<Spanned<FieldSpec>>,
    /// What makes a hex/binary frame valid (length, header, footer, checksum).
    pub frame: Option<Spanned<FrameSpec>>,
    /// Offset of the type byte that chooses one of `layouts`.
    pub type_at: Option<Spanned<usize>>,
    /// Several layouts, chosen by the type byte at `type_at`.
    #[serde(default)]
    pub layouts: Vec<Spanned<LayoutSpec>>,
}

/// `broker` and `topic` of bindings and patterns.
#[derive(Default)]
struct Subscription {
    broker: Option<Spanned<String>>,
    topic: Option<Spanned<String>>,
}

impl<'de> OwnKeys<'de> for Subscription {
    const KEYS: &'static [&'static str] = &["broker", "topic"];
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "broker" => self.broker = Some(map.next_value()?),
            _ => self.topic = Some(map.next_value()?),
        }
        Ok(())
    }
}

impl Subscription {
    fn finish<E: de::Error>(self) -> Result<(Spanned<String>, Spanned<String>), E> {
        Ok((
            required(self.broker, "broker")?,
            required(self.topic, "topic")?,
        ))
    }
}

/// A binding's own keys: the subscription, and which values it takes.
#[derive(Default)]
struct BindingKeys {
    subscription: Subscription,
    field: Option<Spanned<String>>,
    match_id: Option<String>,
}

impl<'de> OwnKeys<'de> for BindingKeys {
    const KEYS: &'static [&'static str] = &["broker", "topic", "field", "match_id"];
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "field" => self.field = Some(map.next_value()?),
            "match_id" => self.match_id = Some(map.next_value()?),
            _ => self.subscription.read(key, map)?,
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for MqttBinding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (own, keys): (BindingKeys, PayloadKeys) = split(deserializer)?;
        let (broker, topic) = own.subscription.finish()?;
        Ok(MqttBinding {
            broker,
            topic,
            field: own.field,
            match_id: own.match_id,
            keys,
        })
    }
}

impl<'de> Deserialize<'de> for MqttPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (own, keys): (Subscription, PatternKeys) = split(deserializer)?;
        let (broker, topic) = own.finish()?;
        Ok(MqttPattern {
            broker,
            topic,
            keys,
        })
    }
}

/// A pattern's own keys: the sensors it makes.
#[derive(Default)]
struct Discovery {
    id: Option<Spanned<String>>,
    unit: Option<String>,
    group: Option<String>,
    group_path: Option<Spanned<String>>,
    range: Option<Spanned<[f64; 2]>>,
    alarm: Option<Spanned<AlarmLimits>>,
    decimals: Option<Spanned<u8>>,
}

impl<'de> OwnKeys<'de> for Discovery {
    const KEYS: &'static [&'static str] = &[
        "id",
        "unit",
        "group",
        "group_path",
        "range",
        "alarm",
        "decimals",
    ];
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => self.id = Some(map.next_value()?),
            "unit" => self.unit = Some(map.next_value()?),
            "group" => self.group = Some(map.next_value()?),
            "group_path" => self.group_path = Some(map.next_value()?),
            "range" => self.range = Some(map.next_value()?),
            "alarm" => self.alarm = Some(map.next_value()?),
            _ => self.decimals = Some(map.next_value()?),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PatternKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (own, payload): (Discovery, PayloadKeys) = split(deserializer)?;
        Ok(PatternKeys {
            id: required(own.id, "id")?,
            unit: own.unit,
            group: own.group,
            group_path: own.group_path,
            range: own.range,
            alarm: own.alarm,
            decimals: own.decimals,
            payload,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PayloadKind {
    /// `21.5`, `"21.5 °C"`.
    #[default]
    Number,
    Json,
    /// A hex string decoded by `fields`.
    Hex,
    /// Raw bytes decoded by `fields`.
    Binary,
}

/// One value inside a packed frame.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    /// Byte offset in the frame.
    pub offset: usize,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub endian: Endian,
    /// value = raw × scale + offset_value.
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset_value: f64,
    pub unit: Option<String>,
    /// `bits`/`bool`: the lowest bit (0 = least significant).
    pub bit: Option<Spanned<u32>>,
    /// `bits`: how many bits (1-32).
    pub width: Option<Spanned<u32>>,
    /// The value is negative when this bit of another field is set.
    pub sign_bit: Option<Spanned<SignBit>>,
    /// `false`: read for ids and signs only, not a sensor of its own.
    #[serde(default = "yes")]
    pub reading: bool,
    /// Display precision of this field's sensors.
    pub decimals: Option<Spanned<u8>>,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    U8,
    I8,
    U16,
    I16,
    /// 3 bytes, e.g. a device id.
    U24,
    I24,
    U32,
    I32,
    F32,
    F64,
    /// `width` bits from `bit` up (an unsigned number).
    Bits,
    /// One bit: 0 or 1.
    Bool,
}

impl FieldType {
    /// Integers can name sensors (`{frame.NAME}`) and carry sign flags; floats cannot.
    pub fn is_integer(self) -> bool {
        !matches!(self, FieldType::F32 | FieldType::F64)
    }
    /// Bytes read; for `bits`/`bool` the smallest (see [`FieldSpec::size`]).
    pub fn size(self) -> usize {
        match self {
            FieldType::U8 | FieldType::I8 | FieldType::Bits | FieldType::Bool => 1,
            FieldType::U16 | FieldType::I16 => 2,
            FieldType::U24 | FieldType::I24 => 3,
            FieldType::U32 | FieldType::I32 | FieldType::F32 => 4,
            FieldType::F64 => 8,
        }
    }
}

impl FieldSpec {
    /// Bytes this field reads: bit fields take the bytes their bits reach.
    pub fn size(&self) -> usize {
        match self.kind {
            FieldType::Bits | FieldType::Bool => {
                let top = self.bit_at().saturating_add(self.bit_width());
                top.div_ceil(8).max(1) as usize
            }
            kind => kind.size(),
        }
    }
    pub fn bit_at(&self) -> u32 {
        self.bit.as_ref().map_or(0, |b| *b.get_ref())
    }
    pub fn bit_width(&self) -> u32 {
        self.width.as_ref().map_or(1, |w| *w.get_ref())
    }
    /// Bits of the integer this field reads (`{frame.NAME}` ids are padded to them).
    pub fn bits(&self) -> u32 {
        match self.kind {
            FieldType::Bits | FieldType::Bool => self.bit_width(),
            kind => (kind.size() * 8) as u32,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    #[default]
    Big,
    Little,
}

/// The payload keys of a binding or a pattern, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct DecodeKeys<'a> {
    pub payload: Option<&'a Spanned<PayloadKind>>,
    pub value: Option<&'a Spanned<String>>,
    pub time: Option<&'a Spanned<String>>,
    pub time_format: Option<&'a Spanned<String>>,
    pub tz: Option<&'a Spanned<String>>,
    pub id_path: Option<&'a Spanned<String>>,
    pub unit_path: Option<&'a Spanned<String>>,
    pub name_path: Option<&'a Spanned<String>>,
    /// Patterns only.
    pub group_path: Option<&'a Spanned<String>>,
    pub quality: Option<&'a Spanned<String>>,
    pub items: Option<&'a Spanned<String>>,
    pub raw: Option<&'a Spanned<[f64; 2]>>,
    pub eng: Option<&'a Spanned<[f64; 2]>>,
    pub raw_valid: Option<&'a Spanned<RawValidKey>>,
    pub fields: &'a [Spanned<FieldSpec>],
    pub frame: Option<&'a Spanned<FrameSpec>>,
    pub type_at: Option<&'a Spanned<usize>>,
    pub layouts: &'a [Spanned<LayoutSpec>],
}

impl DecodeKeys<'_> {
    /// The payload kind, inferred when not given: `fields` → hex, a JSON key → json, else number.
    pub fn kind(&self) -> PayloadKind {
        if let Some(kind) = self.payload {
            return *kind.get_ref();
        }
        if !self.fields.is_empty() || !self.layouts.is_empty() {
            PayloadKind::Hex
        } else if [
            self.value,
            self.time,
            self.id_path,
            self.unit_path,
            self.name_path,
            self.group_path,
            self.quality,
            self.items,
        ]
        .iter()
        .any(Option::is_some)
        {
            PayloadKind::Json
        } else {
            PayloadKind::Number
        }
    }
}

impl PayloadKeys {
    pub fn decode_keys(&self) -> DecodeKeys<'_> {
        DecodeKeys {
            payload: self.payload.as_ref(),
            value: self.value.as_ref(),
            time: self.time.as_ref(),
            time_format: self.time_format.as_ref(),
            tz: self.tz.as_ref(),
            id_path: self.id_path.as_ref(),
            unit_path: self.unit_path.as_ref(),
            name_path: self.name_path.as_ref(),
            group_path: None,
            quality: self.quality.as_ref(),
            items: self.items.as_ref(),
            raw: self.raw.as_ref(),
            eng: self.eng.as_ref(),
            raw_valid: self.raw_valid.as_ref(),
            fields: &self.fields,
            frame: self.frame.as_ref(),
            type_at: self.type_at.as_ref(),
            layouts: &self.layouts,
        }
    }
}

impl MqttBinding {
    pub fn decode_keys(&self) -> DecodeKeys<'_> {
        self.keys.decode_keys()
    }
}

impl MqttPattern {
    pub fn decode_keys(&self) -> DecodeKeys<'_> {
        self.keys.decode_keys()
    }
}
