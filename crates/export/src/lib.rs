//! The columnar export for analysts (issue 13 §6): a year of the ledger as four Parquet files —
//! `settlements.parquet`, `fee_lines.parquet` (each settled line with its split), `funds.parquet`
//! (the `setldetail` rows) and `visits.parquet` — read from the ledger page by page
//! (`yibao_ledger::export`) and written one record batch per page, row groups of at most
//! [`ROW_GROUP_ROWS`], so memory stays bounded whatever the year's size. Money is integer fen in
//! columns named `*_fen`; the schema of every file is [`tables`], documented in
//! `docs/export-parquet.md` (a test keeps the two equal).

mod columns;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use yibao_ledger::export::{self, SeqEntry, SettledLine, SettlementFund};
use yibao_ledger::{LedgerError, Store, Visit};

pub use columns::{Column, ColumnType, Table};

/// Rows read from the ledger per page (one record batch).
pub const PAGE_ROWS: u32 = 8_192;
/// Most rows in one Parquet row group.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("building a record batch of {file}: {source}")]
    Arrow {
        file: &'static str,
        source: arrow_schema::ArrowError,
    },
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub file: &'static str,
    pub rows: u64,
}

/// The four tables' schemas, in the order written.
pub fn tables() -> (
    Table<SeqEntry>,
    Table<SettledLine>,
    Table<SettlementFund>,
    Table<Visit>,
) {
    (
        columns::settlements(),
        columns::fee_lines(),
        columns::funds(),
        columns::visits(),
    )
}

/// Writes the settlements made in `year` (by `setl_time`), their fee lines, fund rows and visits
/// into `dir` (created if missing).
pub async fn export_year(
    store: &Store,
    year: i32,
    dir: &Path,
) -> Result<Vec<FileSummary>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let (settlements, lines, funds, visits) = tables();
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let mut summaries = Vec::new();

    let mut writer = TableWriter::create(dir, &settlements)?;
    let mut after = 0;
    loop {
        let page = export::settlements_page(&mut conn, year, after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        writer.write(&page)?;
    }
    summaries.push(writer.finish()?);

    let mut writer = TableWriter::create(dir, &lines)?;
    let mut after = (0, String::new());
    loop {
        let page = export::lines_page(&mut conn, year, (after.0, &after.1), PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = (last.seq, last.split.feedetl_sn.clone());
        writer.write(&page)?;
    }
    summaries.push(writer.finish()?);

    let mut writer = TableWriter::create(dir, &funds)?;
    let mut after = (0, 0);
    loop {
        let page = export::funds_page(&mut conn, year, after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = (last.seq, last.row_no);
        writer.write(&page)?;
    }
    summaries.push(writer.finish()?);

    let mut writer = TableWriter::create(dir, &visits)?;
    let mut after = String::new();
    loop {
        let page = export::visits_page(&mut conn, year, &after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = last.mdtrt_id.clone();
        writer.write(&page)?;
    }
    summaries.push(writer.finish()?);
    Ok(summaries)
}

/// One Parquet file being written.
struct TableWriter<'t, R> {
    table: &'t Table<R>,
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl<'t, R> TableWriter<'t, R> {
    fn create(dir: &Path, table: &'t Table<R>) -> Result<TableWriter<'t, R>, ExportError> {
        let path = dir.join(table.file);
        let file = File::create(&path).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::new(table.schema()), Some(properties))
            .map_err(|source| ExportError::Parquet {
                path: path.clone(),
                source,
            })?;
        Ok(TableWriter {
            table,
            path,
            writer,
            rows: 0,
        })
    }

    fn write(&mut self, rows: &[R]) -> Result<(), ExportError> {
        let batch = self
            .table
            .batch(rows)
            .map_err(|source| ExportError::Arrow {
                file: self.table.file,
                source,
            })?;
        self.writer
            .write(&batch)
            .map_err(|source| ExportError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    fn finish(self) -> Result<FileSummary, ExportError> {
        self.writer.close().map_err(|source| ExportError::Parquet {
            path: self.path.clone(),
            source,
        })?;
        Ok(FileSummary {
            file: self.table.file,
            rows: self.rows,
        })
    }
}
