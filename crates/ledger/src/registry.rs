//! The registry: institutions and their gateway keys, persons, policies and catalogues.
//! Writes replace whole records (upserts) inside one transaction per call.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::Fen;

use crate::sql::{rows_per_insert, values_placeholders};
use crate::{AccessKey, IdentityPeriod, Institution, InsuRow, LedgerError, Person, Store};

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
                .bind(i.fixmedins_type.clone())
                .bind(i.hosp_lv.clone())
                .bind(i.admdvs.clone());
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

fn institution_of(row: &AnyRow) -> Result<Institution, LedgerError> {
    Ok(Institution {
        fixmedins_code: row.try_get("fixmedins_code")?,
        fixmedins_name: row.try_get("fixmedins_name")?,
        fixmedins_type: row.try_get("fixmedins_type")?,
        hosp_lv: row.try_get("hosp_lv")?,
        admdvs: row.try_get("admdvs")?,
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

/// Inserts or replaces persons, each with all of its insurance rows and identity periods.
pub async fn upsert_persons(store: &Store, persons: &[Person]) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for chunk in persons.chunks(500) {
        insert_person_rows(&mut tx, chunk).await?;
        delete_person_children(&mut tx, chunk).await?;
        insert_insu_rows(&mut tx, chunk).await?;
        insert_idet_rows(&mut tx, chunk).await?;
    }
    bump_registry_version(&mut tx).await?;
    tx.commit().await?;
    Ok(())
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
            .bind(p.psn_cert_type.clone())
            .bind(p.certno.clone())
            .bind(p.psn_name.clone())
            .bind(p.gend.clone())
            .bind(p.brdy.clone());
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
                .bind(r.insutype.clone())
                .bind(r.psn_type.clone())
                .bind(r.psn_insu_stas.clone())
                .bind(r.psn_insu_date.clone())
                .bind(r.insu_endtime.clone())
                .bind(r.benefit_begndate.clone())
                .bind(r.insuplc_admdvs.clone())
                .bind(r.cvlserv_flag.clone())
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
                .bind(r.psn_idet_type.clone())
                .bind(r.begntime.clone())
                .bind(r.endtime.clone());
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
    let insu = sqlx::query(
        "SELECT insutype, psn_type, psn_insu_stas, psn_insu_date, insu_endtime, benefit_begndate, insuplc_admdvs, \
         cvlserv_flag, opening_balc FROM person_insu WHERE psn_no = $1 ORDER BY insutype",
    )
    .bind(psn_no.clone())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(insu_of)
    .collect::<Result<Vec<_>, LedgerError>>()?;
    let idet = sqlx::query(
        "SELECT psn_idet_type, begntime, endtime FROM person_idet WHERE psn_no = $1 ORDER BY psn_idet_type, begntime",
    )
    .bind(psn_no.clone())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(IdentityPeriod {
            psn_idet_type: r.try_get("psn_idet_type")?,
            begntime: r.try_get("begntime")?,
            endtime: r.try_get("endtime")?,
        })
    })
    .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(Person {
        psn_no,
        psn_cert_type: row.try_get("psn_cert_type")?,
        certno: row.try_get("certno")?,
        psn_name: row.try_get("psn_name")?,
        gend: row.try_get("gend")?,
        brdy: row.try_get("brdy")?,
        insu,
        idet,
    })
}

fn insu_of(row: &AnyRow) -> Result<InsuRow, LedgerError> {
    Ok(InsuRow {
        insutype: row.try_get("insutype")?,
        psn_type: row.try_get("psn_type")?,
        psn_insu_stas: row.try_get("psn_insu_stas")?,
        psn_insu_date: row.try_get("psn_insu_date")?,
        insu_endtime: row.try_get("insu_endtime")?,
        benefit_begndate: row.try_get("benefit_begndate")?,
        insuplc_admdvs: row.try_get("insuplc_admdvs")?,
        cvlserv_flag: row.try_get("cvlserv_flag")?,
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

/// Stores the source text of a policy (TOML) or catalogue (CSV) for a pooling region, replacing the old one.
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
