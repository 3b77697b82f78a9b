//! The schema of each exported file as data: a column is a name, a type, a description (with its
//! unit) and how a row gives its value. Record batches and the Arrow schema are made from it.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use yibao_domain::{Fen, SetlAmounts};
use yibao_ledger::export::{SeqEntry, SettledLine, SettlementFund};
use yibao_ledger::Visit;

/// A column's type (Parquet: `string` is UTF-8 `BYTE_ARRAY`, `int64` is `INT64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    OptText,
    Int,
    OptInt,
    Bool,
}

impl ColumnType {
    /// The name `docs/export-parquet.md` gives the type.
    pub fn doc_name(self) -> &'static str {
        match self {
            ColumnType::Text => "string",
            ColumnType::OptText => "string, nullable",
            ColumnType::Int => "int64",
            ColumnType::OptInt => "int64, nullable",
            ColumnType::Bool => "boolean",
        }
    }
}

/// How a row gives a column's value.
type Get<R, T> = Box<dyn Fn(&R) -> T + Send + Sync>;

enum Getter<R> {
    Text(Get<R, String>),
    OptText(Get<R, Option<String>>),
    Int(Get<R, i64>),
    OptInt(Get<R, Option<i64>>),
    Bool(Get<R, bool>),
}

/// One column of a file.
pub struct Column<R> {
    pub name: String,
    pub description: &'static str,
    getter: Getter<R>,
}

impl<R> Column<R> {
    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self.getter {
            Getter::Text(_) => ColumnType::Text,
            Getter::OptText(_) => ColumnType::OptText,
            Getter::Int(_) => ColumnType::Int,
            Getter::OptInt(_) => ColumnType::OptInt,
            Getter::Bool(_) => ColumnType::Bool,
        }
    }

    fn field(&self) -> Field {
        let (data_type, nullable) = match self.column_type() {
            ColumnType::Text => (DataType::Utf8, false),
            ColumnType::OptText => (DataType::Utf8, true),
            ColumnType::Int => (DataType::Int64, false),
            ColumnType::OptInt => (DataType::Int64, true),
            ColumnType::Bool => (DataType::Boolean, false),
        };
        Field::new(&self.name, data_type, nullable)
    }

    fn array(&self, rows: &[R]) -> ArrayRef {
        match &self.getter {
            Getter::Text(get) => Arc::new(StringArray::from_iter_values(rows.iter().map(get))),
            Getter::OptText(get) => Arc::new(rows.iter().map(get).collect::<StringArray>()),
            Getter::Int(get) => Arc::new(Int64Array::from_iter_values(rows.iter().map(get))),
            Getter::OptInt(get) => Arc::new(rows.iter().map(get).collect::<Int64Array>()),
            Getter::Bool(get) => {
                Arc::new(rows.iter().map(|r| Some(get(r))).collect::<BooleanArray>())
            }
        }
    }
}

/// A file and its columns.
pub struct Table<R> {
    pub file: &'static str,
    pub columns: Vec<Column<R>>,
}

impl<R> Table<R> {
    /// The Arrow schema.
    pub fn schema(&self) -> Schema {
        Schema::new(self.columns.iter().map(Column::field).collect::<Vec<_>>())
    }

    /// One record batch of `rows`.
    pub fn batch(&self, rows: &[R]) -> Result<RecordBatch, ArrowError> {
        let arrays = self.columns.iter().map(|c| c.array(rows)).collect();
        RecordBatch::try_new(Arc::new(self.schema()), arrays)
    }
}

fn text<R>(
    name: &str,
    description: &'static str,
    get: impl Fn(&R) -> String + Send + Sync + 'static,
) -> Column<R> {
    Column {
        name: name.to_string(),
        description,
        getter: Getter::Text(Box::new(get)),
    }
}

fn opt_text<R>(
    name: &str,
    description: &'static str,
    get: impl Fn(&R) -> Option<String> + Send + Sync + 'static,
) -> Column<R> {
    Column {
        name: name.to_string(),
        description,
        getter: Getter::OptText(Box::new(get)),
    }
}

fn int<R>(
    name: &str,
    description: &'static str,
    get: impl Fn(&R) -> i64 + Send + Sync + 'static,
) -> Column<R> {
    Column {
        name: name.to_string(),
        description,
        getter: Getter::Int(Box::new(get)),
    }
}

fn opt_int<R>(
    name: &str,
    description: &'static str,
    get: impl Fn(&R) -> Option<i64> + Send + Sync + 'static,
) -> Column<R> {
    Column {
        name: name.to_string(),
        description,
        getter: Getter::OptInt(Box::new(get)),
    }
}

fn fen(amount: Fen) -> i64 {
    amount.fen()
}

