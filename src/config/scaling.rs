//! Linear scaling of raw inputs (`raw = [4, 20]` → `eng = [0, 10]`) and the
//! raw range a healthy input stays in (`raw_valid`): NAMUR NE 43 for a
//! 4–20 mA loop, where below 3.8 mA or above 20.5 mA is a fault (a broken
//! wire reads 0 mA). A reading outside the range is stored with bad quality.

use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// `raw_valid` as written: a range, or `false` for no check.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawValidKey {
    Range([f64; 2]),
    Switch(bool),
}

/// The raw values a healthy input gives, both ends included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidRange {
    lo: f64,
    hi: f64,
}

/// A `raw_valid` that cannot work, at the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidRangeProblem {
    #[error(
        "raw_valid = true: write the valid raw range, e.g. raw_valid = [3.8, 20.5], or false to turn the check off"
    )]
    True,
    #[error("raw_valid = [{0}, {1}] needs two finite numbers, the lower first")]
    Unordered(String, String),
    #[error(
        "raw_valid = [{lo}, {hi}] must contain raw = [{raw_lo}, {raw_hi}]: readings at the ends of the raw range would be faults"
    )]
    TooNarrow {
        lo: String,
        hi: String,
        raw_lo: String,
        raw_hi: String,
    },
    #[error("raw_valid needs raw = [lo, hi] and eng = [lo, hi] (it checks the raw value)")]
    WithoutRaw,
}

impl ValidRange {
    /// NAMUR NE 43 for a 4–20 mA input: 3.8..=20.5 mA.
    pub const NE43: ValidRange = ValidRange { lo: 3.8, hi: 20.5 };

    pub fn new(lo: f64, hi: f64) -> Option<ValidRange> {
        (lo.is_finite() && hi.is_finite() && lo < hi).then_some(ValidRange { lo, hi })
    }

    pub fn contains(self, raw: f64) -> bool {
        (self.lo..=self.hi).contains(&raw)
    }

    /// The range `raw_valid` asks for, or the default for `raw`: NAMUR NE 43
    /// for `raw = [4, 20]`, none otherwise. `raw` is `None` where the value
    /// checked is not scaled from a written raw range (a Modbus register).
    pub fn resolve(
        key: Option<&Spanned<RawValidKey>>,
        raw: Option<[f64; 2]>,
    ) -> Result<Option<ValidRange>, (Range<usize>, ValidRangeProblem)> {
        let Some(key) = key else {
            return Ok(raw.filter(is_4_20).map(|_| ValidRange::NE43));
        };
        let at = |problem| (key.span(), problem);
        let [lo, hi] = match *key.get_ref() {
            RawValidKey::Switch(false) => return Ok(None),
            RawValidKey::Switch(true) => return Err(at(ValidRangeProblem::True)),
            RawValidKey::Range(range) => range,
        };
        let range = ValidRange::new(lo, hi)
            .ok_or_else(|| at(ValidRangeProblem::Unordered(lo.to_string(), hi.to_string())))?;
        if let Some([a, b]) = raw
            && !(range.contains(a) && range.contains(b))
        {
            return Err(at(ValidRangeProblem::TooNarrow {
                lo: lo.to_string(),
                hi: hi.to_string(),
                raw_lo: a.to_string(),
                raw_hi: b.to_string(),
            }));
        }
        Ok(Some(range))
    }
}

fn is_4_20(raw: &[f64; 2]) -> bool {
    let (lo, hi) = (raw[0].min(raw[1]), raw[0].max(raw[1]));
    lo == 4.0 && hi == 20.0
}

/// `raw = [4, 20], eng = [0, 10]`: a straight line through two points, and
/// the raw range outside which a reading is a fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    raw: [f64; 2],
    eng: [f64; 2],
    valid: Option<ValidRange>,
}

impl Linear {
    /// The line, with the default valid range of `raw` (NE 43 for `[4, 20]`).
    pub fn new(raw: [f64; 2], eng: [f64; 2]) -> Option<Linear> {
        let finite = raw.iter().chain(eng.iter()).all(|v| v.is_finite());
        (finite && raw[0] != raw[1]).then_some(Linear {
            raw,
            eng,
            valid: ValidRange::resolve(None, Some(raw)).ok().flatten(),
        })
    }

    pub fn with_valid(self, valid: Option<ValidRange>) -> Linear {
        Linear { valid, ..self }
    }

    pub fn raw(self) -> [f64; 2] {
        self.raw
    }

    pub fn apply(self, v: f64) -> f64 {
        self.eng[0] + (v - self.raw[0]) * (self.eng[1] - self.eng[0]) / (self.raw[1] - self.raw[0])
    }

    /// Whether a raw value is inside the valid range (always, without one).
    pub fn accepts(self, raw: f64) -> bool {
        self.valid.is_none_or(|range| range.contains(raw))
    }

    /// Whether readings outside a raw range are faults.
    pub fn checks_range(self) -> bool {
        self.valid.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: RawValidKey) -> Spanned<RawValidKey> {
        Spanned::new(3..9, v)
    }

    #[test]
    fn four_to_twenty_ma_gets_namur_ne43() {
        let line = Linear::new([4.0, 20.0], [0.0, 10.0]).unwrap();
        assert!(line.accepts(3.8) && line.accepts(20.5) && line.accepts(12.0));
        assert!(!line.accepts(0.0) && !line.accepts(3.79) && !line.accepts(21.5));
        assert_eq!(line.apply(0.0), -2.5);
        assert_eq!(line.apply(21.5), 10.9375);
        let counts = Linear::new([0.0, 4095.0], [0.0, 10.0]).unwrap();
        assert!(counts.accepts(-5.0) && !counts.checks_range());
    }

    #[test]
    fn raw_valid_overrides_turns_off_or_is_refused() {
        let raw = Some([4.0, 20.0]);
        let range = |v| ValidRange::resolve(Some(&key(v)), raw);
        assert_eq!(
            range(RawValidKey::Range([3.6, 21.0])),
            Ok(ValidRange::new(3.6, 21.0))
        );
        assert_eq!(range(RawValidKey::Switch(false)), Ok(None));
        assert_eq!(range(RawValidKey::Switch(true)).unwrap_err().0, 3..9);
        let narrow = range(RawValidKey::Range([4.5, 20.5])).unwrap_err().1;
        assert_eq!(
            narrow.to_string(),
            "raw_valid = [4.5, 20.5] must contain raw = [4, 20]: readings at the ends of the raw range would be faults"
        );
        assert!(matches!(
            range(RawValidKey::Range([20.0, 4.0])).unwrap_err().1,
            ValidRangeProblem::Unordered(..)
        ));
    }
}
