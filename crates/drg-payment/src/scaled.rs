//! Exact decimal quantities of DRG payment as scaled integers: points and factors carry four
//! decimals (`Points(1_234_500)` is 123.45 points). No floating point anywhere.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use yibao_domain::decimal::{self, DecimalError};

/// Scale of [`Points`] and [`Factor`]: four decimals.
pub const SCALE: i64 = 10_000;

/// DRG points with four decimals.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(pub i64);

/// A dimensionless multiplier with four decimals that may exceed 1 (差异系数 1.05, 高倍率 2.0).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Factor(pub i64);

impl Points {
    pub const ZERO: Points = Points(0);

    /// Reads decimal text (`"85.5"`), at most four decimals.
    pub fn parse(text: &str) -> Result<Points, DecimalError> {
        decimal::parse_scaled(text, 4).map(Points)
    }
}

impl Factor {
    pub const ONE: Factor = Factor(SCALE);

    /// Reads decimal text (`"1.05"`), at most four decimals.
    pub fn parse(text: &str) -> Result<Factor, DecimalError> {
        decimal::parse_scaled(text, 4).map(Factor)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal::format_scaled(self.0, 4))
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal::format_scaled(self.0, 4))
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for Factor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Points, D::Error> {
        let text = String::deserialize(deserializer)?;
        Points::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Factor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Factor, D::Error> {
        let text = String::deserialize(deserializer)?;
        Factor::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
pub fn div_half_up(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator.abs() / denominator;
    let remainder = numerator.abs() % denominator;
    let rounded = quotient + i128::from(remainder * 2 >= denominator);
    if numerator < 0 {
        -rounded
    } else {
        rounded
    }
}

/// Narrows an `i128` result, saturating (amounts this large are rejected by validation first).
pub fn to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rounds() {
        assert_eq!(Points::parse("85.5").unwrap(), Points(855_000));
        assert_eq!(Factor::parse("1.05").unwrap().to_string(), "1.0500");
        assert!(Points::parse("1.00001").is_err());
        assert_eq!(div_half_up(5, 10), 1);
        assert_eq!(div_half_up(-5, 10), -1);
        assert_eq!(div_half_up(14, 10), 1);
        assert_eq!(to_i64(i128::MAX), i64::MAX);
    }
}
