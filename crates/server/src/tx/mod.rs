//! The transactions behind `callService`, dispatched on `infno`. Every transaction works on a
//! [`LedgerView`]: read transactions on a view over a pooled connection; write transactions on the
//! ledger writer's view (see [`crate::writer`]), whose writes are kept only if the transaction
//! succeeds, so each is all-or-nothing and settlements of one person never interleave.

mod audit;
pub(crate) mod batch;
pub(crate) mod catalog;
mod clearing_confirm;
pub(crate) mod common;
mod fees;
pub mod files;
mod filing;
pub(crate) mod inpatient;
mod lookup;
mod mapping;
pub(crate) mod outpatient;
mod pharmacy;
mod query;
mod reconcile;
mod remote_filing;
pub(crate) mod render;
mod reverse;
mod session;
mod setl_list;
pub(crate) mod settle;
pub(crate) mod stay;

use chrono::{NaiveDateTime, SubsecRound};
use serde_json::value::RawValue;
use yibao_domain::Code;
use yibao_ledger::{Institution, LedgerView};

pub(crate) use common::insu_row;
use yibao_ledger::remote_filings::FilingSource;

use crate::envelope::Request;
use crate::error::TxError;
use crate::state::Shared;

/// Everything a transaction may read about its message.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub request: &'a Request,
    /// The registered institution named by `fixmedins_code`.
    pub institution: &'a Institution,
    /// When the message was received (settlement times, issued ids).
    pub now: NaiveDateTime,
}

impl Ctx<'_> {
    /// The message's `infno` as the code a ledger entry records.
    pub fn infno(&self) -> Result<Code, TxError> {
        common::code("infno", &self.request.infno)
    }

    /// The time a ledger entry made by this message records: its receive time, to the second.
    pub fn setl_time(&self) -> NaiveDateTime {
        self.now.trunc_subsecs(0)
    }
}

/// What a transaction did besides its reply, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Settled,
    Cancelled,
}

/// A successful transaction: its `output` and, for writes, what it created or changed.
pub struct TxOutput {
    pub output: Box<RawValue>,
    /// The `mdtrt_id` or `setl_id` affected (what a 2601 of this message reverses); empty for reads.
    pub effect_ref: String,
    pub effect: Effect,
    /// A file to answer as raw bytes instead of the reply envelope (9102).
    pub download: Option<files::Download>,
}

impl TxOutput {
    fn read(output: Box<RawValue>) -> TxOutput {
        TxOutput {
            output,
            effect_ref: String::new(),
            effect: Effect::None,
            download: None,
        }
    }

    /// The same output, answered on the HTTP layer as the bytes of `download`.
    fn with_download(self, download: files::Download) -> TxOutput {
        TxOutput {
            download: Some(download),
            ..self
        }
    }

    fn write(output: Box<RawValue>, effect_ref: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref,
            effect: Effect::None,
            download: None,
        }
    }

    fn settled(output: Box<RawValue>, setl_id: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref: setl_id,
            effect: Effect::Settled,
            download: None,
        }
    }

    fn cancelled(output: Box<RawValue>, setl_id: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref: setl_id,
            effect: Effect::Cancelled,
            download: None,
        }
    }
}

/// Whether a transaction only reads the ledger (run on a pooled connection; 9101, 3202 and
/// 1301–1306 store files there, which are not ledger state), changes it (run by the ledger writer)
/// or writes the institution's registry data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Writes registry data of the institution (目录对照) on a pooled connection in its own
    /// transaction, not through the settlement writer: sending it again leaves the same state.
    Registry,
}

/// What a 2601 冲正 of a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reversal {
    /// Cancels the settlement the message made (a negated mirror record).
    CancelSettlement,
    /// Cancels the admission the message registered.
    CancelAdmission,
    /// Undoes the cancellation the message made: the settlement is live again
    /// ([`settle::reinstate`]).
    ReinstateSettlement,
}

/// The kind of care a settlement transaction settles; its 清算类别 (`clr_type`) follows from the
/// visit's `med_type` ([`yibao_domain::codes::ClrType::of_med_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearing {
    Outpatient,
    Inpatient,
    Pharmacy,
}

