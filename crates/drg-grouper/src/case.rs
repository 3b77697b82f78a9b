//! The facts about a discharge that grouping reads.

/// Patient sex as the settlement list codes it (GB/T 2261.1: 1 male, 2 female, 0 unknown, 9 unstated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
    /// Present but neither male nor female (`0` or `9`): passes the input check, matches no sex rule.
    Unstated,
}

impl Sex {
    /// Reads `1`/`2`/`0`/`9`, `男`/`女`, `M`/`F` (also `1.0`-style numbers); `None` for anything else.
    pub fn parse(text: &str) -> Option<Sex> {
        let trimmed = text.trim();
        let code = trimmed.strip_suffix(".0").unwrap_or(trimmed);
        match code {
            "1" | "男" | "M" | "m" => Some(Sex::Male),
            "2" | "女" | "F" | "f" => Some(Sex::Female),
            "0" | "9" => Some(Sex::Unstated),
            _ => None,
        }
    }

    /// The upstream `record.gender` string this sex compares equal to.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::Unstated => "9",
        }
    }
}

/// Demographics of one discharge. `None` means not given; comparisons on a missing value are false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Patient {
    pub sex: Option<Sex>,
    pub age_years: Option<i64>,
    pub age_days: Option<i64>,
    /// Birth weight in grams; `0` or `None` means not recorded.
    pub weight_g: Option<i64>,
}

/// A discharge to group, with owned code lists (what the input readers produce).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Case {
    pub id: String,
    pub patient: Patient,
    pub los_days: Option<i64>,
    pub leaving_type: Option<String>,
    /// Principal diagnosis first.
    pub diagnoses: Vec<String>,
    /// Main procedure first.
    pub procedures: Vec<String>,
    /// Rule version asked for by this case (`chs_drg_11`, a folder name, …), if any.
    pub version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sex_codes() {
        assert_eq!(Sex::parse("1"), Some(Sex::Male));
        assert_eq!(Sex::parse(" 女 "), Some(Sex::Female));
        assert_eq!(Sex::parse("2.0"), Some(Sex::Female));
        assert_eq!(Sex::parse("9"), Some(Sex::Unstated));
        assert_eq!(Sex::parse(""), None);
        assert_eq!(Sex::parse("x"), None);
    }
}
