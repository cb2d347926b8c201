//! Human durations in config: `"500ms"`, `"5s"`, `"15m"`, `"1h 30m"`, `"90d"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn from_millis(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
    pub fn from_secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A duration humantime cannot read.
#[derive(Debug, thiserror::Error)]
#[error("invalid duration {text:?} ({source}); write it like \"500ms\", \"5s\", \"15m\" or \"2h\"")]
pub struct InvalidDuration {
    text: String,
    #[source]
    source: humantime::DurationError,
}

impl std::str::FromStr for Dur {
    type Err = InvalidDuration;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim())
            .map(Dur)
            .map_err(|source| InvalidDuration {
                text: s.to_owned(),
                source,
            })
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl From<Dur> for Duration {
    fn from(d: Dur) -> Duration {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_used_in_configs() {
        assert_eq!(
            "500ms".parse::<Dur>().unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!("5s".parse::<Dur>().unwrap().0, Duration::from_secs(5));
        assert_eq!("15m".parse::<Dur>().unwrap().0, Duration::from_secs(900));
        assert_eq!(
            "90d".parse::<Dur>().unwrap().0,
            Duration::from_secs(90 * 86400)
        );
    }

    #[test]
    fn rejects_a_bare_number_with_a_hint() {
        let err = "5".parse::<Dur>().unwrap_err().to_string();
        assert!(err.contains("\"5s\""), "{err}");
    }
}