/// The code that runs a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    SignIn,
    SignOut,
    PersonInfo,
    Accumulators,
    Register,
    CancelRegistration,
    VisitInfo,
    UploadOutpatientFees,
    CancelOutpatientFees,
    SettleOutpatient {
        store: bool,
    },
    Admit,
    Discharge,
    ChangeAdmission,
    CancelAdmission,
    CancelDischarge,
    UploadInpatientFees,
    CancelInpatientFees,
    SettleInpatient {
        store: bool,
    },
    SettlePharmacy {
        store: bool,
    },
    /// Cancels a settlement made by the named transaction.
    CancelSettlement {
        of: &'static str,
    },
    Reverse,
    SettlementInfo,
    FeeDetails,
    ReconcileTotals,
    ReconcileDetail,
    TreatmentCheck,
    VisitHistory,
    Diagnoses,
    ChronicDrugs,
    InHospital,
    Institutions,
    FileUpload,
    FileDownload,
    /// 1301–1303, 1305–1311, 1313–1315: what is listed and the layout are what
    /// `catalog::DOWNLOADS` says for the `infno`.
    CatalogDownload,
    CatalogQuery(catalog::CatalogQueryKind),
    Dictionary,
    UploadMappings,
    MappingQuery,
    RevokeMappings,
    FileCondition,
    CancelCondition,
    ConditionFilings,
    UploadSettlementList,
    SettlementList,
    /// 2501 / 2505: files in the 异地就医 register.
    FileRemote(FilingSource),
    /// 2502 / 2506: cancels such a filing.
    CancelRemote(FilingSource),
    Analyse(audit::Stage),
    AuditFeedback,
    /// 3260: the institution's inbound 省内异地 settlements of a month.
    ClearingRows,
    /// 3261: confirms or excludes them for clearing.
    ConfirmClearing,
    /// 3262: rolls a confirmation batch back.
    RollBackConfirmation,
}

/// One transaction of the national interface that this service implements.
#[derive(Debug, Clone, Copy)]
pub struct TxSpec {
    pub infno: &'static str,
    /// The national name.
    pub name: &'static str,
    pub access: Access,
    /// What a 2601 of one of its messages does; `None`: it cannot be reversed.
    pub reversal: Option<Reversal>,
    /// For settlements (and their cancellations), the kind of care.
    pub clearing: Option<Clearing>,
    handler: Handler,
}

impl TxSpec {
    /// Whether a suspended or terminated agreement refuses it: every write that takes care or
    /// settles (registration, admission, fee upload, settlement), not the ones that undo (撤销,
    /// 2601) nor reads.
    pub fn needs_agreement(&self) -> bool {
        self.access == Access::Write
            && !matches!(
                self.handler,
                Handler::CancelRegistration
                    | Handler::CancelOutpatientFees
                    | Handler::CancelAdmission
                    | Handler::CancelDischarge
                    | Handler::CancelInpatientFees
                    | Handler::CancelSettlement { .. }
                    | Handler::Reverse
            )
    }
}

const fn tx(infno: &'static str, name: &'static str, access: Access, handler: Handler) -> TxSpec {
    TxSpec {
        infno,
        name,
        access,
        reversal: None,
        clearing: None,
        handler,
    }
}

const fn settlement(
    infno: &'static str,
    name: &'static str,
    access: Access,
    handler: Handler,
    clearing: Clearing,
) -> TxSpec {
    TxSpec {
        clearing: Some(clearing),
        ..tx(infno, name, access, handler)
    }
}

const fn reversible(spec: TxSpec, reversal: Reversal) -> TxSpec {
    TxSpec {
        reversal: Some(reversal),
        ..spec
    }
}

use catalog::CatalogQueryKind;
use Access::{Read, Registry, Write};
use Clearing::{Inpatient, Outpatient, Pharmacy};