/// `settlements.parquet`: one row per ledger entry made in the year.
pub fn settlements() -> Table<SeqEntry> {
    let mut columns = vec![
        int(
            "seq",
            "the entry's place in the ledger's order",
            |r: &SeqEntry| r.seq,
        ),
        text("setl_id", "结算ID", |r: &SeqEntry| {
            r.entry.header.setl_id.clone()
        }),
        text(
            "kind",
            "settle (a settlement, or a reinstatement when orig_setl_id names a cancellation) or cancel (a negated mirror)",
            |r: &SeqEntry| r.entry.header.kind.as_str().to_string(),
        ),
        text(
            "orig_setl_id",
            "the entry a mirror negates or reinstates; empty for a settlement",
            |r: &SeqEntry| r.entry.header.orig_setl_id.clone().unwrap_or_default(),
        ),
        text("infno", "the transaction that made it", |r: &SeqEntry| {
            r.entry.header.infno.to_string()
        }),
        text(
            "fixmedins_code",
            "定点医药机构编号",
            |r: &SeqEntry| r.entry.header.fixmedins_code.clone(),
        ),
        text("mdtrt_id", "就诊ID (visits.parquet)", |r: &SeqEntry| {
            r.entry.header.mdtrt_id.clone()
        }),
        text("psn_no", "人员编号", |r: &SeqEntry| {
            r.entry.header.psn_no.clone()
        }),
        text("insutype", "险种类型", |r: &SeqEntry| {
            r.entry.header.insutype.to_string()
        }),
        int(
            "year",
            "the accumulator year it counts in",
            |r: &SeqEntry| r.entry.header.year,
        ),
        text("med_type", "医疗类别", |r: &SeqEntry| {
            r.entry.header.med_type.to_string()
        }),
        text(
            "mid_setl_flag",
            "中途结算标志 (1: interim)",
            |r: &SeqEntry| r.entry.header.mid_setl_flag_text().to_string(),
        ),
        text(
            "setl_time",
            "结算时间, yyyy-MM-dd HH:mm:ss, local time",
            |r: &SeqEntry| r.entry.header.setl_time_text(),
        ),
        text("clr_type", "清算类别", |r: &SeqEntry| {
            r.entry.header.clr_type.to_string()
        }),
        text("clr_way", "清算方式", |r: &SeqEntry| {
            r.entry.header.clr_way.to_string()
        }),
        text("clr_optins", "清算经办机构", |r: &SeqEntry| {
            r.entry.header.clr_optins.to_string()
        }),
        int(
            "balc_fen",
            "个人账户余额 after the entry, fen",
            |r: &SeqEntry| fen(r.entry.header.balc),
        ),
    ];
    for (index, name) in SetlAmounts::COLUMNS.iter().enumerate() {
        columns.push(int(
            &format!("{name}_fen"),
            "the setlinfo amount of that name, fen",
            move |r: &SeqEntry| fen(r.entry.amounts.columns()[index].1),
        ));
    }
    Table {
        file: "settlements.parquet",
        columns,
    }
}

/// `fee_lines.parquet`: one row per line a settlement of the year settled, with its split.
pub fn fee_lines() -> Table<SettledLine> {
    let columns = vec![
        int(
            "seq",
            "the settlement's place in the ledger's order",
            |r: &SettledLine| r.seq,
        ),
        text(
            "setl_id",
            "the settlement (settlements.parquet)",
            |r: &SettledLine| r.setl_id.clone(),
        ),
        text("mdtrt_id", "就诊ID", |r: &SettledLine| r.mdtrt_id.clone()),
        text("feedetl_sn", "费用明细流水号", |r: &SettledLine| {
            r.split.feedetl_sn.clone()
        }),
        text(
            "chrg_bchno",
            "收费批次号; empty when the upload is not held",
            |r: &SettledLine| r.facts.chrg_bchno.clone(),
        ),
        opt_text(
            "med_list_codg",
            "医疗目录编码 (national)",
            |r: &SettledLine| r.facts.med_list_codg.clone(),
        ),
        opt_int("cnt_e4", "数量 × 10,000", |r: &SettledLine| {
            r.facts.cnt_e4
        }),
        opt_int(
            "pric_micro_yuan",
            "单价 in millionths of a yuan",
            |r: &SettledLine| r.facts.pric_micro_yuan,
        ),
        opt_text(
            "chrgitm_lv",
            "收费项目等级 (1 甲, 2 乙, 3 丙)",
            |r: &SettledLine| r.facts.chrgitm_lv.clone(),
        ),
        opt_text(
            "med_chrgitm_type",
            "医疗收费项目类别",
            |r: &SettledLine| r.facts.med_chrgitm_type.clone(),
        ),
        int(
            "det_item_fee_sumamt_fen",
            "明细项目费用总额, fen",
            |r: &SettledLine| fen(r.split.amounts.det_item_fee_sumamt),
        ),
        int(
            "fulamt_ownpay_amt_fen",
            "全自费金额, fen",
            |r: &SettledLine| fen(r.split.amounts.fulamt_ownpay_amt),
        ),
        int(
            "overlmt_amt_fen",
            "超限价金额, fen",
            |r: &SettledLine| fen(r.split.amounts.overlmt_amt),
        ),
        int(
            "preselfpay_amt_fen",
            "先行自付金额, fen",
            |r: &SettledLine| fen(r.split.amounts.preselfpay_amt),
        ),
        int(
            "inscp_scp_amt_fen",
            "符合政策范围金额, fen",
            |r: &SettledLine| fen(r.split.amounts.inscp_scp_amt),
        ),
    ];
    Table {
        file: "fee_lines.parquet",
        columns,
    }
}

