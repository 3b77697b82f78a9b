//! `docs/export-parquet.md` lists every column of every exported file with the type the export
//! writes, in order: the schema analysts read is the schema written.

use std::path::Path;

use yibao_export::{tables, Column};

/// The rows of the doc's table under the heading naming `file`: `(name, type)`.
fn documented(doc: &str, file: &str) -> Vec<(String, String)> {
    let heading = format!("### `{file}`");
    let section = doc
        .split("\n### ")
        .find(|s| format!("### {s}").starts_with(&heading))
        .unwrap_or_else(|| panic!("docs/export-parquet.md has no section {heading}"));
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

fn expected<R>(columns: &[Column<R>]) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|c| (c.name.clone(), c.column_type().doc_name().to_string()))
        .collect()
}

/// The doc's table of a file, as it should read.
fn table_text<R>(columns: &[Column<R>]) -> String {
    columns
        .iter()
        .map(|c| {
            format!(
                "| `{}` | {} | {} |\n",
                c.name,
                c.column_type().doc_name(),
                c.description
            )
        })
        .collect()
}

#[test]
fn the_doc_lists_every_column_with_its_type() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/export-parquet.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (settlements, lines, funds, visits) = tables();
    let checks = [
        (
            settlements.file,
            expected(&settlements.columns),
            table_text(&settlements.columns),
        ),
        (
            lines.file,
            expected(&lines.columns),
            table_text(&lines.columns),
        ),
        (
            funds.file,
            expected(&funds.columns),
            table_text(&funds.columns),
        ),
        (
            visits.file,
            expected(&visits.columns),
            table_text(&visits.columns),
        ),
    ];
    for (file, columns, text) in checks {
        assert_eq!(
            documented(&doc, file),
            columns,
            "{file} should read:\n{text}"
        );
    }
}
