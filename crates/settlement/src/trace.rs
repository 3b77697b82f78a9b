//! The explanation of a settlement: structured steps recorded on the hot path (plain values, no
//! text), rendered to Chinese/English text only when asked.

use std::fmt::Write;

use yibao_domain::{Code, Fen, Ratio};
use yibao_policy::{DeductibleKind, Place, Policy, Region};

use crate::input::NoBenefitReason;

/// One step of the calculation, naming the policy clause and the numbers it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceStep {
    /// Level, region, regime chosen.
    Context {
        level: u8,
        place: Place,
        bucket: Option<Code>,
        age_years: u32,
    },
    /// Line split totals (明细分割).
    Split {
        lines: u32,
        medfee: Fen,
        fulamt: Fen,
        overlmt: Fen,
        preselfpay: Fen,
        inscp: Fen,
    },
    /// Remote M1: extra 先行自付 moved out of the in-scope amount.
    RemoteExtraSelfPay { ratio: Ratio, moved: Fen },
    /// Flat amount per item line (互联网复诊).
    FlatItem {
        line: u32,
        fund: Code,
        flat: Fen,
        inscp: Fen,
        paid: Fen,
    },
    /// The person has no benefits on the visit date: no fund pays.
    NotCovered { reason: NoBenefitReason },
    /// No benefit regime for this med_type / disease / place.
    NoRegime { med_type: Code },
    /// A regime applied but no rate row matched.
    NoRate { bucket: Code },
    /// Deductible (起付线).
    Deductible {
        bucket: Code,
        kind: DeductibleKind,
        standard: Fen,
        already_paid: Fen,
        charged: Fen,
    },
    /// Basic pooled fund.
    Basic {
        fund: Code,
        base: Fen,
        ratio: Option<Ratio>,
        remote_from: Option<Ratio>,
        uncapped: Fen,
        available: Option<Fen>,
        paid: Fen,
    },
    /// Workers' large-amount layer above the basic cap.
    LargeAmount {
        fund: Code,
        basic_available: Fen,
        cost_used_by_basic: Fen,
        above: Fen,
        ratio: Ratio,
        uncapped: Fen,
        available: Option<Fen>,
        paid: Fen,
    },
    /// Residents' catastrophic layer.
    Catastrophic {
        fund: Code,
        tier: u8,
        base_before: Fen,
        added: Fen,
        deductible: Fen,
        uncapped: Fen,
        available: Option<Fen>,
        paid: Fen,
    },
    /// Civil-servant subsidy.
    CivilServant {
        fund: Code,
        base: Fen,
        ratio: Ratio,
        paid: Fen,
    },
    /// Medical assistance.
    Assistance {
        fund: Code,
        tier: u8,
        base: Fen,
        deductible: Fen,
        uncapped: Fen,
        available: Option<Fen>,
        paid: Fen,
    },
    /// Out-of-pocket backstop.
    Backstop {
        fund: Code,
        oop_cap: Fen,
        burden_before: Fen,
        left: Fen,
        paid: Fen,
    },
    /// Personal account.
    Account {
        fund: Code,
        payable: Fen,
        balance: Fen,
        paid: Fen,
    },
    /// What the person pays in cash.
    Cash { amount: Fen },
}

fn yuan(f: Fen) -> String {
    f.to_yuan_string()
}

fn cap_text(available: Option<Fen>) -> String {
    available.map_or_else(|| "无封顶".to_string(), |a| format!("剩余限额 {}", yuan(a)))
}

