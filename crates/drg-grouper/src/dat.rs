//! Reader for the `.dat` tables: one `KEY VALUE` pair per line, split at the first space.

use std::path::Path;

use crate::error::LoadError;

/// Reads `path` into `(key, value)` pairs in file order. Blank lines are skipped; a line without a
/// space has an empty value. A trailing `\r` is dropped so CRLF copies load the same.
pub fn read_pairs(path: &Path) -> Result<Vec<(String, String)>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_pairs(&text))
}

/// Splits table text into `(key, value)` pairs (see [`read_pairs`]).
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .map(|line| match line.split_once(' ') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_space_only() {
        let pairs = parse_pairs("K22.301 食管破裂\r\n\nGZ13 其他 消化\nLONE");
        assert_eq!(
            pairs,
            vec![
                ("K22.301".to_string(), "食管破裂".to_string()),
                ("GZ13".to_string(), "其他 消化".to_string()),
                ("LONE".to_string(), String::new()),
            ]
        );
    }
}
