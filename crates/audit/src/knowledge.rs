//! Knowledge tables (知识库): rows keyed by code prefixes (a drug's generic code covers all its
//! national codes), each with typed columns a rule reads as `row.<column>`.

use rustc_hash::FxHashMap;

use crate::lang::{parse_num, Ty, Value};
use crate::AuditError;

/// What a table's `codes` are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The line's `med_list_codg`.
    Item,
    /// The line's ordering practitioner.
    Doctor,
}

/// One knowledge table.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub key: KeyKind,
    pub basis: String,
    columns: FxHashMap<String, Ty>,
    rows: Vec<Row>,
    by_prefix: FxHashMap<String, u32>,
    prefix_lengths: Vec<usize>,
}

/// One row: its column values.
#[derive(Debug, Clone, Default)]
pub struct Row {
    values: FxHashMap<String, Value>,
}

impl Row {
    /// A column's value.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.values.get(column)
    }
}

impl Table {
    /// The row whose code prefix is the longest match of `code`.
    pub fn row_of(&self, code: &str) -> Option<u32> {
        self.prefix_lengths
            .iter()
            .filter(|&&len| len <= code.len())
            .find_map(|&len| code.get(..len).and_then(|p| self.by_prefix.get(p)).copied())
    }

    /// How many rows the table has.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A row by index (from [`Table::row_of`]).
    pub fn row(&self, index: u32) -> &Row {
        &self.rows[index as usize]
    }

    /// The type of a column present in every row.
    pub fn column_type(&self, column: &str) -> Option<Ty> {
        self.columns.get(column).copied()
    }
}

/// All knowledge tables of a rule set.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    tables: Vec<Table>,
}

impl Knowledge {
    /// A table and its index by name.
    pub fn table(&self, name: &str) -> Option<(usize, &Table)> {
        self.tables.iter().enumerate().find(|(_, t)| t.name == name)
    }

    /// A table by index (from [`Knowledge::table`]).
    pub fn by_index(&self, index: usize) -> &Table {
        &self.tables[index]
    }

    /// Parses `knowledge.toml`: `[tables.NAME]` with `key`, `basis` and `[[tables.NAME.rows]]` each
    /// holding `codes` (prefixes) and columns (strings, numbers, lists of strings).
    pub fn parse(text: &str, file: &str) -> Result<Knowledge, AuditError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| AuditError::Data {
                file: file.into(),
                path: String::new(),
                problem: e.message().to_string(),
            })?;
        let err = |path: String, problem: String| AuditError::Data {
            file: file.into(),
            path,
            problem,
        };
        let tables = doc
            .get("tables")
            .and_then(toml::Value::as_table)
            .ok_or_else(|| err("tables".into(), "缺少 [tables.名称] 知识表".into()))?;
        let mut out = Vec::new();
        for (name, value) in tables {
            out.push(parse_table(name, value, &err)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Knowledge { tables: out })
    }
}

fn parse_table(
    name: &str,
    value: &toml::Value,
    err: &impl Fn(String, String) -> AuditError,
) -> Result<Table, AuditError> {
    let path = format!("tables.{name}");
    let table = value
        .as_table()
        .ok_or_else(|| err(path.clone(), "应为表".into()))?;
    let key = match table.get("key").and_then(toml::Value::as_str) {
        None | Some("item") => KeyKind::Item,
        Some("doctor") => KeyKind::Doctor,
        Some(other) => {
            return Err(err(
                format!("{path}.key"),
                format!("`{other}` 不是 item 或 doctor"),
            ))
        }
    };
    let basis = table
        .get("basis")
        .and_then(toml::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let rows = table
        .get("rows")
        .and_then(toml::Value::as_array)
        .ok_or_else(|| err(format!("{path}.rows"), "缺少 [[rows]]".into()))?;
    let mut out = Table {
        name: name.to_string(),
        key,
        basis,
        columns: FxHashMap::default(),
        rows: Vec::with_capacity(rows.len()),
        by_prefix: FxHashMap::default(),
        prefix_lengths: Vec::new(),
    };
    let mut seen: FxHashMap<String, Ty> = FxHashMap::default();
    for (i, row) in rows.iter().enumerate() {
        let row_path = format!("{path}.rows[{i}]");
        let (codes, parsed) = parse_row(row, &row_path, err)?;
        for (column, value) in &parsed.values {
            let ty = value.ty();
            match seen.insert(column.clone(), ty) {
                Some(prev) if prev != ty => {
                    return Err(err(
                        format!("{row_path}.{column}"),
                        format!("类型为{ty}，前面的行为{prev}"),
                    ))
                }
                _ => {}
            }
        }
        for code in codes {
            if let Some(first) = out.by_prefix.insert(code.clone(), i as u32) {
                return Err(err(
                    format!("{row_path}.codes"),
                    format!("编码 `{code}` 已在 rows[{first}] 中"),
                ));
            }
        }
        out.rows.push(parsed);
    }
    out.columns = seen
        .into_iter()
        .filter(|(c, _)| out.rows.iter().all(|r| r.values.contains_key(c)))
        .collect();
    let mut lengths: Vec<usize> = out.by_prefix.keys().map(String::len).collect();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths.dedup();
    out.prefix_lengths = lengths;
    Ok(out)
}

fn parse_row(
    row: &toml::Value,
    path: &str,
    err: &impl Fn(String, String) -> AuditError,
) -> Result<(Vec<String>, Row), AuditError> {
    let row = row
        .as_table()
        .ok_or_else(|| err(path.into(), "应为表".into()))?;
    let codes = row
        .get("codes")
        .and_then(toml::Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| err(format!("{path}.codes"), "缺少编码前缀列表".into()))?;
    let codes = codes
        .iter()
        .enumerate()
        .map(|(j, c)| match c.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(err(format!("{path}.codes[{j}]"), "应为非空字符串".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut values = FxHashMap::default();
    for (column, value) in row.iter().filter(|(c, _)| *c != "codes") {
        let column_path = format!("{path}.{column}");
        let parsed = column_value(value).map_err(|problem| err(column_path, problem))?;
        values.insert(column.clone(), parsed);
    }
    Ok((codes, Row { values }))
}

fn column_value(value: &toml::Value) -> Result<Value, String> {
    match value {
        toml::Value::String(s) => Ok(Value::Str(s.clone())),
        toml::Value::Integer(n) => parse_num(&n.to_string()).map(Value::Num),
        toml::Value::Float(f) => parse_num(&f.to_string()).map(Value::Num),
        toml::Value::Boolean(b) => Ok(Value::Bool(*b)),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "列表只能含字符串".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        _ => Err("只支持字符串、数字、布尔值与字符串列表".into()),
    }
}
