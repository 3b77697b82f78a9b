//! Exact decimal text ⇄ scaled integers. No floating point is used for arithmetic anywhere in yibao;
//! a JSON or TOML float literal is first turned back into its shortest decimal text (which is the
//! literal the sender wrote) and then parsed here.

use thiserror::Error;

/// Why a decimal text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecimalError {
    #[error("empty value")]
    Empty,
    #[error("`{text}` is not a decimal number")]
    NotANumber { text: String },
    #[error("`{text}` has more than {max_decimals} decimal places")]
    TooPrecise { text: String, max_decimals: u32 },
    #[error("`{text}` is out of range")]
    OutOfRange { text: String },
}

/// Parses decimal text such as `-12.5`, `+3`, `0.0500` or `1e2` into an integer scaled by
/// `10^scale` (`parse_scaled("12.34", 2) == Ok(1234)`). More than `scale` decimals is an error,
/// unless the extra digits are zeros.
pub fn parse_scaled(text: &str, scale: u32) -> Result<i64, DecimalError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DecimalError::Empty);
    }
    let not_a_number = || DecimalError::NotANumber {
        text: trimmed.to_string(),
    };
    let (mantissa, exponent) = match trimmed.find(['e', 'E']) {
        Some(pos) => {
            let exp: i32 = trimmed[pos + 1..].parse().map_err(|_| not_a_number())?;
            (&trimmed[..pos], exp)
        }
        None => (trimmed, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(not_a_number());
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(not_a_number());
    }
    let all_digits: String = format!("{int_part}{frac_part}");
    let decimals = frac_part.len() as i64 - i64::from(exponent);
    let shift = i64::from(scale) - decimals;
    let out_of_range = || DecimalError::OutOfRange {
        text: trimmed.to_string(),
    };
    let mut value: i128 = 0;
    for b in all_digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(out_of_range)?;
        if value > i128::from(i64::MAX) * 1_000_000_000 {
            return Err(out_of_range());
        }
    }
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or_else(out_of_range)?;
        }
    } else {
        let divisor =
            10i128
                .checked_pow((-shift) as u32)
                .ok_or_else(|| DecimalError::TooPrecise {
                    text: trimmed.to_string(),
                    max_decimals: scale,
                })?;
        if value % divisor != 0 {
            return Err(DecimalError::TooPrecise {
                text: trimmed.to_string(),
                max_decimals: scale,
            });
        }
        value /= divisor;
    }
    let signed = if negative { -value } else { value };
    i64::try_from(signed).map_err(|_| out_of_range())
}

/// Formats an integer scaled by `10^scale` as decimal text with exactly `scale` decimals.
pub fn format_scaled(value: i64, scale: u32) -> String {
    let mut out = String::with_capacity(24);
    write_scaled(&mut out, value, scale);
    out
}

/// Appends `value / 10^scale` as decimal text with exactly `scale` decimals.
pub fn write_scaled(out: &mut String, value: i64, scale: u32) {
    use std::fmt::Write;
    let divisor = 10u64.pow(scale);
    let magnitude = value.unsigned_abs();
    if value < 0 {
        out.push('-');
    }
    if scale == 0 {
        let _ = write!(out, "{magnitude}");
    } else {
        let _ = write!(
            out,
            "{}.{:0width$}",
            magnitude / divisor,
            magnitude % divisor,
            width = scale as usize
        );
    }
}

/// The decimal text a float literal was written as (Rust prints the shortest text that reads back
/// to the same float), for transcoding JSON and TOML numbers without float arithmetic.
pub fn float_literal_text(value: f64) -> Option<String> {
    value.is_finite().then(|| format!("{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_scaled("12.34", 2), Ok(1234));
        assert_eq!(parse_scaled("-0.05", 2), Ok(-5));
        assert_eq!(parse_scaled("7", 2), Ok(700));
        assert_eq!(parse_scaled(".5", 2), Ok(50));
        assert_eq!(parse_scaled("1.500000", 2), Ok(150));
        assert_eq!(parse_scaled("1e2", 2), Ok(10000));
        assert_eq!(parse_scaled("2.5E-1", 4), Ok(2500));
        assert_eq!(parse_scaled(" +3.1 ", 4), Ok(31000));
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(parse_scaled("", 2), Err(DecimalError::Empty));
        assert!(matches!(
            parse_scaled("1.234", 2),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_scaled("abc", 2),
            Err(DecimalError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_scaled("1.2.3", 2),
            Err(DecimalError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_scaled("-", 2),
            Err(DecimalError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_scaled("99999999999999999999", 2),
            Err(DecimalError::OutOfRange { .. })
        ));
    }

    #[test]
    fn formats() {
        assert_eq!(format_scaled(1234, 2), "12.34");
        assert_eq!(format_scaled(-5, 2), "-0.05");
        assert_eq!(format_scaled(0, 4), "0.0000");
        assert_eq!(format_scaled(42, 0), "42");
    }

    #[test]
    fn float_literals_round_trip() {
        for text in ["12.34", "0.1", "60000", "9247.7", "0.05"] {
            let f: f64 = text.parse().unwrap();
            let back = float_literal_text(f).unwrap();
            assert_eq!(parse_scaled(&back, 2), parse_scaled(text, 2));
        }
    }
}
