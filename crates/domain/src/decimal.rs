//! Exact decimal text ⇄ scaled integers. No floating point is used for arithmetic anywhere in yibao;
//! a JSON or TOML float literal is first turned back into its shortest decimal text (which is the
//! literal the sender wrote) and then parsed here.

use thiserror::Error;

/// Most digits a decimal text may have (before and after the point together): far beyond any
/// amount or ratio of the interface (16,2 and 5,4), small enough to be read in nanoseconds.
pub const MAX_DIGITS: usize = 30;
/// Largest magnitude of a decimal exponent (`1e2`, `2.5E-1`) that is read.
pub const MAX_EXPONENT: i32 = 30;
/// Longest decimal text read at all (sign, digits, point, exponent and surrounding space).
const MAX_TEXT_BYTES: usize = 64;

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
    #[error("a number with more than {MAX_DIGITS} digits or {MAX_TEXT_BYTES} characters is not accepted")]
    TooLong,
    #[error("`{text}` has an exponent beyond ±{MAX_EXPONENT}")]
    ExponentOutOfRange { text: String },
}

/// Parses decimal text such as `-12.5`, `+3`, `0.0500` or `1e2` into an integer scaled by
/// `10^scale` (`parse_scaled("12.34", 2) == Ok(1234)`). More than `scale` decimals is an error,
/// unless the extra digits are zeros. The text is bounded ([`MAX_DIGITS`], [`MAX_EXPONENT`]) so that
/// hostile input such as `0e2147483647` is refused at once; nothing is allocated unless it fails.
pub fn parse_scaled(text: &str, scale: u32) -> Result<i64, DecimalError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(DecimalError::TooLong);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DecimalError::Empty);
    }
    let not_a_number = || DecimalError::NotANumber {
        text: trimmed.to_string(),
    };
    let (mantissa, exponent) = match trimmed.find(['e', 'E']) {
        Some(pos) => (&trimmed[..pos], exponent_of(trimmed, &trimmed[pos + 1..])?),
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
    if int_part.len() + frac_part.len() > MAX_DIGITS {
        return Err(DecimalError::TooLong);
    }
    let out_of_range = || DecimalError::OutOfRange {
        text: trimmed.to_string(),
    };
    // At most 30 digits: below 10^30, which fits an i128 with room for the shifts below.
    let value = int_part
        .bytes()
        .chain(frac_part.bytes())
        .fold(0i128, |acc, b| acc * 10 + i128::from(b - b'0'));
    let decimals = frac_part.len() as i64 - i64::from(exponent);
    let shift = i64::from(scale) - decimals;
    let value = if shift >= 0 {
        if value != 0 && shift > MAX_DIGITS as i64 {
            return Err(out_of_range());
        }
        10i128
            .checked_pow(shift.min(MAX_DIGITS as i64) as u32)
            .and_then(|factor| value.checked_mul(factor))
            .ok_or_else(out_of_range)?
    } else {
        let too_precise = || DecimalError::TooPrecise {
            text: trimmed.to_string(),
            max_decimals: scale,
        };
        if -shift > MAX_DIGITS as i64 {
            if value != 0 {
                return Err(too_precise());
            }
            0
        } else {
            let divisor = 10i128.pow((-shift) as u32);
            if value % divisor != 0 {
                return Err(too_precise());
            }
            value / divisor
        }
    };
    let signed = if negative { -value } else { value };
    i64::try_from(signed).map_err(|_| out_of_range())
}

/// The exponent after `e`/`E`: an optional sign and at most two digits' worth of magnitude.
fn exponent_of(text: &str, exponent: &str) -> Result<i32, DecimalError> {
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotANumber {
            text: text.to_string(),
        });
    }
    let magnitude = digits.trim_start_matches('0');
    let out_of_range = || DecimalError::ExponentOutOfRange {
        text: text.to_string(),
    };
    if magnitude.len() > 2 {
        return Err(out_of_range());
    }
    let value: i32 = magnitude.parse().unwrap_or(0);
    if value > MAX_EXPONENT {
        return Err(out_of_range());
    }
    Ok(if exponent.starts_with('-') {
        -value
    } else {
        value
    })
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
    fn refuses_hostile_exponents_and_lengths_at_once() {
        let started = std::time::Instant::now();
        for text in [
            "0e2147483647",
            "1e2147483647",
            "0E-2147483648",
            "1e31",
            "5e-99",
        ] {
            assert!(
                matches!(
                    parse_scaled(text, 2),
                    Err(DecimalError::ExponentOutOfRange { .. })
                ),
                "{text}"
            );
        }
        let long = "1".repeat(31);
        assert_eq!(parse_scaled(&long, 2), Err(DecimalError::TooLong));
        assert_eq!(
            parse_scaled(&"0".repeat(10_000), 2),
            Err(DecimalError::TooLong)
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(parse_scaled("0e30", 2), Ok(0));
        assert_eq!(parse_scaled("1e10", 2), Ok(1_000_000_000_000));
        assert!(matches!(
            parse_scaled("1e30", 2),
            Err(DecimalError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_scaled("1e-30", 2),
            Err(DecimalError::TooPrecise { .. })
        ));
        assert_eq!(parse_scaled("0e-30", 2), Ok(0));
        assert_eq!(parse_scaled("+1e+2", 2), Ok(10000));
        assert!(matches!(
            parse_scaled("1e", 2),
            Err(DecimalError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_scaled("1e+-2", 2),
            Err(DecimalError::NotANumber { .. })
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
