//! 9001 签到 / 9002 签退 and 1101 人员信息获取, 5206 人员累计信息查询.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use yibao_domain::codes::{Insutype, PsnType};
use yibao_domain::{Code, Fen};
use yibao_ledger::LedgerView;
use yibao_ledger::{entries, registry, InsuStatus, Person};
use yibao_settlement::AccKey;
use yibao_wire::lenient;
use yibao_wire::render::Yuan;

use super::common::{self, node, parse};
use super::render::{age_on, date_text, flag_text};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// 9001 签到: issues a sign-in serial.
pub async fn sign_in(ctx: &Ctx<'_>) -> Result<TxOutput, TxError> {
    let sign_no = format!(
        "{}{:010}",
        ctx.now.format("%Y%m%d%H%M%S"),
        ctx.shared.next_serial()
    );
    let output = json!({ "signinoutb": { "sign_time": wire_time(ctx.now), "sign_no": sign_no } });
    Ok(TxOutput::read(common::to_output(&output)?))
}

/// 9002 签退.
pub async fn sign_out(ctx: &Ctx<'_>) -> Result<TxOutput, TxError> {
    let output = json!({ "signoutoutb": { "sign_time": wire_time(ctx.now) } });
    Ok(TxOutput::read(common::to_output(&output)?))
}

#[derive(Deserialize)]
struct PersonQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_cert_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_cert_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    certno: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_name: Option<String>,
}

/// `mdtrt_cert_type` 01 医保电子凭证.
const CERT_EVOUCHER: &str = "01";

/// The person of a 1101 query: by e-voucher token (type 01, the token alone), else by certificate
/// number, else by the credential number (ID number, card number or `psn_no`).
async fn find_person(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    query: &PersonQuery,
) -> Result<Person, TxError> {
    if query.mdtrt_cert_type.as_deref() == Some(CERT_EVOUCHER) {
        return voucher_person(ctx, ledger, query).await;
    }
    if let Some(certno) = &query.certno {
        if let Some(found) = registry::person_by_certno(ledger.conn(), certno).await? {
            return Ok(found);
        }
        return Err(TxError::new(
            "input.data.certno",
            format!("证件号码 {certno} 下没有登记的参保人"),
        ));
    }
    let cert_no = query
        .mdtrt_cert_no
        .as_deref()
        .ok_or_else(|| TxError::new("input.data.mdtrt_cert_no", "证件号码为空时必填"))?;
    if let Some(found) = registry::person_by_certno(ledger.conn(), cert_no).await? {
        return Ok(found);
    }
    if let Some(found) = ledger.person(cert_no).await? {
        return Ok(found);
    }
    let kind = query.mdtrt_cert_type.as_deref().unwrap_or("");
    Err(TxError::new(
        "input.data.mdtrt_cert_no",
        format!("没有与该凭证（就诊凭证类型 {kind}）相符的参保人"),
    ))
}

/// The person an e-voucher token stands for; a `certno` sent with it must be theirs.
async fn voucher_person(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    query: &PersonQuery,
) -> Result<Person, TxError> {
    const FIELD: &str = "input.data.mdtrt_cert_no";
    let token = query.mdtrt_cert_no.as_deref().ok_or_else(|| {
        TxError::new(FIELD, "就诊凭证类型为 01（医保电子凭证）时必填电子凭证令牌")
    })?;
    let now_secs = chrono::Utc::now().timestamp();
    let psn_no = ctx
        .shared
        .vouchers
        .resolve(token, now_secs)
        .map_err(|e| TxError::new(FIELD, e.to_string()))?;
    let person = common::registered_person(ledger, FIELD, &psn_no).await?;
    if let Some(certno) = query.certno.as_deref().filter(|c| *c != person.certno) {
        return Err(TxError::new(
            "input.data.certno",
            format!("证件号码 {certno} 与电子凭证所属参保人不符"),
        ));
    }
    Ok(person)
}

#[derive(Serialize)]
struct InsuInfo {
    balc: Yuan,
    insutype: Insutype,
    psn_type: PsnType,
    psn_insu_stas: InsuStatus,
    psn_insu_date: NaiveDate,
    paus_insu_date: &'static str,
    cvlserv_flag: &'static str,
    insuplc_admdvs: Code,
    emp_name: &'static str,
}

