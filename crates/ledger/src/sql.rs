//! Small helpers for SQL text shared by both backends.

use std::fmt::Write;

use sqlx::AnyConnection;

/// Bind parameters per statement at most. SQLite looks a numbered parameter's name up by a linear
/// scan, so very wide statements cost time quadratic in their width; this keeps them modest.
const MAX_PARAMS: usize = 999;

/// How bind parameters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2 …` (both backends understand them).
    Numbered,
    /// `?` (SQLite: binds by position without looking names up).
    Positional,
}

impl Placeholders {
    /// The cheapest style `conn`'s backend understands.
    pub fn for_connection(conn: &AnyConnection) -> Placeholders {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Placeholders::Positional
        } else {
            Placeholders::Numbered
        }
    }
}

/// `($1,$2),($3,$4)…` for `rows` rows of `cols` bind parameters, numbered from `$1`.
pub fn values_placeholders(rows: usize, cols: usize) -> String {
    placeholders(Placeholders::Numbered, rows, cols)
}

/// `rows` rows of `cols` bind parameters in the given style.
pub fn placeholders(style: Placeholders, rows: usize, cols: usize) -> String {
    placeholders_from(style, 0, rows, cols)
}

/// `rows` rows of `cols` bind parameters in the given style, numbered (if numbered) from
/// `$(offset + 1)`.
pub fn placeholders_from(style: Placeholders, offset: usize, rows: usize, cols: usize) -> String {
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
            match style {
                Placeholders::Numbered => {
                    let _ = write!(out, "${}", offset + row * cols + col + 1);
                }
                Placeholders::Positional => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

/// The largest number of rows per multi-row statement of `cols` columns.
pub fn rows_per_insert(cols: usize) -> usize {
    (MAX_PARAMS / cols.max(1)).max(1)
}

/// The next value of a counter of `id_counters` kept outside the settlement writer (filings, cases),
/// in the caller's transaction.
pub(crate) async fn next_counter(
    conn: &mut sqlx::AnyConnection,
    name: &str,
) -> Result<i64, crate::LedgerError> {
    use sqlx::Row;
    Ok(sqlx::query(
        "INSERT INTO id_counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = id_counters.value + 1 RETURNING value",
    )
    .bind(name.to_string())
    .fetch_one(conn)
    .await?
    .try_get("value")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_rows() {
        assert_eq!(values_placeholders(2, 2), "($1,$2),($3,$4)");
        assert_eq!(values_placeholders(1, 3), "($1,$2,$3)");
        assert_eq!(placeholders(Placeholders::Positional, 2, 2), "(?,?),(?,?)");
        assert_eq!(
            placeholders_from(Placeholders::Numbered, 4, 2, 1),
            "($5),($6)"
        );
    }
}
