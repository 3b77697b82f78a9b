//! Rows sent to PostgreSQL as one array per column: `INSERT … SELECT * FROM unnest($1::text[],
//! $2::int8[], …)`. The statement's text then depends only on the table and its column types, not
//! on how many rows a batch holds, so PostgreSQL parses and plans it once per connection (a prepared
//! statement) instead of once per flush, and a batch of any size binds one parameter per column
//! instead of one per value. Each array travels as its text literal (`{"a","b",NULL}`), the one
//! array form the `Any` driver binds.

use std::fmt::Write;

/// A value that can be an element of a PostgreSQL array literal.
pub(crate) trait ArrayElement {
    /// The array type a column of these values is cast to (`text[]`, `int8[]`, `bytea[]`).
    const ARRAY_TYPE: &'static str;

    /// Appends the value as an element of an array literal.
    fn write_element(&self, out: &mut String);
}

impl ArrayElement for str {
    const ARRAY_TYPE: &'static str = "text[]";

    /// A quoted element: `"` and `\` escaped with a backslash, everything else as it is.
    fn write_element(&self, out: &mut String) {
        out.reserve(self.len() + 2);
        out.push('"');
        for c in self.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
}

impl ArrayElement for &str {
    const ARRAY_TYPE: &'static str = "text[]";

    fn write_element(&self, out: &mut String) {
        (**self).write_element(out);
    }
}

impl ArrayElement for String {
    const ARRAY_TYPE: &'static str = "text[]";

    fn write_element(&self, out: &mut String) {
        self.as_str().write_element(out);
    }
}

impl ArrayElement for i64 {
    const ARRAY_TYPE: &'static str = "int8[]";

    fn write_element(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl ArrayElement for Vec<u8> {
    const ARRAY_TYPE: &'static str = "bytea[]";

    /// A quoted element in `bytea`'s hex input form, `"\\x0aff…"` (the backslash escaped).
    fn write_element(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.reserve(self.len() * 2 + 5);
        out.push_str("\"\\\\x");
        for byte in self {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out.push('"');
    }
}

impl<T: ArrayElement> ArrayElement for Option<T> {
    const ARRAY_TYPE: &'static str = T::ARRAY_TYPE;

    /// `NULL` (unquoted) for `None`.
    fn write_element(&self, out: &mut String) {
        match self {
            Some(value) => value.write_element(out),
            None => out.push_str("NULL"),
        }
    }
}

/// The column arrays of one statement's rows, filled a row at a time, a value at a time.
#[derive(Debug)]
pub(crate) struct ColumnArrays {
    columns: Vec<Column>,
    /// The column the next value of the current row goes to.
    at: usize,
}

/// One column: its array type and the text of its array literal so far.
#[derive(Debug)]
struct Column {
    array_type: &'static str,
    literal: String,
}

impl ColumnArrays {
    /// Empty arrays for `cols` columns.
    pub(crate) fn new(cols: usize) -> ColumnArrays {
        ColumnArrays {
            columns: Vec::with_capacity(cols),
            at: 0,
        }
    }

    /// Appends `value` to the next column of the current row.
    pub(crate) fn push<T: ArrayElement>(&mut self, value: &T) {
        if self.at == self.columns.len() {
            self.columns.push(Column {
                array_type: T::ARRAY_TYPE,
                literal: String::from("{"),
            });
        } else {
            self.columns[self.at].literal.push(',');
        }
        let column = &mut self.columns[self.at];
        debug_assert_eq!(
            column.array_type,
            T::ARRAY_TYPE,
            "column {} bound with two types",
            self.at
        );
        value.write_element(&mut column.literal);
        self.at += 1;
    }

    /// Ends the current row: the next value goes to the first column.
    pub(crate) fn end_row(&mut self) {
        debug_assert_eq!(
            self.at,
            self.columns.len(),
            "a row bound fewer values than the first row"
        );
        self.at = 0;
    }

    /// `unnest($n::type, …)` over the columns, parameters numbered from `$(offset + 1)`.
    pub(crate) fn unnest_sql(&self, offset: usize) -> String {
        let mut sql = String::from("unnest(");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}::{}", offset + i + 1, column.array_type);
        }
        sql.push(')');
        sql
    }

    /// The array literals, one per column in order.
    pub(crate) fn into_literals(self) -> impl Iterator<Item = String> {
        self.columns.into_iter().map(|column| {
            let mut literal = column.literal;
            literal.push('}');
            literal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(arrays: ColumnArrays) -> Vec<String> {
        arrays.into_literals().collect()
    }

    #[test]
    fn text_is_quoted_and_escaped() {
        let mut arrays = ColumnArrays::new(1);
        for value in ["a", "", "NULL", "say \"hi\"", "C:\\dir", "{x,y}", " 空 格 "] {
            arrays.push(&value.to_string());
            arrays.end_row();
        }
        assert_eq!(
            literals(arrays),
            [r#"{"a","","NULL","say \"hi\"","C:\\dir","{x,y}"," 空 格 "}"#]
        );
    }

    #[test]
    fn numbers_nulls_and_bytes() {
        let mut arrays = ColumnArrays::new(3);
        arrays.push(&Some(-42i64));
        arrays.push(&None::<String>);
        arrays.push(&Some(vec![0u8, 0x5c, 0xff]));
        arrays.end_row();
        arrays.push(&None::<i64>);
        arrays.push(&Some("x"));
        arrays.push(&None::<Vec<u8>>);
        arrays.end_row();
        assert_eq!(
            arrays.unnest_sql(4),
            "unnest($5::int8[], $6::text[], $7::bytea[])"
        );
        assert_eq!(
            literals(arrays),
            ["{-42,NULL}", r#"{NULL,"x"}"#, r#"{"\\x005cff",NULL}"#]
        );
    }
}