/// 1101 人员信息获取: `baseinfo`, one `insuinfo` row per insurance type, `idetinfo`.
pub async fn person_info(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let query: PersonQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let person = find_person(ctx, ledger, &query).await?;
    if let Some(name) = query.psn_name.as_deref().filter(|n| *n != person.psn_name) {
        return Err(TxError::new(
            "input.data.psn_name",
            format!("姓名 {name} 与参保登记的姓名不符"),
        ));
    }
    let paid = entries::account_paid_by_insutype(ledger.conn(), &person.psn_no).await?;
    let insuinfo: Vec<InsuInfo> = person
        .insu
        .iter()
        .map(|row| {
            let spent: Fen = paid
                .iter()
                .filter(|(t, _)| t.as_str() == row.insutype.as_str())
                .map(|(_, f)| *f)
                .sum();
            InsuInfo {
                balc: Yuan(row.opening_balc - spent),
                insutype: row.insutype,
                psn_type: row.psn_type,
                psn_insu_stas: row.psn_insu_stas,
                psn_insu_date: row.psn_insu_date,
                paus_insu_date: "",
                cvlserv_flag: flag_text(row.cvlserv_flag),
                insuplc_admdvs: row.insuplc_admdvs,
                emp_name: "",
            }
        })
        .collect();
    let idetinfo: Vec<serde_json::Value> = person
        .idet
        .iter()
        .map(|p| json!({ "psn_idet_type": p.psn_idet_type, "psn_type_lv": "", "memo": "", "begntime": date_text(p.begntime), "endtime": date_text(p.endtime) }))
        .collect();
    #[derive(Serialize)]
    struct Output {
        baseinfo: serde_json::Value,
        insuinfo: Vec<InsuInfo>,
        idetinfo: Vec<serde_json::Value>,
    }
    let age = age_on(person.brdy, ctx.now.date());
    let baseinfo = json!({
        "psn_no": person.psn_no, "psn_cert_type": person.psn_cert_type, "certno": person.certno,
        "psn_name": person.psn_name, "gend": person.gend, "naty": "", "brdy": person.brdy,
        "age": age, "exp_content": "",
    });
    Ok(TxOutput::read(common::to_output(&Output {
        baseinfo,
        insuinfo,
        idetinfo,
    })?))
}

#[derive(Deserialize)]
struct CumQuery {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cum_ym: Option<String>,
}

#[derive(Serialize)]
struct CumRow {
    insutype: String,
    year: String,
    cum_ym: String,
    cum_type_code: String,
    cum: Yuan,
}

/// Whether an accumulator key is one of the national 5206 codes (internal keys are not reported).
fn is_national_code(key: AccKey) -> bool {
    match key {
        AccKey::Admissions | AccKey::MedicalExpense | AccKey::Deductible => true,
        AccKey::FundPaid(fund) => fund.as_bytes().iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// 5206 人员累计信息查询: the person's national accumulators of the year of `cum_ym`.
pub async fn accumulators(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let query: CumQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    common::registered_person(ledger, "input.data.psn_no", &query.psn_no).await?;
    let cum_ym = query
        .cum_ym
        .unwrap_or_else(|| ctx.now.format("%Y%m").to_string());
    let year: i64 = cum_ym
        .get(..4)
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| {
            TxError::new(
                "input.data.cum_ym",
                format!("{cum_ym} 不是 yyyyMM 格式的年月"),
            )
        })?;
    let totals = entries::person_totals(ledger.conn(), &query.psn_no, year).await?;
    let cuminfo: Vec<CumRow> = totals
        .into_iter()
        .filter(|t| is_national_code(t.acc_key))
        .map(|t| {
            let cum = if t.acc_key == AccKey::Admissions {
                Fen(t.amount * 100)
            } else {
                Fen(t.amount)
            };
            CumRow {
                insutype: t.insutype,
                year: t.year.to_string(),
                cum_ym: cum_ym.clone(),
                cum_type_code: t.acc_key.to_string(),
                cum: Yuan(cum),
            }
        })
        .collect();
    #[derive(Serialize)]
    struct Output {
        cuminfo: Vec<CumRow>,
    }
    Ok(TxOutput::read(common::to_output(&Output { cuminfo })?))
}
