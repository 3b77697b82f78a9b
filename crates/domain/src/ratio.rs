use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::{self, DecimalError};

/// An exact ratio in basis points (1 bp = 1/10,000): `Ratio(6000)` is 60 %. Basis points are the
/// precision of the national wire (`5,4`), so every ratio a policy or catalogue states is exact.
/// Text form is a decimal fraction (`"0.60"`); percentages are not accepted, to avoid 60 vs 0.60 mix-ups.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(pub u32);

/// Basis points in one whole.
pub const BP_PER_ONE: u32 = 10_000;

impl Ratio {
    pub const ZERO: Ratio = Ratio(0);
    pub const ONE: Ratio = Ratio(BP_PER_ONE);

    pub const fn bp(self) -> u32 {
        self.0
    }

    /// Reads a decimal fraction in `0..=1` with at most four decimals.
    pub fn parse(text: &str) -> Result<Ratio, RatioError> {
        let bp = decimal::parse_scaled(text, 4)?;
        Ratio::from_bp_checked(bp)
    }

    /// Checks `0 <= bp <= 10,000`.
    pub fn from_bp_checked(bp: i64) -> Result<Ratio, RatioError> {
        if (0..=i64::from(BP_PER_ONE)).contains(&bp) {
            Ok(Ratio(bp as u32))
        } else {
            Err(RatioError::OutOfRange { bp })
        }
    }
}

/// Why a ratio could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatioError {
    #[error(transparent)]
    Decimal(#[from] DecimalError),
    #[error("ratio {} is outside 0..1", decimal::format_scaled(*bp, 4))]
    OutOfRange { bp: i64 },
}

impl fmt::Display for Ratio {
    /// Percent with up to two decimals: `60%`, `96.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let rest = self.0 % 100;
        if rest == 0 {
            write!(f, "{whole}%")
        } else if rest.is_multiple_of(10) {
            write!(f, "{whole}.{}%", rest / 10)
        } else {
            write!(f, "{whole}.{rest:02}%")
        }
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&decimal::format_scaled(i64::from(self.0), 4))
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ratio, D::Error> {
        deserializer.deserialize_any(RatioVisitor)
    }
}

struct RatioVisitor;

impl Visitor<'_> for RatioVisitor {
    type Value = Ratio;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ratio between 0 and 1 with at most four decimals (e.g. 0.65)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Ratio, E> {
        Ratio::parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ratio, E> {
        Ratio::from_bp_checked(v.saturating_mul(i64::from(BP_PER_ONE))).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ratio, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ratio, E> {
        let text =
            decimal::float_literal_text(v).ok_or_else(|| E::custom("ratio is not finite"))?;
        Ratio::parse(&text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!(Ratio::parse("0.60").unwrap(), Ratio(6000));
        assert_eq!(Ratio::parse("1").unwrap(), Ratio::ONE);
        assert_eq!(Ratio(9650).to_string(), "96.5%");
        assert_eq!(Ratio(500).to_string(), "5%");
        assert!(Ratio::parse("60").is_err());
        assert!(Ratio::parse("0.12345").is_err());
        let r: Ratio = serde_json::from_str("0.65").unwrap();
        assert_eq!(r, Ratio(6500));
    }
}
