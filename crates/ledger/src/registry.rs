//! The registry: institutions and their gateway keys, persons, policies and catalogues.
//! Writes replace whole records (upserts) inside one transaction per call. A person's insurance rows
//! and identity periods are never deleted: settlements were made under them, so a row an import
//! leaves out is end-dated instead ([`upsert_persons`]).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::codes::{FixmedinsType, Gend, Insutype, PsnType};
use yibao_domain::{Code, Fen};

use crate::columns::{self, KeyedRow};
use crate::sql::{rows_per_insert, values_placeholders};
use crate::{
    AccessKey, IdentityPeriod, Institution, InsuRow, InsuStatus, LedgerError, Person, Store,
};

/// Inserts or replaces institutions.
pub async fn upsert_institutions(
    store: &Store,
    institutions: &[Institution],
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for chunk in institutions.chunks(rows_per_insert(5)) {
        let sql = format!(
            "INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs) VALUES {} \
             ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = excluded.fixmedins_name, \
             fixmedins_type = excluded.fixmedins_type, hosp_lv = excluded.hosp_lv, admdvs = excluded.admdvs",
            values_placeholders(chunk.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for i in chunk {
            query = query
                .bind(i.fixmedins_code.clone())
                .bind(i.fixmedins_name.clone())
                .bind(i.fixmedins_type.as_str().to_string())
                .bind(i.hosp_lv.as_str().to_string())
                .bind(i.admdvs.as_str().to_string());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every institution.
pub async fn institutions(conn: &mut AnyConnection) -> Result<Vec<Institution>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs FROM institutions ORDER BY fixmedins_code",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(institution_of).collect()
}

/// One institution by code.
pub async fn institution(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Institution>, LedgerError> {
    let row = sqlx::query(
        "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs FROM institutions WHERE fixmedins_code = $1",
    )
    .bind(code.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(institution_of).transpose()
}

/// An institution row: its codes parsed once; a value that does not parse is
/// [`LedgerError::Corrupt`] naming the column and the institution.
fn institution_of(row: &AnyRow) -> Result<Institution, LedgerError> {
    let stored = KeyedRow::new(row, "institutions", "fixmedins_code")?;
    Ok(Institution {
        fixmedins_code: row.try_get("fixmedins_code")?,
        fixmedins_name: row.try_get("fixmedins_name")?,
        fixmedins_type: stored.parsed("fixmedins_type", |text| {
            columns::parse_code(text).map(FixmedinsType::from_code)
        })?,
        hosp_lv: stored.parsed("hosp_lv", columns::parse_code)?,
        admdvs: stored.parsed("admdvs", columns::parse_code)?,
    })
}

/// Inserts or replaces gateway keys (the institution must exist).
pub async fn upsert_access_keys(store: &Store, keys: &[AccessKey]) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for key in keys {
        sqlx::query(
            "INSERT INTO access_keys (access_key, fixmedins_code, scheme, secret) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (access_key) DO UPDATE SET fixmedins_code = excluded.fixmedins_code, \
             scheme = excluded.scheme, secret = excluded.secret",
        )
        .bind(key.access_key.clone())
        .bind(key.fixmedins_code.clone())
        .bind(key.scheme.clone())
        .bind(key.secret.clone())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every gateway key.
pub async fn access_keys(conn: &mut AnyConnection) -> Result<Vec<AccessKey>, LedgerError> {
    let rows = sqlx::query("SELECT access_key, fixmedins_code, scheme, secret FROM access_keys")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AccessKey {
                access_key: row.try_get("access_key")?,
                fixmedins_code: row.try_get("fixmedins_code")?,
                scheme: row.try_get("scheme")?,
                secret: row.try_get("secret")?,
            })
        })
        .collect()
}

/// Persons to register, each with every insurance row and identity period it has on `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonImport {
    pub persons: Vec<Person>,
    /// The day the import describes, given by the caller (the ledger reads no clock): a stored
    /// insurance row or identity period of an imported person that the import leaves out ends the
    /// day before.
    pub as_of: NaiveDate,
}

impl PersonImport {
    /// Number of persons imported.
    pub fn len(&self) -> usize {
        self.persons.len()
    }

    /// Whether the import holds no person.
    pub fn is_empty(&self) -> bool {
        self.persons.is_empty()
    }
}

/// Inserts or replaces persons with their insurance rows and identity periods. Imported rows replace
/// the stored rows of the same insutype (identity periods: of the same type and begin); stored rows
/// the import leaves out are kept, ended the day before `as_of` when they were open or ended later
/// ([`merged_insu`], [`merged_idet`]), so that earlier settlements stay queryable, cancellable and
/// verifiable.
pub async fn upsert_persons(store: &Store, import: &PersonImport) -> Result<(), LedgerError> {
    let _turn = store.write_turn().await;
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for chunk in import.persons.chunks(500) {
        // A write first: on SQLite the transaction then holds the write lock (waiting for it like
        // any writer) before it reads, instead of failing to upgrade a read snapshot.
        insert_person_rows(&mut tx, chunk).await?;
        let merged = merged_persons(&mut tx, chunk, import.as_of).await?;
        delete_person_children(&mut tx, &merged).await?;
        insert_insu_rows(&mut tx, &merged).await?;
        insert_idet_rows(&mut tx, &merged).await?;
    }
    bump_registry_version(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// [`upsert_persons`] unless every imported person is stored already as the import would leave it:
/// then nothing is written and the registry version stays, so the ledger writer keeps its cached
/// persons (a person answered again by another platform, unchanged, costs two reads, no write).
/// Returns whether it wrote; a person number stored here for another identity document is
/// [`LedgerError::Conflict`] and nothing is written (person numbers are national, so such a
/// number is another platform's numbering clashing with this one's, never the same person).
pub async fn upsert_changed_persons(
    store: &Store,
    import: &PersonImport,
) -> Result<bool, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut changed = false;
    for imported in &import.persons {
        let stored = person(&mut conn, &imported.psn_no).await?;
        if let Some(stored) = &stored {
            refuse_another_person(stored, imported)?;
        }
        changed |= stored.is_none_or(|stored| import_changes(&stored, imported, import.as_of));
    }
    if changed {
        drop(conn);
        upsert_persons(store, import).await?;
    }
    Ok(changed)
}

/// [`LedgerError::Conflict`] when `stored` and `imported` share a person number but not an
/// identity document (the message names neither document).
fn refuse_another_person(stored: &Person, imported: &Person) -> Result<(), LedgerError> {
    let same = stored.psn_cert_type == imported.psn_cert_type && stored.certno == imported.certno;
    if same {
        return Ok(());
    }
    Err(LedgerError::Conflict(format!(
        "人员编号 {} 在本平台已登记为证件不同的另一参保人，未予登记；请联系医保经办机构核对人员编号",
        imported.psn_no
    )))
}

/// Whether importing `imported` as of `as_of` would change the stored person (its rows compared
/// as sets: by insutype, and by identity type and begin).
fn import_changes(stored: &Person, imported: &Person, as_of: NaiveDate) -> bool {
    let merged = Person {
        insu: merged_insu(stored.insu.clone(), &imported.insu, as_of),
        idet: merged_idet(stored.idet.clone(), &imported.idet, as_of),
        ..imported.clone()
    };
    let in_order = |mut person: Person| {
        person
            .insu
            .sort_by(|a, b| a.insutype.as_str().cmp(b.insutype.as_str()));
        person.idet.sort_by(|a, b| {
            (a.psn_idet_type.as_str(), a.begntime).cmp(&(b.psn_idet_type.as_str(), b.begntime))
        });
        person
    };
    in_order(merged) != in_order(stored.clone())
}

/// The imported persons with their stored children merged in.
async fn merged_persons(
    conn: &mut AnyConnection,
    persons: &[Person],
    as_of: NaiveDate,
) -> Result<Vec<Person>, LedgerError> {
    let (mut insu, mut idet) = stored_children(conn, persons).await?;
    persons
        .iter()
        .map(|p| {
            Ok(Person {
                insu: merged_insu(insu.remove(&p.psn_no).unwrap_or_default(), &p.insu, as_of),
                idet: merged_idet(idet.remove(&p.psn_no).unwrap_or_default(), &p.idet, as_of),
                ..p.clone()
            })
        })
        .collect()
}

type Children<T> = HashMap<String, Vec<T>>;

/// The stored insurance rows and identity periods of `persons`, by `psn_no`.
async fn stored_children(
    conn: &mut AnyConnection,
    persons: &[Person],
) -> Result<(Children<InsuRow>, Children<IdentityPeriod>), LedgerError> {
    let list = (1..=persons.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",");
    let insu_sql = format!(
        "SELECT psn_no, {INSU_COLUMNS} FROM person_insu WHERE psn_no IN ({list}) ORDER BY psn_no, insutype"
    );
    let idet_sql = format!(
        "SELECT psn_no, {IDET_COLUMNS} FROM person_idet WHERE psn_no IN ({list}) \
         ORDER BY psn_no, psn_idet_type, begntime"
    );
    let mut insu: Children<InsuRow> = HashMap::new();
    for row in &bind_psn_nos(&insu_sql, persons)
        .fetch_all(&mut *conn)
        .await?
    {
        insu.entry(row.try_get("psn_no")?)
            .or_default()
            .push(insu_of(row)?);
    }
    let mut idet: Children<IdentityPeriod> = HashMap::new();
    for row in &bind_psn_nos(&idet_sql, persons)
        .fetch_all(&mut *conn)
        .await?
    {
        idet.entry(row.try_get("psn_no")?)
            .or_default()
            .push(idet_of(row)?);
    }
    Ok((insu, idet))
}

fn bind_psn_nos<'q>(
    sql: &'q str,
    persons: &[Person],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    persons
        .iter()
        .fold(sqlx::query(sql), |query, p| query.bind(p.psn_no.clone()))
}

/// The insurance rows after an import as of `as_of`: the imported rows, and every stored row of
/// another insutype with its insured period ended the day before `as_of` (if it was open or ended
/// later).
fn merged_insu(stored: Vec<InsuRow>, imported: &[InsuRow], as_of: NaiveDate) -> Vec<InsuRow> {
    let mut rows = imported.to_vec();
    for row in stored {
        if imported.iter().any(|r| r.insutype == row.insutype) {
            continue;
        }
        rows.push(InsuRow {
            insu_endtime: Some(ended_before(row.insu_endtime, as_of)),
            ..row
        });
    }
    rows
}

/// The identity periods after an import as of `as_of`, by type and begin. Stored periods of a type
/// the import leaves out end the day before `as_of`. An imported period with a begin replaces the
/// stored one of that type and begin; one without a begin (as person CSV rows give them) continues
/// the stored period of its type that holds on `as_of`, else starts on `as_of` — or, for a type
/// the person never had, holds from any date.
fn merged_idet(
    stored: Vec<IdentityPeriod>,
    imported: &[IdentityPeriod],
    as_of: NaiveDate,
) -> Vec<IdentityPeriod> {
    type Key = (Code, Option<NaiveDate>);
    let mut periods: BTreeMap<Key, Option<NaiveDate>> = BTreeMap::new();
    for p in &stored {
        let endtime = if imported.iter().any(|i| i.psn_idet_type == p.psn_idet_type) {
            p.endtime
        } else {
            Some(ended_before(p.endtime, as_of))
        };
        periods.insert((p.psn_idet_type, p.begntime), endtime);
    }
    for p in imported {
        let mut of_type = stored.iter().filter(|s| s.psn_idet_type == p.psn_idet_type);
        let begntime = if p.begntime.is_some() || of_type.clone().next().is_none() {
            p.begntime
        } else if of_type.any(|s| s.holds_on(as_of)) {
            continue;
        } else {
            Some(as_of)
        };
        periods.insert((p.psn_idet_type, begntime), p.endtime);
    }
    periods
        .into_iter()
        .map(|((psn_idet_type, begntime), endtime)| IdentityPeriod {
            psn_idet_type,
            begntime,
            endtime,
        })
        .collect()
}

/// A period end (`None` while open) ended no later than the day before `as_of`.
fn ended_before(end: Option<NaiveDate>, as_of: NaiveDate) -> NaiveDate {
    let last = as_of.pred_opt().unwrap_or(as_of);
    match end {
        Some(end) if end <= last => end,
        _ => last,
    }
}

/// Tells the writer's cache that persons changed (see [`crate::LedgerCache`]).
async fn bump_registry_version(conn: &mut AnyConnection) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO id_counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = id_counters.value + 1",
    )
    .bind(crate::cache::REGISTRY_VERSION)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_person_rows(
    conn: &mut AnyConnection,
    persons: &[Person],
) -> Result<(), LedgerError> {
    let sql = format!(
        "INSERT INTO persons (psn_no, psn_cert_type, certno, psn_name, gend, brdy) VALUES {} \
         ON CONFLICT (psn_no) DO UPDATE SET psn_cert_type = excluded.psn_cert_type, certno = excluded.certno, \
         psn_name = excluded.psn_name, gend = excluded.gend, brdy = excluded.brdy",
        values_placeholders(persons.len(), 6)
    );
    let mut query = sqlx::query(&sql);
    for p in persons {
        query = query
            .bind(p.psn_no.clone())
            .bind(p.psn_cert_type.to_string())
            .bind(p.certno.clone())
            .bind(p.psn_name.clone())
            .bind(p.gend.to_string())
            .bind(p.brdy.to_string());
    }
    query.execute(conn).await?;
    Ok(())
}

async fn delete_person_children(
    conn: &mut AnyConnection,
    persons: &[Person],
) -> Result<(), LedgerError> {
    let list = (1..=persons.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",");
    for table in ["person_insu", "person_idet"] {
        let sql = format!("DELETE FROM {table} WHERE psn_no IN ({list})");
        let mut query = sqlx::query(&sql);
        for p in persons {
            query = query.bind(p.psn_no.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_insu_rows(conn: &mut AnyConnection, persons: &[Person]) -> Result<(), LedgerError> {
    let rows: Vec<(&str, &InsuRow)> = persons
        .iter()
        .flat_map(|p| p.insu.iter().map(move |r| (p.psn_no.as_str(), r)))
        .collect();
    for chunk in rows.chunks(rows_per_insert(10)) {
        let sql = format!(
            "INSERT INTO person_insu (psn_no, insutype, psn_type, psn_insu_stas, psn_insu_date, insu_endtime, \
             benefit_begndate, insuplc_admdvs, cvlserv_flag, opening_balc) VALUES {}",
            values_placeholders(chunk.len(), 10)
        );
        let mut query = sqlx::query(&sql);
        for (psn_no, r) in chunk {
            query = query
                .bind(psn_no.to_string())
                .bind(r.insutype.to_string())
                .bind(r.psn_type.to_string())
                .bind(r.psn_insu_stas.code())
                .bind(r.psn_insu_date.to_string())
                .bind(columns::date_text(r.insu_endtime))
                .bind(columns::date_text(r.benefit_begndate))
                .bind(r.insuplc_admdvs.to_string())
                .bind(columns::flag_text(r.cvlserv_flag))
                .bind(r.opening_balc.fen());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_idet_rows(conn: &mut AnyConnection, persons: &[Person]) -> Result<(), LedgerError> {
    let rows: Vec<(&str, &IdentityPeriod)> = persons
        .iter()
        .flat_map(|p| p.idet.iter().map(move |r| (p.psn_no.as_str(), r)))
        .collect();
    for chunk in rows.chunks(rows_per_insert(4)) {
        let sql = format!(
            "INSERT INTO person_idet (psn_no, psn_idet_type, begntime, endtime) VALUES {}",
            values_placeholders(chunk.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for (psn_no, r) in chunk {
            query = query
                .bind(psn_no.to_string())
                .bind(r.psn_idet_type.to_string())
                .bind(columns::date_text(r.begntime))
                .bind(columns::date_text(r.endtime));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One person by `psn_no`, with insurance rows and identity periods.
pub async fn person(conn: &mut AnyConnection, psn_no: &str) -> Result<Option<Person>, LedgerError> {
    let row = sqlx::query(
        "SELECT psn_no, psn_cert_type, certno, psn_name, gend, brdy FROM persons WHERE psn_no = $1",
    )
    .bind(psn_no.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(person_with_children(conn, &row).await?)),
        None => Ok(None),
    }
}

/// One person by certificate number (1101 lookups).
pub async fn person_by_certno(
    conn: &mut AnyConnection,
    certno: &str,
) -> Result<Option<Person>, LedgerError> {
    let row = sqlx::query(
        "SELECT psn_no, psn_cert_type, certno, psn_name, gend, brdy FROM persons WHERE certno = $1",
    )
    .bind(certno.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(person_with_children(conn, &row).await?)),
        None => Ok(None),
    }
}

async fn person_with_children(
    conn: &mut AnyConnection,
    row: &AnyRow,
) -> Result<Person, LedgerError> {
    let psn_no: String = row.try_get("psn_no")?;
    let insu = sqlx::query(&format!(
        "SELECT psn_no, {INSU_COLUMNS} FROM person_insu WHERE psn_no = $1 ORDER BY insutype"
    ))
    .bind(psn_no.clone())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(insu_of)
    .collect::<Result<Vec<_>, LedgerError>>()?;
    let idet = sqlx::query(&format!(
        "SELECT psn_no, {IDET_COLUMNS} FROM person_idet WHERE psn_no = $1 ORDER BY psn_idet_type, begntime"
    ))
    .bind(psn_no.clone())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(idet_of)
    .collect::<Result<Vec<_>, LedgerError>>()?;
    let stored = KeyedRow::new(row, "persons", "psn_no")?;
    Ok(Person {
        psn_no,
        psn_cert_type: stored.parsed("psn_cert_type", columns::parse_code)?,
        certno: row.try_get("certno")?,
        psn_name: row.try_get("psn_name")?,
        gend: stored.parsed("gend", |text| {
            columns::parse_code(text).map(Gend::from_code)
        })?,
        brdy: stored.parsed("brdy", columns::parse_date)?,
        insu,
        idet,
    })
}

/// The columns [`insu_of`] reads besides `psn_no`.
const INSU_COLUMNS: &str = "insutype, psn_type, psn_insu_stas, psn_insu_date, insu_endtime, \
    benefit_begndate, insuplc_admdvs, cvlserv_flag, opening_balc";

/// The columns [`idet_of`] reads besides `psn_no`.
const IDET_COLUMNS: &str = "psn_idet_type, begntime, endtime";

/// An identity period read with [`IDET_COLUMNS`] (and `psn_no`), a damaged value being
/// [`LedgerError::Corrupt`] naming the column and the person.
fn idet_of(row: &AnyRow) -> Result<IdentityPeriod, LedgerError> {
    let stored = KeyedRow::new(row, "person_idet", "psn_no")?;
    Ok(IdentityPeriod {
        psn_idet_type: stored.parsed("psn_idet_type", columns::parse_code)?,
        begntime: stored.parsed("begntime", columns::parse_optional_date)?,
        endtime: stored.parsed("endtime", columns::parse_optional_date)?,
    })
}

/// An insurance row read with [`INSU_COLUMNS`] (and `psn_no`): every code, date and flag parsed
/// once; a value that does not parse is [`LedgerError::Corrupt`] naming the column and the person.
fn insu_of(row: &AnyRow) -> Result<InsuRow, LedgerError> {
    let stored = KeyedRow::new(row, "person_insu", "psn_no")?;
    Ok(InsuRow {
        insutype: stored.parsed("insutype", columns::table_code(Insutype::from_code))?,
        psn_type: stored.parsed("psn_type", |text| {
            columns::parse_code(text).map(PsnType::from_code)
        })?,
        psn_insu_stas: stored.parsed("psn_insu_stas", InsuStatus::from_code)?,
        psn_insu_date: stored.parsed("psn_insu_date", columns::parse_date)?,
        insu_endtime: stored.parsed("insu_endtime", columns::parse_optional_date)?,
        benefit_begndate: stored.parsed("benefit_begndate", columns::parse_optional_date)?,
        insuplc_admdvs: stored.parsed("insuplc_admdvs", columns::parse_code)?,
        cvlserv_flag: stored.parsed("cvlserv_flag", columns::parse_optional_flag)?,
        opening_balc: Fen(row.try_get("opening_balc")?),
    })
}

/// Which registry document table: policies or catalogues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Policy,
    Catalog,
}

impl Document {
    fn table(self) -> &'static str {
        match self {
            Document::Policy => "policies",
            Document::Catalog => "catalogs",
        }
    }
}

/// Stores the source text of a policy (TOML) or catalogue (CSV) for a pooling region, replacing the
/// old one (a catalogue import goes through [`put_catalog`], which also keeps it as a version).
pub async fn put_document(
    store: &Store,
    kind: Document,
    admdvs: &str,
    source: &str,
    loaded_at: &str,
) -> Result<(), LedgerError> {
    let sql = format!(
        "INSERT INTO {} (admdvs, source, loaded_at) VALUES ($1, $2, $3) \
         ON CONFLICT (admdvs) DO UPDATE SET source = excluded.source, loaded_at = excluded.loaded_at",
        kind.table()
    );
    sqlx::query(&sql)
        .bind(admdvs.to_string())
        .bind(source.to_string())
        .bind(loaded_at.to_string())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Every stored document of a kind, as `(admdvs, source)`.
pub async fn documents(
    conn: &mut AnyConnection,
    kind: Document,
) -> Result<Vec<(String, String)>, LedgerError> {
    let sql = format!(
        "SELECT admdvs, source FROM {} ORDER BY admdvs",
        kind.table()
    );
    let rows = sqlx::query(&sql).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("admdvs")?, r.try_get("source")?)))
        .collect()
}

/// One imported catalogue (`catalog_versions`) or code table (`code_table_versions`) of a pooling
/// region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersion {
    /// 1, 2, … per region, in import order.
    pub ver: i64,
    /// The day it takes effect, `yyyy-MM-dd`.
    pub begndate: String,
    /// When it was imported, `yyyy-MM-dd HH:mm:ss`.
    pub loaded_at: String,
    /// The catalogue text as imported.
    pub source: String,
}

/// Stores a catalogue as the region's current one and as its next version, effective from
/// `begndate`; returns the version. A text equal to the current version's is not a new version.
pub async fn put_catalog(
    store: &Store,
    admdvs: &str,
    source: &str,
    begndate: &str,
    loaded_at: &str,
) -> Result<i64, LedgerError> {
    // The write comes first, so the transaction holds SQLite's write lock before it reads (a read
    // first would have to upgrade its lock, which fails at once when another write came between).
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO catalogs (admdvs, source, loaded_at) VALUES ($1, $2, $3) \
         ON CONFLICT (admdvs) DO UPDATE SET source = excluded.source, loaded_at = excluded.loaded_at",
    )
    .bind(admdvs.to_string())
    .bind(source.to_string())
    .bind(loaded_at.to_string())
    .execute(&mut *tx)
    .await?;
    let ver = append_version(
        &mut tx,
        "catalog_versions",
        &[("admdvs", admdvs)],
        &VersionText {
            source,
            begndate,
            loaded_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ver)
}

/// A versioned text and when it takes effect and was imported.
struct VersionText<'a> {
    source: &'a str,
    begndate: &'a str,
    loaded_at: &'a str,
}

/// Appends `text` as the next version of the rows of `table` keyed by `key` (columns and values);
/// a text equal to the latest version's is no new version. Returns the version.
async fn append_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    key: &[(&str, &str)],
    text: &VersionText<'_>,
) -> Result<i64, LedgerError> {
    let conditions: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ${}", i + 1))
        .collect();
    let select = format!(
        "SELECT ver, source FROM {table} WHERE {} ORDER BY ver DESC LIMIT 1",
        conditions.join(" AND ")
    );
    let mut latest = sqlx::query(&select);
    for (_, value) in key {
        latest = latest.bind(value.to_string());
    }
    let latest = latest.fetch_optional(&mut **tx).await?;
    let (latest_ver, latest_source): (i64, String) = match latest {
        Some(row) => (row.try_get("ver")?, row.try_get("source")?),
        None => (0, String::new()),
    };
    if latest_ver > 0 && latest_source == text.source {
        return Ok(latest_ver);
    }
    let ver = latest_ver + 1;
    let columns: Vec<&str> = key.iter().map(|(column, _)| *column).collect();
    let insert = format!(
        "INSERT INTO {table} ({}, ver, begndate, loaded_at, source) VALUES ({})",
        columns.join(", "),
        (1..=key.len() + 4)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut insert = sqlx::query(&insert);
    for (_, value) in key {
        insert = insert.bind(value.to_string());
    }
    insert
        .bind(ver)
        .bind(text.begndate.to_string())
        .bind(text.loaded_at.to_string())
        .bind(text.source.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(ver)
}

/// Stores a code table (1307–1315) of a pooling region as its next version, effective from
/// `begndate`; returns the version. A text equal to the latest version's is not a new version.
pub async fn put_code_table(
    store: &Store,
    admdvs: &str,
    infno: &str,
    source: &str,
    begndate: &str,
    loaded_at: &str,
) -> Result<i64, LedgerError> {
    let mut tx = store.pool().begin().await?;
    // A write first (it changes nothing), so the transaction holds SQLite's write lock before it
    // reads, as `put_catalog`'s does.
    sqlx::query("DELETE FROM code_table_versions WHERE ver < 0")
        .execute(&mut *tx)
        .await?;
    let ver = append_version(
        &mut tx,
        "code_table_versions",
        &[("admdvs", admdvs), ("infno", infno)],
        &VersionText {
            source,
            begndate,
            loaded_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ver)
}

/// Every imported version of a code table of a region, oldest first (as [`CatalogVersion`]s).
pub async fn code_table_versions(
    conn: &mut AnyConnection,
    admdvs: &str,
    infno: &str,
) -> Result<Vec<CatalogVersion>, LedgerError> {
    let rows = sqlx::query(
        "SELECT ver, begndate, loaded_at, source FROM code_table_versions \
         WHERE admdvs = $1 AND infno = $2 ORDER BY ver",
    )
    .bind(admdvs.to_string())
    .bind(infno.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(version_of_row).collect()
}

/// Every imported catalogue of a region, oldest first.
pub async fn catalog_versions(
    conn: &mut AnyConnection,
    admdvs: &str,
) -> Result<Vec<CatalogVersion>, LedgerError> {
    let rows = sqlx::query(
        "SELECT ver, begndate, loaded_at, source FROM catalog_versions \
         WHERE admdvs = $1 ORDER BY ver",
    )
    .bind(admdvs.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(version_of_row).collect()
}

fn version_of_row(row: &sqlx::any::AnyRow) -> Result<CatalogVersion, LedgerError> {
    Ok(CatalogVersion {
        ver: row.try_get("ver")?,
        begndate: row.try_get("begndate")?,
        loaded_at: row.try_get("loaded_at")?,
        source: row.try_get("source")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn optional_day(text: &str) -> Option<NaiveDate> {
        (!text.is_empty()).then(|| day(text))
    }

    fn insu(insutype: &str, end: &str) -> InsuRow {
        InsuRow {
            insutype: Insutype::from_code(Code::lit(insutype)),
            psn_type: PsnType::InService,
            psn_insu_stas: InsuStatus::Normal,
            psn_insu_date: day("2015-01-01"),
            insu_endtime: optional_day(end),
            benefit_begndate: None,
            insuplc_admdvs: Code::lit("360400"),
            cvlserv_flag: false,
            opening_balc: Fen(100),
        }
    }

    fn idet(code: &str, begin: &str, end: &str) -> IdentityPeriod {
        IdentityPeriod {
            psn_idet_type: Code::lit(code),
            begntime: optional_day(begin),
            endtime: optional_day(end),
        }
    }

    #[test]
    fn insurance_rows_left_out_end_the_day_before() {
        let as_of = day("2026-07-01");
        let stored = vec![
            insu("310", ""),
            insu("320", "2030-12-31"),
            insu("330", "2020-06-30"),
            insu("390", ""),
        ];
        let imported = vec![insu("390", "2026-12-31")];
        let merged = merged_insu(stored, &imported, as_of);
        let ends: Vec<(&str, Option<NaiveDate>)> = merged
            .iter()
            .map(|r| (r.insutype.as_str(), r.insu_endtime))
            .collect();
        assert_eq!(
            ends,
            [
                ("390", Some(day("2026-12-31"))),
                ("310", Some(day("2026-06-30"))),
                ("320", Some(day("2026-06-30"))),
                ("330", Some(day("2020-06-30"))),
            ]
        );
        assert_eq!(merged[1].opening_balc, Fen(100));
    }

    #[test]
    fn identities_end_and_restart_instead_of_vanishing() {
        let as_of = day("2026-07-01");
        // Left out: ended the day before.
        let ended = merged_idet(vec![idet("DB", "", "")], &[], as_of);
        assert_eq!(ended, [idet("DB", "", "2026-06-30")]);
        // Listed again while it holds: unchanged (a repeated import changes nothing).
        let kept = merged_idet(vec![idet("DB", "", "")], &[idet("DB", "", "")], as_of);
        assert_eq!(kept, [idet("DB", "", "")]);
        // Listed again after it ended: a new period from the as-of date; the old one stays.
        let again = merged_idet(ended.clone(), &[idet("DB", "", "")], day("2026-09-01"));
        assert_eq!(
            again,
            [idet("DB", "", "2026-06-30"), idet("DB", "2026-09-01", "")]
        );
        // Left out and listed again on the same day: the period reopens.
        let same_day = merged_idet(again.clone(), &[], day("2026-09-01"));
        let reopened = merged_idet(same_day, &[idet("DB", "", "")], day("2026-09-01"));
        assert_eq!(reopened, again);
        // A type never held before holds from any date, as on a first import.
        let first = merged_idet(Vec::new(), &[idet("TK", "", "")], as_of);
        assert_eq!(first, [idet("TK", "", "")]);
    }
}