/// Renders one step as a line of text (`policy` supplies names of levels, tiers and funds).
pub fn render_step(step: &TraceStep, policy: &Policy, insutype: Code) -> String {
    let fund_name = |code: Code| {
        policy
            .fund(code)
            .map_or_else(|| code.to_string(), |f| format!("{} {code}", f.name))
    };
    let scheme = policy.scheme(insutype);
    let mut out = String::new();
    let _ = match *step {
        TraceStep::Context { level, place, bucket, age_years } => {
            let class_text = match place.region {
                Region::In => "统筹区内",
                Region::OutReferred => "统筹区外(已转诊备案)",
                Region::OutUnreferred => "统筹区外(未转诊)",
            };
            let region_text = match place.filing {
                None => class_text.to_string(),
                Some(status) => format!("统筹区外 {}, 按{class_text}待遇", status.label()),
            };
            let bucket_name = bucket
                .and_then(|b| scheme.and_then(|s| s.buckets.iter().find(|x| x.id == b)))
                .map_or("无", |b| b.name.as_str());
            write!(out, "就医: {}, {region_text}, 年龄 {age_years} 岁, 待遇类别 {bucket_name}", policy.level_name(level))
        }
        TraceStep::Split { lines, medfee, fulamt, overlmt, preselfpay, inscp } => write!(
            out,
            "明细分割 {lines} 条: 医疗费总额 {} = 全自费 {} + 超限价 {} + 先行自付 {} + 政策范围内 {}",
            yuan(medfee),
            yuan(fulamt),
            yuan(overlmt),
            yuan(preselfpay),
            yuan(inscp)
        ),
        TraceStep::RemoteExtraSelfPay { ratio, moved } => write!(out, "异地就医增加先行自付 {ratio}: 转入先行自付 {}", yuan(moved)),
        TraceStep::FlatItem { line, fund, flat, inscp, paid } => write!(
            out,
            "第 {} 行定额支付: min(定额 {}, 政策范围内 {}) = {} ({})",
            line + 1,
            yuan(flat),
            yuan(inscp),
            yuan(paid),
            fund_name(fund)
        ),
        TraceStep::NotCovered { reason } => write!(out, "不享受医保待遇: {reason}; 基金不予支付"),
        TraceStep::NoRegime { med_type } => write!(out, "医疗类别 {med_type} 在此就医条件下无统筹待遇"),
        TraceStep::NoRate { bucket } => write!(out, "待遇类别 {bucket} 无适用的支付比例"),
        TraceStep::Deductible { kind, standard, already_paid, charged, .. } => {
            let kind_text = match kind {
                DeductibleKind::PerAdmission => "每次住院",
                DeductibleKind::PerYear => "年度",
                DeductibleKind::PerVisit => "每次",
                DeductibleKind::None => "无",
            };
            write!(out, "起付线({kind_text}) {}, 已付 {}, 本次起付 {}", yuan(standard), yuan(already_paid), yuan(charged))
        }
        TraceStep::Basic { fund, base, ratio, remote_from, uncapped, available, paid } => {
            let ratio_text = ratio.map_or_else(|| "分段比例".to_string(), |r| r.to_string());
            let remote = remote_from.map_or_else(String::new, |r| format!(" (异地调整自 {r})"));
            write!(
                out,
                "{}: ({} 起付后) × {ratio_text}{remote} = {}, {}, 支付 {}",
                fund_name(fund),
                yuan(base),
                yuan(uncapped),
                cap_text(available),
                yuan(paid)
            )
        }
        TraceStep::LargeAmount { fund, basic_available, cost_used_by_basic, above, ratio, uncapped, available, paid } => write!(
            out,
            "{}: 统筹剩余限额 {} 用去费用 {}, 超出部分 {} × {ratio} = {}, {}, 支付 {}",
            fund_name(fund),
            yuan(basic_available),
            yuan(cost_used_by_basic),
            yuan(above),
            yuan(uncapped),
            cap_text(available),
            yuan(paid)
        ),
        TraceStep::Catastrophic { fund, tier, base_before, added, deductible, uncapped, available, paid } => {
            let tier_name = scheme.and_then(|s| s.catastrophic.as_ref()).and_then(|c| c.tiers.get(usize::from(tier))).map_or("", |t| t.name.as_str());
            write!(
                out,
                "{} [{tier_name}]: 年度累计 {} + 本次 {}, 起付线 {}, 本次应付 {}, {}, 支付 {}",
                fund_name(fund),
                yuan(base_before),
                yuan(added),
                yuan(deductible),
                yuan(uncapped),
                cap_text(available),
                yuan(paid)
            )
        }
        TraceStep::CivilServant { fund, base, ratio, paid } => {
            write!(out, "{}: 政策范围内个人负担 {} × {ratio} = {}", fund_name(fund), yuan(base), yuan(paid))
        }
        TraceStep::Assistance { fund, tier, base, deductible, uncapped, available, paid } => {
            let tier_name = scheme.and_then(|s| s.assistance.as_ref()).and_then(|c| c.tiers.get(usize::from(tier))).map_or("", |t| t.name.as_str());
            write!(
                out,
                "{} [{tier_name}]: 救助基数 {}, 起付 {}, 应付 {}, {}, 支付 {}",
                fund_name(fund),
                yuan(base),
                yuan(deductible),
                yuan(uncapped),
                cap_text(available),
                yuan(paid)
            )
        }
        TraceStep::Backstop { fund, oop_cap, burden_before, left, paid } => write!(
            out,
            "{}: 年度个人负担 {} + 本次 {}, 封顶 {}, 兜底 {}",
            fund_name(fund),
            yuan(burden_before),
            yuan(left),
            yuan(oop_cap),
            yuan(paid)
        ),
        TraceStep::Account { payable, balance, paid, .. } => {
            write!(out, "个人账户: 可支付 {}, 余额 {}, 支付 {}", yuan(payable), yuan(balance), yuan(paid))
        }
        TraceStep::Cash { amount } => write!(out, "个人现金支付 {}", yuan(amount)),
    };
    out
}