/// Every transaction the service implements: the one place that says what each `infno` is.
pub static TRANSACTIONS: &[TxSpec] = &[
    tx("9001", "签到", Read, Handler::SignIn),
    tx("9002", "签退", Read, Handler::SignOut),
    tx("9101", "文件上传", Read, Handler::FileUpload),
    tx("9102", "文件下载", Read, Handler::FileDownload),
    tx("1301", "西药中成药目录下载", Read, Handler::CatalogDownload),
    tx("1302", "中药饮片目录下载", Read, Handler::CatalogDownload),
    tx(
        "1303",
        "医疗机构制剂目录下载",
        Read,
        Handler::CatalogDownload,
    ),
    tx(
        "1304",
        "民族药品目录查询",
        Read,
        Handler::CatalogQuery(CatalogQueryKind::EthnicDrugs),
    ),
    tx(
        "1305",
        "医疗服务项目目录下载",
        Read,
        Handler::CatalogDownload,
    ),
    tx("1306", "医用耗材目录下载", Read, Handler::CatalogDownload),
    tx("1307", "疾病与诊断目录下载", Read, Handler::CatalogDownload),
    tx("1308", "手术操作目录下载", Read, Handler::CatalogDownload),
    tx(
        "1309",
        "门诊慢特病种目录下载",
        Read,
        Handler::CatalogDownload,
    ),
    tx(
        "1310",
        "按病种付费病种目录下载",
        Read,
        Handler::CatalogDownload,
    ),
    tx(
        "1311",
        "日间手术治疗病种目录下载",
        Read,
        Handler::CatalogDownload,
    ),
    tx(
        "1316",
        "医疗目录与医保目录匹配信息查询",
        Read,
        Handler::CatalogQuery(CatalogQueryKind::Matches),
    ),
    tx(
        "1317",
        "医药机构目录匹配信息查询",
        Read,
        Handler::MappingQuery,
    ),
    tx("1313", "肿瘤形态学目录下载", Read, Handler::CatalogDownload),
    tx("1314", "中医疾病目录下载", Read, Handler::CatalogDownload),
    tx("1315", "中医证候目录下载", Read, Handler::CatalogDownload),
    tx(
        "1312",
        "医保目录信息查询",
        Read,
        Handler::CatalogQuery(CatalogQueryKind::Items),
    ),
    tx(
        "1318",
        "医保目录限价信息查询",
        Read,
        Handler::CatalogQuery(CatalogQueryKind::PriceCaps),
    ),
    tx(
        "1319",
        "医保目录先自付比例信息查询",
        Read,
        Handler::CatalogQuery(CatalogQueryKind::SelfpayRatios),
    ),
    tx("1901", "字典表查询", Read, Handler::Dictionary),
    tx("1101", "人员信息获取", Read, Handler::PersonInfo),
    tx("1201", "医药机构信息获取", Read, Handler::Institutions),
    tx("2001", "人员待遇享受检查", Read, Handler::TreatmentCheck),
    tx("5206", "人员累计信息查询", Read, Handler::Accumulators),
    tx("2201", "门诊挂号", Write, Handler::Register),
    tx("2202", "门诊挂号撤销", Write, Handler::CancelRegistration),
    tx("2203", "门诊就诊信息上传", Write, Handler::VisitInfo),
    tx(
        "2204",
        "门诊费用明细上传",
        Write,
        Handler::UploadOutpatientFees,
    ),
    tx(
        "2205",
        "门诊费用明细撤销",
        Write,
        Handler::CancelOutpatientFees,
    ),
    settlement(
        "2206",
        "门诊预结算",
        Read,
        Handler::SettleOutpatient { store: false },
        Outpatient,
    ),
    reversible(
        settlement(
            "2207",
            "门诊结算",
            Write,
            Handler::SettleOutpatient { store: true },
            Outpatient,
        ),
        Reversal::CancelSettlement,
    ),
    reversible(
        settlement(
            "2208",
            "门诊结算撤销",
            Write,
            Handler::CancelSettlement { of: "2207" },
            Outpatient,
        ),
        Reversal::ReinstateSettlement,
    ),
    reversible(
        tx("2401", "入院办理", Write, Handler::Admit),
        Reversal::CancelAdmission,
    ),
    tx("2402", "出院办理", Write, Handler::Discharge),
    tx("2403", "住院信息变更", Write, Handler::ChangeAdmission),
    tx("2404", "入院办理撤销", Write, Handler::CancelAdmission),
    tx("2405", "出院撤销", Write, Handler::CancelDischarge),
    tx(
        "2301",
        "住院费用明细上传",
        Write,
        Handler::UploadInpatientFees,
    ),
    tx(
        "2302",
        "住院费用明细撤销",
        Write,
        Handler::CancelInpatientFees,
    ),
    settlement(
        "2303",
        "住院预结算",
        Read,
        Handler::SettleInpatient { store: false },
        Inpatient,
    ),
    reversible(
        settlement(
            "2304",
            "住院结算",
            Write,
            Handler::SettleInpatient { store: true },
            Inpatient,
        ),
        Reversal::CancelSettlement,
    ),
    reversible(
        settlement(
            "2305",
            "住院结算撤销",
            Write,
            Handler::CancelSettlement { of: "2304" },
            Inpatient,
        ),
        Reversal::ReinstateSettlement,
    ),
    settlement(
        "2101",
        "药店预结算",
        Read,
        Handler::SettlePharmacy { store: false },
        Pharmacy,
    ),
    reversible(
        settlement(
            "2102",
            "药店结算",
            Write,
            Handler::SettlePharmacy { store: true },
            Pharmacy,
        ),
        Reversal::CancelSettlement,
    ),
    reversible(
        settlement(
            "2103",
            "药店结算撤销",
            Write,
            Handler::CancelSettlement { of: "2102" },
            Pharmacy,
        ),
        Reversal::ReinstateSettlement,
    ),
    tx("2601", "冲正交易", Write, Handler::Reverse),
    tx("5203", "结算信息查询", Read, Handler::SettlementInfo),
    tx("5204", "费用明细查询", Read, Handler::FeeDetails),
    tx("5201", "就诊信息查询", Read, Handler::VisitHistory),
    tx("5202", "诊断信息查询", Read, Handler::Diagnoses),
    tx(
        "5205",
        "人员慢特病用药记录查询",
        Read,
        Handler::ChronicDrugs,
    ),
    tx("5303", "在院信息查询", Read, Handler::InHospital),
    tx("3301", "目录对照上传", Registry, Handler::UploadMappings),
    tx("3302", "目录对照撤销", Registry, Handler::RevokeMappings),
    tx("2503", "人员慢特病备案", Registry, Handler::FileCondition),
    tx(
        "2504",
        "人员慢特病备案撤销",
        Registry,
        Handler::CancelCondition,
    ),
    tx(
        "5301",
        "人员慢特病备案查询",
        Read,
        Handler::ConditionFilings,
    ),
    tx(
        "2501",
        "转院备案",
        Registry,
        Handler::FileRemote(FilingSource::Referral),
    ),
    tx(
        "2502",
        "转院备案撤销",
        Registry,
        Handler::CancelRemote(FilingSource::Referral),
    ),
    tx(
        "2505",
        "人员异地就医备案",
        Registry,
        Handler::FileRemote(FilingSource::Institution),
    ),
    tx(
        "2506",
        "人员异地就医备案撤销",
        Registry,
        Handler::CancelRemote(FilingSource::Institution),
    ),
    tx(
        "4101",
        "医疗保障基金结算清单信息上传",
        Registry,
        Handler::UploadSettlementList,
    ),
    tx(
        "4101A",
        "医疗保障基金结算清单信息上传",
        Registry,
        Handler::UploadSettlementList,
    ),
    tx(
        "4103",
        "医疗保障基金结算清单信息查询",
        Read,
        Handler::SettlementList,
    ),
    tx(
        "3201",
        "医药机构费用结算对总账",
        Read,
        Handler::ReconcileTotals,
    ),
    tx(
        "3202",
        "医药机构费用结算对明细账",
        Read,
        Handler::ReconcileDetail,
    ),
    tx(
        "3101",
        "明细审核事前分析服务",
        Read,
        Handler::Analyse(audit::Stage::Before),
    ),
    tx(
        "3102",
        "明细审核事中分析服务",
        Read,
        Handler::Analyse(audit::Stage::During),
    ),
    tx(
        "3103",
        "事前事中服务反馈服务",
        Registry,
        Handler::AuditFeedback,
    ),
    tx("3260", "提取异地清分明细", Read, Handler::ClearingRows),
    tx(
        "3261",
        "异地清分结果确认",
        Registry,
        Handler::ConfirmClearing,
    ),
    tx(
        "3262",
        "异地清分确认回退",
        Registry,
        Handler::RollBackConfirmation,
    ),
];

