//! `yibao import persons|institutions|catalog|code-table|policy FILE`: loads registry files into the
//! database.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use yibao_ledger::{registry, Store};
use yibao_server::import;

/// What a file holds.
#[derive(Clone, Copy, ValueEnum)]
pub enum ImportKind {
    /// Persons CSV, one row per person and insurance type: psn_no, psn_cert_type, certno, psn_name,
    /// gend, brdy, insutype, psn_type, psn_insu_stas, psn_insu_date, insuplc_admdvs, cvlserv_flag,
    /// balc; optional: idet (`;`-separated identity codes), insu_endtime (last day of the insured
    /// period; empty: open) and benefit_begndate (first day after the waiting period; empty: from
    /// psn_insu_date).
    Persons,
    Institutions,
    Catalog,
    /// A code table a HIS downloads (1307 疾病与诊断, 1308 手术操作, 1309–1311, 1313–1315; name it
    /// with `--infno`): CSV with a code and a name column.
    CodeTable,
    Policy,
}

/// Options of `yibao import`.
#[derive(Args)]
pub struct ImportArgs {
    /// Kind of file.
    #[arg(value_enum)]
    pub kind: ImportKind,
    /// The CSV (persons, institutions, catalog) or TOML (policy) file.
    pub file: PathBuf,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` instead of the embedded database.
    #[arg(long)]
    pub database: Option<String>,
    /// Pooling region of a catalogue or code table (default: the region of the only stored policy).
    #[arg(long)]
    pub admdvs: Option<String>,
    /// The download that publishes a code table (1307–1311, 1313–1315).
    #[arg(long)]
    pub infno: Option<String>,
    /// Day the persons file describes, `yyyy-MM-dd` (default: today): insurance rows and identities
    /// stored for a person that the file leaves out end the day before. For a catalogue or code
    /// table: the day this version takes effect (`begndate`, default: today).
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
}

/// Opens the database named by `--database` or `--data-dir`.
pub async fn open_store(
    database: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Store> {
    let store = match database {
        Some(url) => Store::open(url).await?,
        None => Store::open_data_dir(data_dir).await?,
    };
    Ok(store)
}

async fn catalog_region(store: &Store, admdvs: Option<&str>) -> anyhow::Result<String> {
    if let Some(admdvs) = admdvs {
        return Ok(admdvs.to_string());
    }
    let mut conn = store.pool().acquire().await?;
    let policies = registry::documents(&mut conn, registry::Document::Policy).await?;
    match policies.as_slice() {
        [(admdvs, _)] => Ok(admdvs.clone()),
        _ => anyhow::bail!(
            "--admdvs is required: {} policies are stored",
            policies.len()
        ),
    }
}

async fn import_file(args: &ImportArgs) -> anyhow::Result<String> {
    let store = open_store(args.database.as_deref(), &args.data_dir).await?;
    let open = || {
        std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))
    };
    let read = || {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))
    };
    let now = chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let summary = match args.kind {
        ImportKind::Persons => {
            let as_of = args
                .as_of
                .unwrap_or_else(|| chrono::Local::now().date_naive());
            let persons = import::read_persons_csv(open()?, as_of)?;
            registry::upsert_persons(&store, &persons).await?;
            format!("{} persons", persons.len())
        }
        ImportKind::Institutions => {
            let institutions = import::read_institutions_csv(open()?)?;
            registry::upsert_institutions(&store, &institutions).await?;
            format!("{} institutions", institutions.len())
        }
        ImportKind::Policy => format!(
            "policy for {}",
            import::import_policy(&store, &read()?, &now).await?
        ),
        ImportKind::Catalog => {
            let admdvs = catalog_region(&store, args.admdvs.as_deref()).await?;
            let begndate = begndate_of(args, &now);
            let (count, ver) =
                import::import_catalog_version(&store, &admdvs, &read()?, &begndate, &now).await?;
            format!("catalogue version {ver} of {count} items for {admdvs}, effective {begndate}")
        }
        ImportKind::CodeTable => {
            let infno = args
                .infno
                .as_deref()
                .context("--infno is required for a code table (1307–1311, 1313–1315)")?;
            let admdvs = catalog_region(&store, args.admdvs.as_deref()).await?;
            let begndate = begndate_of(args, &now);
            let (count, ver) =
                import::import_code_table(&store, &admdvs, infno, &read()?, &begndate, &now)
                    .await?;
            format!(
                "code table {infno} version {ver} of {count} codes for {admdvs}, effective {begndate}"
            )
        }
    };
    store.close().await;
    Ok(summary)
}

/// The `begndate` of an imported version: `--as-of`, else the import day.
fn begndate_of(args: &ImportArgs, now: &str) -> String {
    args.as_of.map_or_else(
        || now[..10].to_string(),
        |d| d.format("%Y-%m-%d").to_string(),
    )
}

/// Imports one file.
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime
        .block_on(import_file(args))
        .with_context(|| format!("importing {}", args.file.display()))?;
    println!("imported {summary}");
    Ok(())
}
