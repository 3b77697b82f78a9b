//! Year-to-date accumulators (累计) and the postings a settlement writes to them.
//!
//! Accumulators are kept per (`psn_no`, `insutype`, calendar year). A settlement reads a
//! [`YearToDate`] snapshot and returns postings (deltas); a cancellation posts their negation.
//! The store sums postings; nothing here is ever updated in place.

use std::fmt;
use std::str::FromStr;

use yibao_domain::Code;

/// What an accumulator counts. Displays as the national 5206 code where one exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccKey {
    /// `C0000`: inpatient admissions (final settlements of per-admission buckets).
    Admissions,
    /// `S0000`: total medical expense, fen.
    MedicalExpense,
    /// `Q0000`: deductible paid, fen.
    Deductible,
    /// `D<fund_pay_type>`: paid by a fund (or the account), fen.
    FundPaid(Code),
    /// `Q:<bucket>`: deductible paid within one benefit regime, fen.
    BucketDeductible(Code),
    /// `CAP:<group>`: basic-fund payments counted against a cap group, fen.
    CapUsed(Code),
    /// `BAND:<bucket>`: amount above the deductible, for year-basis bands, fen.
    BandBase(Code),
    /// `CATBASE`: the catastrophic layer's accumulated base, fen.
    CatastrophicBase,
    /// `OOP`: in-scope burden counted by the out-of-pocket backstop, fen.
    BackstopBurden,
}

impl fmt::Display for AccKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccKey::Admissions => f.write_str("C0000"),
            AccKey::MedicalExpense => f.write_str("S0000"),
            AccKey::Deductible => f.write_str("Q0000"),
            AccKey::FundPaid(code) => write!(f, "D{code}"),
            AccKey::BucketDeductible(code) => write!(f, "Q:{code}"),
            AccKey::CapUsed(code) => write!(f, "CAP:{code}"),
            AccKey::BandBase(code) => write!(f, "BAND:{code}"),
            AccKey::CatastrophicBase => f.write_str("CATBASE"),
            AccKey::BackstopBurden => f.write_str("OOP"),
        }
    }
}

/// A key string that is not an accumulator key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an accumulator key")]
pub struct BadAccKey(pub String);

impl FromStr for AccKey {
    type Err = BadAccKey;

    fn from_str(text: &str) -> Result<AccKey, BadAccKey> {
        let bad = || BadAccKey(text.to_string());
        let code = |rest: &str| {
            Code::new(rest)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(bad)
        };
        Ok(match text {
            "C0000" => AccKey::Admissions,
            "S0000" => AccKey::MedicalExpense,
            "Q0000" => AccKey::Deductible,
            "CATBASE" => AccKey::CatastrophicBase,
            "OOP" => AccKey::BackstopBurden,
            _ => {
                if let Some(rest) = text.strip_prefix("Q:") {
                    AccKey::BucketDeductible(code(rest)?)
                } else if let Some(rest) = text.strip_prefix("CAP:") {
                    AccKey::CapUsed(code(rest)?)
                } else if let Some(rest) = text.strip_prefix("BAND:") {
                    AccKey::BandBase(code(rest)?)
                } else if let Some(rest) = text.strip_prefix('D') {
                    AccKey::FundPaid(code(rest)?)
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

/// One accumulator change written by a settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub key: AccKey,
    pub amount: i64,
}

impl Posting {
    /// The posting of a cancellation mirror: the same key, the amount negated.
    pub fn negated(&self) -> Posting {
        Posting {
            key: self.key,
            amount: -self.amount,
        }
    }
}

/// A person's accumulators for one scheme and year, as of just before a settlement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearToDate {
    entries: Vec<(AccKey, i64)>,
}

impl YearToDate {
    pub fn new() -> YearToDate {
        YearToDate::const_new()
    }

    /// An empty snapshot, usable in constants.
    pub const fn const_new() -> YearToDate {
        YearToDate {
            entries: Vec::new(),
        }
    }

    /// The value of one accumulator (0 when never posted).
    pub fn get(&self, key: AccKey) -> i64 {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, v)| *v)
    }

    /// Adds `amount` to one accumulator.
    pub fn add(&mut self, key: AccKey, amount: i64) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, value)) => *value += amount,
            None => self.entries.push((key, amount)),
        }
    }

    /// Applies a settlement's postings.
    pub fn apply(&mut self, postings: &[Posting]) {
        for posting in postings {
            self.add(posting.key, posting.amount);
        }
    }

    /// Every non-zero accumulator, sorted by key.
    pub fn entries(&self) -> Vec<(AccKey, i64)> {
        let mut entries: Vec<(AccKey, i64)> = self
            .entries
            .iter()
            .copied()
            .filter(|(_, v)| *v != 0)
            .collect();
        entries.sort();
        entries
    }
}

impl FromIterator<(AccKey, i64)> for YearToDate {
    fn from_iter<I: IntoIterator<Item = (AccKey, i64)>>(iter: I) -> YearToDate {
        let mut ytd = YearToDate::new();
        for (key, amount) in iter {
            ytd.add(key, amount);
        }
        ytd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let keys = [
            AccKey::Admissions,
            AccKey::MedicalExpense,
            AccKey::Deductible,
            AccKey::FundPaid(Code::lit("390100")),
            AccKey::BucketDeductible(Code::lit("inpatient")),
            AccKey::CapUsed(Code::lit("htn")),
            AccKey::BandBase(Code::lit("otp")),
            AccKey::CatastrophicBase,
            AccKey::BackstopBurden,
        ];
        for key in keys {
            assert_eq!(key.to_string().parse::<AccKey>(), Ok(key));
        }
        assert!("X1".parse::<AccKey>().is_err());
        assert!("CAP:".parse::<AccKey>().is_err());
    }

    #[test]
    fn sums_postings() {
        let mut ytd = YearToDate::new();
        ytd.apply(&[
            Posting {
                key: AccKey::Admissions,
                amount: 1,
            },
            Posting {
                key: AccKey::Admissions,
                amount: 1,
            },
        ]);
        assert_eq!(ytd.get(AccKey::Admissions), 2);
        assert_eq!(ytd.get(AccKey::Deductible), 0);
    }
}