/// `funds.parquet`: one row per fund row (`setldetail`) of a settlement of the year.
pub fn funds() -> Table<SettlementFund> {
    let columns = vec![
        int(
            "seq",
            "the settlement's place in the ledger's order",
            |r: &SettlementFund| r.seq,
        ),
        text(
            "setl_id",
            "the settlement (settlements.parquet)",
            |r: &SettlementFund| r.setl_id.clone(),
        ),
        int(
            "row_no",
            "the row's place in setldetail",
            |r: &SettlementFund| r.row_no,
        ),
        text(
            "fund_pay_type",
            "基金支付类型",
            |r: &SettlementFund| r.fund.row.fund_pay_type.as_str().to_string(),
        ),
        text(
            "fund_pay_type_name",
            "its name in the policy",
            |r: &SettlementFund| r.fund.fund_pay_type_name.clone(),
        ),
        text(
            "payer_class",
            "the payer class code of the fund",
            |r: &SettlementFund| r.fund.row.payer.code().to_string(),
        ),
        int(
            "inscp_scp_amt_fen",
            "符合政策范围金额, fen",
            |r: &SettlementFund| fen(r.fund.row.inscp_scp_amt),
        ),
        opt_int(
            "crt_payb_lmt_amt_fen",
            "本次可支付限额金额, fen",
            |r: &SettlementFund| r.fund.row.crt_payb_lmt_amt.map(fen),
        ),
        int(
            "fund_payamt_fen",
            "基金支付金额, fen",
            |r: &SettlementFund| fen(r.fund.row.fund_payamt),
        ),
        text(
            "setl_proc_info",
            "结算过程信息 (the explanation as rendered)",
            |r: &SettlementFund| r.fund.setl_proc_info.clone(),
        ),
    ];
    Table {
        file: "funds.parquet",
        columns,
    }
}

/// `visits.parquet`: one row per visit with a settlement made in the year.
pub fn visits() -> Table<Visit> {
    let time = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let columns = vec![
        text("mdtrt_id", "就诊ID", |r: &Visit| r.mdtrt_id.clone()),
        text("fixmedins_code", "定点医药机构编号", |r: &Visit| {
            r.fixmedins_code.clone()
        }),
        text("psn_no", "人员编号", |r: &Visit| r.psn_no.clone()),
        text("insutype", "险种类型", |r: &Visit| {
            r.insutype.as_str().to_string()
        }),
        text("kind", "outpatient, inpatient or pharmacy", |r: &Visit| {
            r.kind.as_str().to_string()
        }),
        text("med_type", "医疗类别", |r: &Visit| {
            r.med_type.as_str().to_string()
        }),
        text(
            "begntime",
            "开始时间, yyyy-MM-dd HH:mm:ss, local time",
            move |r: &Visit| time(r.begntime),
        ),
        opt_text(
            "endtime",
            "结束时间 (null while open)",
            move |r: &Visit| r.endtime.map(time),
        ),
        text("status", "the visit's status when exported", |r: &Visit| {
            r.status.as_str().to_string()
        }),
        text("ipt_otp_no", "住院/门诊号 of the HIS", |r: &Visit| {
            r.ipt_otp_no.clone()
        }),
        text("mdtrt_cert_type", "就诊凭证类型", |r: &Visit| {
            r.mdtrt_cert_type.as_str().to_string()
        }),
        text(
            "dise_codg",
            "主诊断编码 (empty until given)",
            |r: &Visit| r.dise_codg.clone(),
        ),
        Column {
            name: "referred".to_string(),
            description: "转诊 (refl_flag 1)",
            getter: Getter::Bool(Box::new(|r: &Visit| r.referred)),
        },
    ];
    Table {
        file: "visits.parquet",
        columns,
    }
}
