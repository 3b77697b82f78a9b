use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::ratio::{Ratio, BP_PER_ONE};

/// How a fractional amount becomes money: the only place in yibao where rounding happens. Which
/// mode and unit apply is policy data (default: half away from zero, to the fen).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    pub mode: RoundingMode,
    /// Rounding unit in fen: 1 = to the fen, 10 = to the jiao.
    #[serde(default = "one_fen")]
    pub unit_fen: i64,
}

fn one_fen() -> i64 {
    1
}

/// Rounding modes. All are symmetric around zero, so `round(−x) = −round(x)` and a cancellation
/// computed from negated inputs would give negated outputs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Half away from zero (四舍五入).
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Toward zero (truncate).
    Down,
    /// Away from zero.
    Up,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            mode: RoundingMode::HalfUp,
            unit_fen: 1,
        }
    }
}

impl Rounding {
    /// `numerator / denominator` fen, rounded. `denominator` must be positive.
    pub fn div(self, numerator: i128, denominator: i128) -> Fen {
        debug_assert!(denominator > 0);
        if let (Ok(n), Ok(d)) = (i64::try_from(numerator), i64::try_from(denominator)) {
            if let Some(d) = d.checked_mul(self.unit_fen.max(1)) {
                return self.div_i64(n, d);
            }
        }
        self.div_i128(numerator, denominator)
    }

    /// The common case in 64-bit arithmetic (128-bit division is several times slower).
    fn div_i64(self, numerator: i64, denom: i64) -> Fen {
        if self.mode == RoundingMode::HalfUp && self.unit_fen <= 1 {
            return Fen(half_up_i64(numerator, denom));
        }
        let unit = self.unit_fen.max(1);
        let magnitude = numerator.unsigned_abs();
        let denom_u = denom as u64;
        let quotient = magnitude / denom_u;
        let remainder = magnitude % denom_u;
        let twice = u128::from(remainder) * 2;
        let round_away = match self.mode {
            RoundingMode::Down => false,
            RoundingMode::Up => remainder != 0,
            RoundingMode::HalfUp => twice >= u128::from(denom_u),
            RoundingMode::HalfEven => {
                twice > u128::from(denom_u) || (twice == u128::from(denom_u) && quotient % 2 == 1)
            }
        };
        let fen = ((quotient + u64::from(round_away)) as i64) * unit;
        Fen(if numerator < 0 { -fen } else { fen })
    }

    fn div_i128(self, numerator: i128, denominator: i128) -> Fen {
        let unit = i128::from(self.unit_fen.max(1));
        let denom = denominator * unit;
        let negative = numerator < 0;
        let magnitude = numerator.abs();
        let quotient = magnitude / denom;
        let remainder = magnitude % denom;
        let round_away = match self.mode {
            RoundingMode::Down => false,
            RoundingMode::Up => remainder != 0,
            RoundingMode::HalfUp => remainder * 2 >= denom,
            RoundingMode::HalfEven => {
                remainder * 2 > denom || (remainder * 2 == denom && quotient % 2 == 1)
            }
        };
        let units = quotient + i128::from(round_away);
        let fen = (units * unit) as i64;
        Fen(if negative { -fen } else { fen })
    }

    /// `amount × ratio`, rounded.
    pub fn apply(self, amount: Fen, ratio: Ratio) -> Fen {
        self.div(
            i128::from(amount.0) * i128::from(ratio.0),
            i128::from(BP_PER_ONE),
        )
    }

    /// An exact amount held in units of 1/10,000 fen (fen × basis points), rounded to money.
    pub fn round_bp_fen(self, bp_fen: i128) -> Fen {
        self.div(bp_fen, i128::from(BP_PER_ONE))
    }
}

/// Half away from zero, the default and most common mode, in its shortest form.
fn half_up_i64(numerator: i64, denom: i64) -> i64 {
    let magnitude = numerator.unsigned_abs();
    let denom = denom as u64;
    let rounded = (magnitude / denom + u64::from(magnitude % denom * 2 >= denom)) as i64;
    if numerator < 0 {
        -rounded
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_is_symmetric() {
        let r = Rounding::default();
        assert_eq!(r.apply(Fen(452), Ratio(500)), Fen(23));
        assert_eq!(r.apply(Fen(-452), Ratio(500)), Fen(-23));
        assert_eq!(r.div(5, 10), Fen(1));
        assert_eq!(r.div(-5, 10), Fen(-1));
        assert_eq!(r.div(4, 10), Fen(0));
        let wide = i128::from(i64::MAX) * 3;
        assert_eq!(r.div(wide, 3), Fen(i64::MAX));
    }

    #[test]
    fn other_modes() {
        let even = Rounding {
            mode: RoundingMode::HalfEven,
            unit_fen: 1,
        };
        assert_eq!(even.div(25, 10), Fen(2));
        assert_eq!(even.div(35, 10), Fen(4));
        let down = Rounding {
            mode: RoundingMode::Down,
            unit_fen: 1,
        };
        assert_eq!(down.div(19, 10), Fen(1));
        let up = Rounding {
            mode: RoundingMode::Up,
            unit_fen: 10,
        };
        assert_eq!(up.div(11, 1), Fen(20));
    }
}
