//! A calendar month, the unit of clearing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A month `yyyy-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u8,
}

/// A month that is not `yyyy-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("月份 `{0}` 应为 yyyy-MM（如 2025-03）")]
pub struct MonthError(pub String);

impl Month {
    /// Reads `yyyy-MM` (zero-padded), years 1900–9999.
    pub fn parse(text: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(text.chars().take(20).collect());
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u8 = month.parse().map_err(|_| bad())?;
        if year < 1900 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month `count` months earlier.
    pub fn minus(self, count: u32) -> Month {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 - i64::from(count);
        Month {
            year: index.div_euclid(12) as i32,
            month: (index.rem_euclid(12) + 1) as u8,
        }
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_step() {
        let march = Month::parse("2025-03").unwrap();
        assert_eq!(march.to_string(), "2025-03");
        assert_eq!(march.minus(3).to_string(), "2024-12");
        assert_eq!(march.minus(12).to_string(), "2024-03");
        assert_eq!(
            Month::parse("2024-12").unwrap().next().to_string(),
            "2025-01"
        );
        for bad in [
            "2025-3",
            "2025-13",
            "2025-00",
            "25-03",
            "2025/03",
            "",
            "２０２５-03",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }
}
