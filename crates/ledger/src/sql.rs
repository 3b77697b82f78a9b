//! Small helpers for SQL text shared by both backends.

use std::fmt::Write;

/// `($1,$2),($3,$4)…` for `rows` rows of `cols` bind parameters, numbered from `$1`.
pub fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for row in 0..rows {
        if row > 0 {
            out.push(',');
        }
        out.push('(');
        for col in 0..cols {
            if col > 0 {
                out.push(',');
            }
            let _ = write!(out, "${}", row * cols + col + 1);
        }
        out.push(')');
    }
    out
}

/// The largest number of rows per multi-row insert of `cols` columns (stays well under both backends'
/// bind-parameter limits).
pub fn rows_per_insert(cols: usize) -> usize {
    (30_000 / cols.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_rows() {
        assert_eq!(values_placeholders(2, 2), "($1,$2),($3,$4)");
        assert_eq!(values_placeholders(1, 3), "($1,$2,$3)");
    }
}