/// The transaction of an `infno`; `None` for transactions this service does not implement.
pub fn spec(infno: &str) -> Option<&'static TxSpec> {
    TRANSACTIONS.iter().find(|t| t.infno == infno)
}

/// The refusal of an `infno` this service does not implement.
pub fn not_implemented(infno: &str) -> TxError {
    TxError::new("infno", format!("本服务未提供交易 {infno}"))
}

/// Runs the transaction named by the message's `infno`.
pub async fn run(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let infno = ctx.request.infno.as_str();
    let spec = spec(infno).ok_or_else(|| not_implemented(infno))?;
    match spec.handler {
        Handler::SignIn => session::sign_in(ctx).await,
        Handler::SignOut => session::sign_out(ctx).await,
        Handler::PersonInfo => session::person_info(ctx, ledger).await,
        Handler::Accumulators => session::accumulators(ctx, ledger).await,
        Handler::Register => outpatient::register(ctx, ledger).await,
        Handler::CancelRegistration => outpatient::cancel_registration(ctx, ledger).await,
        Handler::VisitInfo => outpatient::visit_info(ctx, ledger).await,
        Handler::UploadOutpatientFees => outpatient::upload_fees(ctx, ledger).await,
        Handler::CancelOutpatientFees => outpatient::cancel_fees(ctx, ledger).await,
        Handler::SettleOutpatient { store } => outpatient::settle(ctx, ledger, store).await,
        Handler::Admit => inpatient::admit(ctx, ledger).await,
        Handler::Discharge => inpatient::discharge(ctx, ledger).await,
        Handler::ChangeAdmission => inpatient::change(ctx, ledger).await,
        Handler::CancelAdmission => inpatient::cancel_admission(ctx, ledger).await,
        Handler::CancelDischarge => inpatient::cancel_discharge(ctx, ledger).await,
        Handler::UploadInpatientFees => inpatient::upload_fees(ctx, ledger).await,
        Handler::CancelInpatientFees => inpatient::cancel_fees(ctx, ledger).await,
        Handler::SettleInpatient { store } => inpatient::settle(ctx, ledger, store).await,
        Handler::SettlePharmacy { store } => pharmacy::settle(ctx, ledger, store).await,
        Handler::CancelSettlement { of } => outpatient::cancel_settlement(ctx, ledger, &[of]).await,
        Handler::Reverse => reverse::reverse(ctx, ledger).await,
        Handler::SettlementInfo => query::settlement_info(ctx, ledger).await,
        Handler::FeeDetails => query::fee_details(ctx, ledger).await,
        Handler::ReconcileTotals => query::reconcile_totals(ctx, ledger).await,
        Handler::ReconcileDetail => reconcile::reconcile_detail(ctx, ledger).await,
        Handler::TreatmentCheck => lookup::treatment_check(ctx, ledger).await,
        Handler::VisitHistory => lookup::visits(ctx, ledger).await,
        Handler::Diagnoses => lookup::diagnoses(ctx, ledger).await,
        Handler::ChronicDrugs => lookup::chronic_drugs(ctx, ledger).await,
        Handler::InHospital => lookup::in_hospital_stays(ctx, ledger).await,
        Handler::Institutions => lookup::institutions(ctx, ledger).await,
        Handler::FileUpload => files::upload(ctx, ledger).await,
        Handler::FileDownload => files::download(ctx, ledger).await,
        Handler::CatalogDownload => {
            let download = catalog::DOWNLOADS
                .iter()
                .find(|d| d.infno == infno)
                .ok_or_else(|| TxError::internal(format!("交易 {infno} 没有目录下载格式")))?;
            catalog::download(ctx, ledger, download).await
        }
        Handler::CatalogQuery(kind) => catalog::query(ctx, ledger, kind).await,
        Handler::Dictionary => catalog::dictionary(ctx).await,
        Handler::UploadMappings => mapping::upload(ctx, ledger).await,
        Handler::MappingQuery => mapping::query(ctx, ledger).await,
        Handler::RevokeMappings => mapping::revoke(ctx, ledger).await,
        Handler::FileCondition => filing::file(ctx, ledger).await,
        Handler::CancelCondition => filing::cancel(ctx, ledger).await,
        Handler::ConditionFilings => filing::query(ctx, ledger).await,
        Handler::UploadSettlementList => setl_list::upload(ctx, ledger).await,
        Handler::SettlementList => setl_list::query(ctx, ledger).await,
        Handler::FileRemote(source) => remote_filing::file(ctx, ledger, source).await,
        Handler::CancelRemote(source) => remote_filing::cancel(ctx, ledger, source).await,
        Handler::Analyse(stage) => audit::analyse(ctx, ledger, stage).await,
        Handler::AuditFeedback => audit::feedback(ctx, ledger).await,
        Handler::ClearingRows => clearing_confirm::list(ctx, ledger).await,
        Handler::ConfirmClearing => clearing_confirm::confirm(ctx, ledger).await,
        Handler::RollBackConfirmation => clearing_confirm::roll_back(ctx, ledger).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_infno_is_listed_once_and_reversals_are_writes() {
        for (index, listed) in TRANSACTIONS.iter().enumerate() {
            assert!(
                TRANSACTIONS[..index]
                    .iter()
                    .all(|t| t.infno != listed.infno),
                "{} listed twice",
                listed.infno
            );
            if listed.reversal.is_some() {
                assert_eq!(listed.access, Access::Write, "{}", listed.infno);
            }
            if let Handler::CancelSettlement { of } = listed.handler {
                assert_eq!(
                    spec(of).and_then(|t| t.reversal),
                    Some(Reversal::CancelSettlement)
                );
            }
        }
        assert!(spec("9999").is_none());
        for listed in TRANSACTIONS {
            let layout = catalog::DOWNLOADS.iter().find(|d| d.infno == listed.infno);
            assert_eq!(
                layout.is_some(),
                listed.handler == Handler::CatalogDownload,
                "{}",
                listed.infno
            );
        }
    }
}
