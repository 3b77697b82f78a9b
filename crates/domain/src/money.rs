use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::{self, DecimalError};

/// Money in integer fen (分, 0.01 yuan). Never a float. Displays and serializes as yuan with two
/// decimals (`"123.45"`); deserializes from a yuan string or number.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Whole yuan to fen (`Fen::from_yuan(600) == Fen(60_000)`).
    pub const fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Reads yuan text (`"12.34"`, `"-0.5"`, `"7"`); more than two decimals is an error.
    pub fn parse_yuan(text: &str) -> Result<Fen, DecimalError> {
        decimal::parse_scaled(text, 2).map(Fen)
    }

    /// Yuan text with two decimals.
    pub fn to_yuan_string(self) -> String {
        decimal::format_scaled(self.0, 2)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn min(self, other: Fen) -> Fen {
        Fen(self.0.min(other.0))
    }

    pub fn max(self, other: Fen) -> Fen {
        Fen(self.0.max(other.0))
    }

    /// `max(self, 0)`.
    pub fn clamp_non_negative(self) -> Fen {
        Fen(self.0.max(0))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, rhs: Fen) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Fen {
    fn sub_assign(&mut self, rhs: Fen) {
        self.0 -= rhs.0;
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fen, D::Error> {
        deserializer.deserialize_any(YuanVisitor)
    }
}

struct YuanVisitor;

impl Visitor<'_> for YuanVisitor {
    type Value = Fen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount in yuan with at most two decimals, as a number or a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fen, E> {
        Fen::parse_yuan(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
        v.checked_mul(100)
            .map(Fen)
            .ok_or_else(|| E::custom("amount out of range"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(100))
            .map(Fen)
            .ok_or_else(|| E::custom("amount out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
        let text =
            decimal::float_literal_text(v).ok_or_else(|| E::custom("amount is not finite"))?;
        Fen::parse_yuan(&text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan() {
        assert_eq!(Fen(924770).to_string(), "9247.70");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        assert_eq!(Fen(0).to_string(), "0.00");
    }

    #[test]
    fn deserializes_numbers_and_strings() {
        let v: Vec<Fen> = serde_json::from_str(r#"["12.34", 12.34, 7, "-0.50", 0.1]"#).unwrap();
        assert_eq!(v, vec![Fen(1234), Fen(1234), Fen(700), Fen(-50), Fen(10)]);
        assert!(serde_json::from_str::<Fen>(r#""1.234""#).is_err());
        assert_eq!(serde_json::to_string(&Fen(1234)).unwrap(), r#""12.34""#);
    }
}
